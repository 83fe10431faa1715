//! Who may talk to the server: the bearer token (created once, kept 0600,
//! compared in constant time), the Origin allowlist and the Host check.

use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;

/// The token file's name in interlock's state directory.
pub const TOKEN_FILE: &str = "serve-token";

/// The WebSocket subprotocol a client must also offer; the server selects it.
pub const WS_PROTOCOL: &str = "interlock.v1";
/// Prefix of the subprotocol value carrying the token (`interlock.bearer.TOKEN`).
pub const WS_BEARER_PREFIX: &str = "interlock.bearer.";

/// Errors reading or creating the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read random bytes from /dev/urandom: {0}")]
    Random(std::io::Error),
    #[error("cannot write the server token {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the server token {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the server token {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}` or start with --rotate-token"
    )]
    Permissions { path: PathBuf, mode: u32 },
}

/// The token in use and whether it was just created (then it is shown once).
pub struct Token {
    value: String,
    digest: [u8; 32],
    /// Created (or rotated) by this start.
    pub created: bool,
    pub path: PathBuf,
}

impl Token {
    /// Reads the token from `state_dir`, creating it (0600) when it is
    /// missing or `rotate` is set.
    pub fn load_or_create(state_dir: &Path, rotate: bool) -> Result<Token, TokenError> {
        let path = state_dir.join(TOKEN_FILE);
        if !rotate && path.exists() {
            let meta = std::fs::metadata(&path).map_err(|source| TokenError::Read {
                path: path.clone(),
                source,
            })?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(TokenError::Permissions { path, mode });
            }
            let text = std::fs::read_to_string(&path).map_err(|source| TokenError::Read {
                path: path.clone(),
                source,
            })?;
            let value = text.trim().to_string();
            if value.len() >= 32 {
                return Ok(Token::new(value, false, path));
            }
            // Empty or truncated: make a new one rather than accept a weak one.
        }
        let value = random_hex(32)?;
        let write_err = |source| TokenError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(state_dir).map_err(write_err)?;
        // Written beside and renamed, so a crash never leaves half a token.
        let tmp = state_dir.join(format!("{TOKEN_FILE}.{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(write_err)?;
        f.write_all(format!("{value}\n").as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(write_err)?;
        std::fs::rename(&tmp, &path).map_err(write_err)?;
        Ok(Token::new(value, true, path))
    }

    fn new(value: String, created: bool, path: PathBuf) -> Token {
        let digest = Sha256::digest(value.as_bytes()).into();
        Token {
            value,
            digest,
            created,
            path,
        }
    }

    /// The secret itself (printed once, on creation).
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Constant-time check of a presented token. Both sides are hashed
    /// first, so neither the content nor the length leaks through timing.
    pub fn matches(&self, presented: &str) -> bool {
        let d: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        bool::from(self.digest.ct_eq(&d))
    }

    /// A stable, non-secret name for this token (rate limits, audit).
    pub fn id(&self) -> String {
        hex(&self.digest[..6])
    }
}

/// `n` random bytes from the kernel, hex-encoded.
pub fn random_hex(n: usize) -> Result<String, TokenError> {
    let mut b = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(TokenError::Random)?;
    Ok(hex(&b))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The bearer token of an `Authorization` header value, if it is one.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// The token offered in a `Sec-WebSocket-Protocol` header, if any.
pub fn ws_protocol_token(header: &str) -> Option<&str> {
    header
        .split(',')
        .map(str::trim)
        .find_map(|p| p.strip_prefix(WS_BEARER_PREFIX))
}

/// Which browser origins and Host headers are accepted.
#[derive(Debug, Clone)]
pub struct Origins {
    origins: Vec<String>,
    hosts: Vec<String>,
    /// Listening on every address (`--insecure-listen 0.0.0.0:PORT`): the
    /// names clients use are unknown, so any Host passes and the server's
    /// own origin is `http://` + that Host.
    any_host: bool,
}

impl Origins {
    /// The server's own origin(s) for `listen`, plus `extra` origins.
    ///
    /// On loopback both `127.0.0.1:PORT`/`[::1]:PORT` and `localhost:PORT`
    /// name the server. Checking Host as well defeats DNS rebinding: a page
    /// at `evil.example:PORT` resolving to 127.0.0.1 sends that Host.
    pub fn for_listen(listen: SocketAddr, extra: &[String]) -> Origins {
        let port = listen.port();
        let mut hosts = vec![match listen {
            SocketAddr::V4(a) => format!("{}:{port}", a.ip()),
            SocketAddr::V6(a) => format!("[{}]:{port}", a.ip()),
        }];
        if listen.ip().is_loopback() {
            hosts.push(format!("localhost:{port}"));
            hosts.push(format!("127.0.0.1:{port}"));
            hosts.push(format!("[::1]:{port}"));
        }
        if port == 80 {
            // Browsers leave the default port out of Host and Origin.
            let bare: Vec<String> = hosts
                .iter()
                .filter_map(|h| h.strip_suffix(":80").map(str::to_string))
                .collect();
            hosts.extend(bare);
        }
        hosts.dedup();
        let mut origins: Vec<String> = hosts.iter().map(|h| format!("http://{h}")).collect();
        origins.extend(extra.iter().map(|o| o.trim_end_matches('/').to_string()));
        Origins {
            origins,
            hosts,
            any_host: listen.ip().is_unspecified(),
        }
    }

    /// An `Origin` header value is allowed for a request with this `Host`
    /// (exact match, case-insensitive).
    pub fn origin_allowed(&self, origin: &str, host: &str) -> bool {
        self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
            || (self.any_host && origin.eq_ignore_ascii_case(&format!("http://{host}")))
    }

    /// A `Host` header value names this server.
    pub fn host_allowed(&self, host: &str) -> bool {
        self.any_host || self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// The allowed origins (for the startup message).
    pub fn origins(&self) -> &[String] {
        &self.origins
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_created_0600_reused_and_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let a = Token::load_or_create(dir.path(), false).unwrap();
        assert!(a.created);
        assert_eq!(a.expose().len(), 64);
        let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = Token::load_or_create(dir.path(), false).unwrap();
        assert!(!b.created);
        assert_eq!(a.expose(), b.expose());
        let c = Token::load_or_create(dir.path(), true).unwrap();
        assert!(c.created);
        assert_ne!(a.expose(), c.expose());
        assert!(c.matches(c.expose()));
        assert!(!c.matches(a.expose()));
        assert!(!c.matches(""));
    }

    #[test]
    fn a_token_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Token::load_or_create(dir.path(), false).unwrap();
        let p = dir.path().join(TOKEN_FILE);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Token::load_or_create(dir.path(), false),
            Err(TokenError::Permissions { .. })
        ));
    }

    #[test]
    fn headers_are_parsed_strictly() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(
            ws_protocol_token("interlock.v1, interlock.bearer.xyz"),
            Some("xyz")
        );
        assert_eq!(ws_protocol_token("interlock.v1"), None);
    }

    #[test]
    fn only_the_servers_own_origin_and_host_pass() {
        let o = Origins::for_listen("127.0.0.1:8765".parse().unwrap(), &[]);
        let h = "127.0.0.1:8765";
        assert!(o.origin_allowed("http://127.0.0.1:8765", h));
        assert!(o.origin_allowed("http://localhost:8765", h));
        assert!(!o.origin_allowed("http://localhost:8766", h));
        assert!(!o.origin_allowed("https://evil.example", h));
        assert!(!o.origin_allowed("null", h));
        assert!(o.host_allowed("localhost:8765"));
        assert!(!o.host_allowed("evil.example:8765"));
        // On every address, only the page's own origin passes.
        let any = Origins::for_listen("0.0.0.0:8765".parse().unwrap(), &[]);
        assert!(any.host_allowed("10.0.0.5:8765"));
        assert!(any.origin_allowed("http://10.0.0.5:8765", "10.0.0.5:8765"));
        assert!(!any.origin_allowed("http://evil.example", "10.0.0.5:8765"));
        let p80 = Origins::for_listen("127.0.0.1:80".parse().unwrap(), &[]);
        assert!(
            p80.host_allowed("localhost") && p80.origin_allowed("http://localhost", "localhost")
        );
    }
}
