//! `interlock-netproxy` owns egress for sandboxed code when the user allows some hosts
//! (`--allow-net`): the [`AllowList`] (plain data: host names, `*.suffix` wildcards, `HOST:PORT`,
//! IP entries, named presets), the pure decisions made from it ([`decide_target`] by name,
//! [`decide_addrs`] by resolved address, [`forbidden_reason`] for internal addresses), and the
//! [`Proxy`] that enforces them: HTTP `CONNECT` tunnels (no TLS interception) and absolute-URI
//! HTTP requests, a `403` with a reason for every refusal, and an [`Event`] for each decision.
//!
//! The proxy resolves names itself and connects to the addresses it checked, so DNS rebinding
//! cannot swap an address in between. Name resolution is a [`Resolver`]; tests substitute a
//! [`FixedResolver`] in code (nothing in configuration can), which is the only way an address the
//! rules refuse (such as a test's own loopback server) becomes reachable without an IP entry.

mod allow;
mod decide;
mod proxy;

pub use allow::{
    AllowList, DEFAULT_PORTS, Entry, EntryError, PRESETS, Pattern, canonical_name,
    forbidden_reason, unmap, valid_host_name,
};
pub use decide::{Denial, Target, decide_addrs, decide_target};
pub use proxy::{
    Caps, Event, EventSink, FixedResolver, Proxy, ProxyHandle, ResolveFuture, Resolver,
    SystemResolver,
};
