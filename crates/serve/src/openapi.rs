//! The OpenAPI document served at `/openapi.json` (hand-written; a test
//! checks it parses and names every route).

/// The document.
pub const DOCUMENT: &str = include_str!("openapi.json");
