//! The web page at `/`: static files embedded in the binary (no CDN), served
//! with a strict Content-Security-Policy that allows no inline script or
//! style, and no framing. The page needs the token typed in before it can
//! do anything; the files themselves hold no data.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Only this server's own files; no inline code, no plugins, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'";

const INDEX: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_no_inline_code_and_uses_no_html_sinks() {
        // Every <script> has a src; no event-handler attributes; no <style>.
        let lower = INDEX.to_ascii_lowercase();
        for (i, _) in lower.match_indices("<script") {
            let tag_end = lower[i..].find('>').unwrap() + i;
            assert!(lower[i..tag_end].contains("src="), "inline script at {i}");
        }
        assert!(!lower.contains("<style"));
        assert!(!regex_like_on_attr(&lower), "an on…= handler attribute");
        // Model and program text is only ever set as text.
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ] {
            assert!(!APP_JS.contains(sink), "app.js uses {sink}");
        }
        // The token never goes into a URL.
        assert!(!APP_JS.contains("?token"));
    }

    fn regex_like_on_attr(html: &str) -> bool {
        html.split(|c: char| c.is_whitespace())
            .any(|w| w.starts_with("on") && w.contains('='))
    }
}
