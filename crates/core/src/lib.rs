//! The agent: conversation, system prompt, approval flow, configuration and
//! history.
//!
//! This crate owns the loop that turns a user message into model turns and
//! approved code runs, and the files that make a conversation survive a crash.
//! It talks to models only through `interlock-llm`, runs code only through
//! `interlock-kernels`, and reaches the user only through the [`Frontend`]
//! trait; it never prints anything itself.

pub mod agent;
pub mod config;
pub mod executor;
pub mod fences;
pub mod history;
pub mod prompt;
pub mod tripwire;
pub mod truncate;

pub use agent::{Agent, AgentError, Approval, ApprovalRequest, Frontend, TurnEnd, TurnOutcome};
pub use config::{
    ConfigError, ConfigFile, Dirs, EnvLayer, NetworkSetting, Overrides, SandboxSetting, Settings,
    ToolMode,
};
pub use executor::{Executor, ExecutorError};
