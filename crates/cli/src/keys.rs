//! API keys at rest: `interlock auth set|remove|status`.
//!
//! Keys live one per provider in `STATE/keys/PROVIDER.key`, a 0600 file in a
//! 0700 directory that the sandbox hides. (No OS keyring is used: on the
//! headless machines interlock targets there is usually none, and a
//! dependency on D-Bus would be heavy.) A key file that other users can read
//! is refused, with the command that fixes it. Keys are held in `secrecy`
//! types and never printed.

use crate::app::{Failure, exit};
use secrecy::{ExposeSecret, SecretString};
use std::io::{BufRead, IsTerminal, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Providers a key can be stored for.
pub const PROVIDERS: [&str; 2] = ["openai", "anthropic"];

fn key_path(state_dir: &Path, provider: &str) -> PathBuf {
    state_dir.join("keys").join(format!("{provider}.key"))
}

fn check_provider(provider: &str) -> Result<(), Failure> {
    if PROVIDERS.contains(&provider) {
        Ok(())
    } else {
        Err(Failure::config(format!(
            "unknown provider {provider:?} (openai or anthropic)"
        )))
    }
}

/// Refuses files other users can read (or that another user owns).
pub fn check_private(path: &Path) -> Result<(), Failure> {
    let meta =
        std::fs::metadata(path).map_err(|e| Failure::config(format!("{}: {e}", path.display())))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(Failure::config(format!(
            "{} can be read by other users (mode {:o}); run `chmod 600 {}`",
            path.display(),
            meta.permissions().mode() & 0o777,
            path.display()
        )));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(Failure::config(format!(
            "{} belongs to another user (uid {}); interlock only reads keys you own",
            path.display(),
            meta.uid()
        )));
    }
    Ok(())
}

/// The stored key for a provider, if any.
pub fn load(state_dir: &Path, provider: &str) -> Result<Option<SecretString>, Failure> {
    let path = key_path(state_dir, provider);
    if !path.exists() {
        return Ok(None);
    }
    check_private(&path)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::config(format!("{}: {e}", path.display())))?;
    let key = text.trim();
    if key.is_empty() {
        return Ok(None);
    }
    Ok(Some(SecretString::from(key.to_string())))
}

/// Reads a key without echo from the terminal, or one line from stdin.
fn read_key() -> Result<String, Failure> {
    let stdin = std::io::stdin();
    let mut line = String::new();
    if stdin.is_terminal() {
        eprint!("API key (not shown): ");
        let _ = std::io::stderr().flush();
        crossterm::terminal::enable_raw_mode()
            .map_err(|e| Failure::config(format!("cannot read from the terminal: {e}")))?;
        let result = (|| -> Result<(), Failure> {
            use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers, read};
            loop {
                match read() {
                    Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => match k.code {
                        KeyCode::Enter => return Ok(()),
                        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                            return Err(Failure::config("cancelled"));
                        }
                        KeyCode::Char(c) => line.push(c),
                        KeyCode::Backspace => {
                            line.pop();
                        }
                        _ => {}
                    },
                    Ok(Event::Paste(p)) => line.push_str(&p),
                    Ok(_) => {}
                    Err(e) => return Err(Failure::config(format!("cannot read the key: {e}"))),
                }
            }
        })();
        let _ = crossterm::terminal::disable_raw_mode();
        eprintln!();
        result?;
    } else {
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::config(format!("cannot read the key from stdin: {e}")))?;
    }
    let key = line.trim().to_string();
    if key.is_empty() {
        return Err(Failure::config("no key given"));
    }
    Ok(key)
}

/// `interlock auth set PROVIDER`.
pub fn set(state_dir: &Path, provider: &str) -> Result<i32, Failure> {
    check_provider(provider)?;
    let key = SecretString::from(read_key()?);
    let path = key_path(state_dir, provider);
    let dir = path.parent().expect("key path has a parent");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Failure::config(format!("{}: {e}", dir.display())))?;
    // Write a private temp file, then rename: never a moment with a readable key.
    let tmp = dir.join(format!(".{provider}.key.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(key.expose_secret().as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Failure::config(format!("cannot store the key in {}: {e}", path.display()))
    })?;
    eprintln!("stored the {provider} key in {} (0600)", path.display());
    Ok(exit::OK)
}

/// `interlock auth remove PROVIDER`.
pub fn remove(state_dir: &Path, provider: &str) -> Result<i32, Failure> {
    check_provider(provider)?;
    let path = key_path(state_dir, provider);
    match std::fs::remove_file(&path) {
        Ok(()) => eprintln!("removed {}", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("no stored {provider} key")
        }
        Err(e) => return Err(Failure::config(format!("{}: {e}", path.display()))),
    }
    Ok(exit::OK)
}

/// `interlock auth status`: where each provider's key would come from.
pub fn status(state_dir: &Path) -> Result<i32, Failure> {
    let mut out = std::io::stdout().lock();
    for provider in PROVIDERS {
        let var = if provider == "anthropic" {
            "ANTHROPIC_API_KEY"
        } else {
            "OPENAI_API_KEY"
        };
        let env = std::env::var(var).is_ok_and(|v| !v.trim().is_empty());
        let path = key_path(state_dir, provider);
        let stored = match load(state_dir, provider) {
            Ok(Some(_)) => format!("stored in {}", path.display()),
            Ok(None) => "not stored".to_string(),
            Err(e) => format!("unusable: {e}"),
        };
        let _ = writeln!(
            out,
            "{provider:<10} environment {var}: {}; {stored}",
            if env { "set" } else { "not set" }
        );
    }
    Ok(exit::OK)
}
