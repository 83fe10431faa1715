// interlock's web page. Everything the model or a program wrote is shown
// with textContent, never parsed as HTML. The token is kept for this tab
// only (sessionStorage) and sent as a header or WebSocket subprotocol,
// never in a URL.
"use strict";

const state = { token: sessionStorage.getItem("interlock-token") || "", session: null, ws: null };
const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

async function api(method, path, body) {
  const opts = { method, headers: { Authorization: "Bearer " + state.token } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  let data = null;
  try { data = await r.json(); } catch (_) { /* 204 and friends */ }
  if (!r.ok) throw new Error((data && data.error) || r.status + " " + r.statusText);
  return data;
}

function status(text) { $("status").textContent = text; }

function log(node) {
  const box = $("log");
  box.appendChild(node);
  box.scrollTop = box.scrollHeight;
}

let assistant = null;
let output = null;

function render(ev) {
  switch (ev.type) {
    case "session_started":
      log(el("div", "msg notice", "session " + ev.session_id + " · " + ev.executor));
      break;
    case "user_message":
      assistant = null;
      log(el("div", "msg user", "> " + ev.text));
      break;
    case "assistant_delta":
      if (!assistant) { assistant = el("div", "msg assistant", ""); log(assistant); }
      assistant.textContent += ev.text;
      break;
    case "code_proposed": {
      assistant = null;
      output = null;
      const pre = el("pre", "code", ev.code);
      pre.dataset.block = ev.block_id;
      log(el("div", "msg", "── " + ev.language + " (" + ev.block_id + ")"));
      log(pre);
      break;
    }
    case "risk_assessed": {
      const d = el("div", "msg risk-" + ev.risk, "risk: " + ev.risk);
      for (const f of ev.findings || []) d.appendChild(el("div", "", "· " + f.message));
      log(d);
      break;
    }
    case "approval_requested":
      askApproval(ev.block_id);
      break;
    case "decision":
      for (const box of document.querySelectorAll(".approval")) {
        if (box.dataset.block === ev.block_id) box.remove();
      }
      log(el("div", "msg notice", (ev.approved ? "approved" : "declined") + " by " + ev.by + (ev.reason ? ": " + ev.reason : "")));
      break;
    case "output":
      if (!output) { output = el("pre", "output", ""); log(output); }
      output.textContent += ev.text;
      break;
    case "execution_finished":
      output = null;
      log(el("div", "msg notice", "finished: " + ev.status));
      break;
    case "notice":
      log(el("div", "msg notice", ev.message));
      break;
    case "error":
      log(el("div", "msg error", ev.message));
      break;
    case "turn_finished":
      assistant = null;
      setBusy(false);
      break;
    default:
      break;
  }
}

function askApproval(blockId) {
  const box = el("div", "approval");
  box.dataset.block = blockId;
  box.appendChild(el("div", "", "Run block " + blockId + "?"));
  const feedback = el("textarea");
  feedback.rows = 2;
  feedback.placeholder = "Feedback for the model (with Deny), or the edited code (with Edit)";
  box.appendChild(feedback);
  const row = el("div", "row");
  const answer = async (body) => {
    try {
      await api("POST", "/api/sessions/" + state.session + "/approvals/" + encodeURIComponent(blockId), body);
      box.remove();
    } catch (e) { status(e.message); }
  };
  const approve = el("button", "", "Approve");
  approve.type = "button";
  approve.addEventListener("click", () => answer({ decision: "approve" }));
  const deny = el("button", "", "Deny");
  deny.type = "button";
  deny.addEventListener("click", () => answer({ decision: "deny", feedback: feedback.value }));
  const edit = el("button", "", "Edit");
  edit.type = "button";
  edit.addEventListener("click", () => {
    if (!feedback.value) {
      const pre = document.querySelector('pre.code[data-block="' + CSS.escape(blockId) + '"]');
      feedback.value = pre ? pre.textContent : "";
      feedback.rows = 8;
      return;
    }
    answer({ decision: "edit", code: feedback.value });
  });
  row.append(approve, deny, edit);
  box.appendChild(row);
  log(box);
}

function setBusy(busy) {
  $("send").disabled = busy || !state.session;
  $("message").disabled = !state.session;
  $("interrupt").disabled = !busy;
}

function watch(id) {
  if (state.ws) state.ws.close();
  $("log").replaceChildren();
  state.session = id;
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(scheme + location.host + "/api/sessions/" + id + "/ws",
    ["interlock.v1", "interlock.bearer." + state.token]);
  ws.addEventListener("message", (m) => {
    try { render(JSON.parse(m.data)); } catch (_) { /* not an event */ }
  });
  ws.addEventListener("close", (c) => { if (state.ws === ws) status("event stream closed (" + c.code + ")"); });
  state.ws = ws;
  setBusy(false);
  refresh();
}

async function refresh() {
  const list = await api("GET", "/api/sessions");
  const ul = $("sessions");
  ul.replaceChildren();
  for (const s of list.sessions) {
    const li = el("li", s.id === state.session ? "current" : "");
    const b = el("button", "", s.id.slice(0, 12) + (s.busy ? " …" : ""));
    b.type = "button";
    b.addEventListener("click", () => watch(s.id));
    li.appendChild(b);
    ul.appendChild(li);
  }
}

async function connect() {
  try {
    await refresh();
    sessionStorage.setItem("interlock-token", state.token);
    $("new-session").disabled = false;
    status("connected");
  } catch (e) {
    status(e.message);
  }
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  state.token = $("token").value.trim();
  connect();
});

$("new-session").addEventListener("click", async () => {
  try {
    const s = await api("POST", "/api/sessions", {});
    watch(s.id);
  } catch (e) { status(e.message); }
});

$("composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("message").value;
  if (!text.trim() || !state.session) return;
  try {
    await api("POST", "/api/sessions/" + state.session + "/messages", { text });
    $("message").value = "";
    setBusy(true);
  } catch (err) { status(err.message); }
});

$("interrupt").addEventListener("click", () => {
  api("POST", "/api/sessions/" + state.session + "/interrupt", {}).catch((e) => status(e.message));
});

if (state.token) connect();
