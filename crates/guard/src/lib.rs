//! Everything in interlock that inspects text.
//!
//! - [`analysis`]: static pre-execution risk analysis of shell, Python and
//!   JavaScript (tree-sitter), with findings a user can read.
//! - [`redact`]: secret detection and redaction, applied to everything that
//!   leaves for the model, the history and the logs.
//! - [`sanitize`]: a streaming terminal sanitizer for everything displayed.
//! - [`injection`]: prompt-injection signals in untrusted text, and breaking
//!   chat-template tokens in it.
//!
//! Pure functions over text: no I/O, no processes.

pub mod analysis;
pub mod injection;
pub mod redact;
pub mod sanitize;
