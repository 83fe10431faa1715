//! One served session: an [`Agent`] driven by a task of its own through a
//! [`Frontend`] that publishes every event to the session's subscribers and
//! turns each approval into a pending question answered over the wire.

use interlock_core::{Agent, Approval, ApprovalRequest, Frontend};
use interlock_protocol::{Decider, Event, Message};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Events kept for subscribers that connect late or reconnect.
const BACKLOG: usize = 10_000;

/// One event as sent: its sequence number (the SSE id) and its JSON line.
pub type Published = (u64, Arc<str>);

/// A poisoned lock only means another request panicked; the data is plain.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct EventLog {
    backlog: VecDeque<Published>,
    next: u64,
    tx: broadcast::Sender<Published>,
}

struct Pending {
    info: Value,
    reply: std::sync::mpsc::Sender<Approval>,
}

/// An answer to a pending approval, as a client gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Approve,
    Deny { feedback: Option<String> },
    Edit { code: String },
}

impl Answer {
    fn into_approval(self) -> Approval {
        match self {
            Answer::Approve => Approval::Run,
            Answer::Edit { code } if code.trim().is_empty() => Approval::Decline {
                by: Decider::User,
                reason: "edited to nothing".to_string(),
            },
            Answer::Edit { code } => Approval::RunEdited(code),
            Answer::Deny { feedback } => Approval::Decline {
                by: Decider::User,
                reason: match feedback.as_deref().map(str::trim) {
                    Some(f) if !f.is_empty() => {
                        format!("declined by the user, who said: {f}")
                    }
                    _ => "declined by the user".to_string(),
                },
            },
        }
    }
}

/// A session held by the server.
pub struct Session {
    pub id: String,
    pub workspace: PathBuf,
    /// The effective settings, as reported to clients.
    pub settings: Value,
    /// The agent's own session id (history file, audit log), once started.
    pub agent_session: std::sync::OnceLock<String>,
    pub created_unix: u64,
    events: Mutex<EventLog>,
    pending: Mutex<BTreeMap<String, Pending>>,
    inbox: Mutex<Option<mpsc::UnboundedSender<String>>>,
    cancel: Mutex<CancellationToken>,
    last_active: Mutex<Instant>,
    busy: AtomicBool,
    history: Mutex<Vec<Message>>,
    /// Cancelled when the session ends (or the server stops): streams end.
    pub closed: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Session {
    pub(crate) fn new(
        id: String,
        workspace: PathBuf,
        settings: Value,
        closed: CancellationToken,
    ) -> Session {
        let (tx, _) = broadcast::channel(1024);
        Session {
            id,
            workspace,
            settings,
            agent_session: std::sync::OnceLock::new(),
            created_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            events: Mutex::new(EventLog {
                backlog: VecDeque::new(),
                next: 1,
                tx,
            }),
            pending: Mutex::new(BTreeMap::new()),
            inbox: Mutex::new(None),
            cancel: Mutex::new(CancellationToken::new()),
            last_active: Mutex::new(Instant::now()),
            busy: AtomicBool::new(false),
            history: Mutex::new(Vec::new()),
            closed,
            task: Mutex::new(None),
        }
    }

    /// Publishes one JSON line to every subscriber and the backlog.
    pub(crate) fn publish(&self, line: String) {
        let mut log = lock(&self.events);
        let seq = log.next;
        log.next += 1;
        let item: Published = (seq, Arc::from(line));
        if log.backlog.len() == BACKLOG {
            log.backlog.pop_front();
        }
        log.backlog.push_back(item.clone());
        // No subscriber is fine: the backlog keeps it.
        let _ = log.tx.send(item);
        drop(log);
        self.touch();
    }

    /// The events after `after` and a receiver for the rest, taken under one
    /// lock so nothing falls between them.
    pub fn subscribe(&self, after: u64) -> (Vec<Published>, broadcast::Receiver<Published>) {
        let log = lock(&self.events);
        let past = log
            .backlog
            .iter()
            .filter(|(s, _)| *s > after)
            .cloned()
            .collect();
        (past, log.tx.subscribe())
    }

    /// Marks client or agent activity (idle reaping).
    pub fn touch(&self) {
        *lock(&self.last_active) = Instant::now();
    }

    pub fn idle_since(&self) -> Instant {
        *lock(&self.last_active)
    }

    pub fn busy(&self) -> bool {
        self.busy.load(Ordering::SeqCst)
    }

    /// Queues a user message; false when a turn is already running or the
    /// session is closing.
    pub fn send(&self, text: String) -> bool {
        if self
            .busy
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return false;
        }
        *lock(&self.cancel) = CancellationToken::new();
        let sent = lock(&self.inbox)
            .as_ref()
            .is_some_and(|tx| tx.send(text).is_ok());
        if !sent {
            self.busy.store(false, Ordering::SeqCst);
        }
        self.touch();
        sent
    }

    /// The pending approvals, oldest block first.
    pub fn pending(&self) -> Vec<Value> {
        lock(&self.pending)
            .values()
            .map(|p| p.info.clone())
            .collect()
    }

    /// Answers a pending approval; false when there is none with this id.
    pub fn answer(&self, block_id: &str, answer: Answer) -> bool {
        self.touch();
        match lock(&self.pending).remove(block_id) {
            Some(p) => p.reply.send(answer.into_approval()).is_ok(),
            None => false,
        }
    }

    /// Stops the running turn: the model request or block is cancelled and
    /// every pending approval is declined.
    pub fn interrupt(&self, why: &str) {
        lock(&self.cancel).cancel();
        let pending = std::mem::take(&mut *lock(&self.pending));
        for (_, p) in pending {
            let _ = p.reply.send(Approval::Decline {
                by: Decider::Policy,
                reason: why.to_string(),
            });
        }
        self.touch();
    }

    /// The conversation as of the end of the last turn.
    pub fn history(&self) -> Vec<Message> {
        lock(&self.history).clone()
    }

    /// Ends the session: no new messages, the running turn interrupted,
    /// then waits for the agent to shut its kernels down and sync history.
    pub async fn close(&self, why: &str) {
        lock(&self.inbox).take();
        self.interrupt(why);
        let task = lock(&self.task).take();
        if let Some(t) = task {
            let _ = t.await;
        }
        self.closed.cancel();
    }

    /// A summary for listings.
    pub fn summary(&self) -> Value {
        json!({
            "id": self.id,
            "agent_session": self.agent_session.get(),
            "created_unix": self.created_unix,
            "workspace": self.workspace.display().to_string(),
            "settings": self.settings,
            "busy": self.busy(),
            "pending_approvals": lock(&self.pending).len(),
        })
    }
}

/// The [`Frontend`] of a served session.
struct WireFrontend {
    session: Arc<Session>,
    /// `turn_finished`, held back until the history snapshot is updated and
    /// the session takes messages again, so a client acting on it finds both.
    turn_finished: Option<String>,
    /// `approval_requested`, held back until the question is registered, so
    /// a client answering at once finds it pending.
    approval_requested: Option<String>,
}

impl Frontend for WireFrontend {
    fn event(&mut self, event: &Event) {
        match event {
            Event::TurnFinished { .. } => {
                self.turn_finished = Some(event.to_json_line());
                return;
            }
            Event::ApprovalRequested { .. } => {
                self.approval_requested = Some(event.to_json_line());
                return;
            }
            _ => {}
        }
        self.session.publish(event.to_json_line());
    }

    fn approve(&mut self, req: &ApprovalRequest<'_>) -> Approval {
        let (tx, rx) = std::sync::mpsc::channel();
        let info = json!({
            "block_id": req.block_id,
            "language": req.language,
            "risk": req.risk,
            "findings": req.findings,
            "auto_run": req.auto_run,
            "auto_run_max_risk": req.auto_run_max_risk,
            "held_back": req.held_back,
        });
        lock(&self.session.pending).insert(req.block_id.to_string(), Pending { info, reply: tx });
        if let Some(line) = self.approval_requested.take() {
            self.session.publish(line);
        }
        // An interrupt that came before the insert above would not have seen
        // this entry: check after inserting, so no question is left hanging.
        if lock(&self.session.cancel).is_cancelled() {
            lock(&self.session.pending).remove(req.block_id);
            return Approval::Decline {
                by: Decider::Policy,
                reason: "interrupted".to_string(),
            };
        }
        // The agent's loop is synchronous here; let the runtime move other
        // tasks off this worker while the question waits for its answer.
        let answer = tokio::task::block_in_place(|| rx.recv());
        lock(&self.session.pending).remove(req.block_id);
        answer.unwrap_or(Approval::Decline {
            by: Decider::Policy,
            reason: "the session closed before anyone answered".to_string(),
        })
    }

    fn wants_redacted(&self) -> bool {
        true
    }
}

/// Runs a session: starts the agent, then handles one message at a time
/// until the inbox closes; then shuts the kernels down.
pub(crate) fn spawn(
    session: Arc<Session>,
    mut agent: Agent,
    keep: Box<dyn Send>,
    warnings: Vec<String>,
) -> Result<(), String> {
    let mut fe = WireFrontend {
        session: session.clone(),
        turn_finished: None,
        approval_requested: None,
    };
    agent
        .start(None, &mut fe)
        .map_err(|e| format!("cannot start the session: {e}"))?;
    let _ = session.agent_session.set(agent.session_id().to_string());
    for w in warnings {
        fe.event(&Event::Notice {
            level: interlock_protocol::NoticeLevel::Warning,
            message: w,
        });
    }
    *lock(&session.history) = agent.messages().to_vec();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    *lock(&session.inbox) = Some(tx);
    let s = session.clone();
    let handle = tokio::spawn(async move {
        while let Some(text) = rx.recv().await {
            let token = lock(&s.cancel).clone();
            // Errors were already published as events.
            let _ = agent.send(&text, &mut fe, &token).await;
            *lock(&s.history) = agent.messages().to_vec();
            s.busy.store(false, Ordering::SeqCst);
            if let Some(line) = fe.turn_finished.take() {
                s.publish(line);
            }
            s.touch();
        }
        agent.shutdown().await;
        drop(keep);
    });
    *lock(&session.task) = Some(handle);
    Ok(())
}
