// The supervisor's live view: queues, waiting callers, agents and active calls, from
// GET /api/wallboard at load and the websocket's `calls`, `call` and `wallboard` messages.
// Durations count up between messages (data-tick-from, see common.js).
// Server data is inserted with textContent only (see el() in common.js).

import {
  $, LiveSocket, api, applyI18n, connectionIndicator, el, formatDuration, formatTime,
  onLangChange, parseTime, refreshTimers, serverNow, setupLangToggle, show, startSession, t, tOr,
} from "./common.js";

const SUPERVISOR_ROLES = new Set(["supervisor", "admin"]);
const RECENT_ROWS = 12;

const view = {
  wallboard: null,
  wallboardAt: 0,            // server-clock ms when it arrived
  calls: new Map(),          // id -> {call, at}
  answeredSince: new Set(),  // calls seen answered or ended after the last wallboard
  socket: null,
  hellos: 0,
};

// ---- helpers

function tickCell(seconds, receivedAt, { live = true } = {}) {
  const value = Number(seconds);
  const cell = el("td", { className: "num mono" });
  if (!Number.isFinite(value)) {
    cell.textContent = "—";
    return cell;
  }
  if (live) cell.dataset.tickFrom = String(receivedAt - value * 1000);
  else cell.textContent = formatDuration(value);
  return cell;
}

function percent(value) {
  return value === null || value === undefined || !Number.isFinite(Number(value))
    ? "—" : `${Math.round(Number(value) * 100)}%`;
}

function levelClass(value) {
  if (value === null || value === undefined) return "";
  if (value >= 0.8) return "good";
  if (value >= 0.6) return "fair";
  return "poor";
}

function agentStateText(agent) {
  if (agent.state === "paused" && agent.reason) {
    return t("state.paused_reason", { reason: tOr("reason", agent.reason) });
  }
  return tOr("state", agent.state);
}

function emptyRow(columns, key) {
  return el("tr", { className: "empty" }, [el("td", { colspan: columns, className: "muted", text: t(key) })]);
}

function callStatus(call) {
  if (call.state === "ended" || call.ended_at) return "ended";
  if (call.answered_at) return "answered";
  if (call.queue) return "queued";
  return "ivr";
}

// ---- rendering

function render() {
  renderTiles();
  renderQueues();
  renderWaiting();
  renderAgents();
  renderActive();
  renderRecent();
  refreshTimers();
}

function renderTiles() {
  const board = view.wallboard;
  const queues = board ? board.queues || [] : [];
  const waiting = visibleWaiting();
  $("total-waiting").textContent = String(waiting.length || queues.reduce((sum, q) => sum + (q.waiting || 0), 0));
  $("tile-waiting").classList.toggle("alert", waiting.length > 0);
  const longest = Math.max(0, ...queues.map((q) => Number(q.longest_wait) || 0), ...waiting.map((w) => Number(w.waiting_seconds) || 0));
  const longestNode = $("total-longest");
  if (longest > 0) longestNode.dataset.tickFrom = String(view.wallboardAt - longest * 1000);
  else {
    delete longestNode.dataset.tickFrom;
    longestNode.textContent = formatDuration(0);
  }
  const within = queues.reduce((sum, q) => sum + (q.answered_within_sl || 0), 0);
  const counted = queues.reduce((sum, q) => sum + (q.answered || 0) + (q.abandoned || 0), 0);
  const level = counted ? within / counted : null;
  $("total-sl").textContent = percent(level);
  $("tile-sl").className = `tile ${levelClass(level)}`;
  const offered = queues.reduce((sum, q) => sum + (q.offered || 0), 0);
  const answered = queues.reduce((sum, q) => sum + (q.answered || 0), 0);
  $("total-answered").textContent = `${answered} / ${offered}`;
  const agents = board ? board.agents || [] : [];
  const count = (state) => agents.filter((agent) => agent.state === state).length;
  $("total-agents").textContent = `${count("ready")} / ${count("on_call") + count("ringing")} / ${count("paused")}`;
  $("updated").textContent = board && board.at ? t("sup.updated", { time: formatTime(board.at, { date: false }) }) : "";
}

function renderQueues() {
  const body = $("queues");
  body.replaceChildren();
  const queues = view.wallboard ? view.wallboard.queues || [] : [];
  for (const queue of queues) {
    const longest = Number(queue.longest_wait) || 0;
    const level = queue.service_level;
    const longestCell = queue.waiting > 0 && longest > 0
      ? tickCell(longest, view.wallboardAt)
      : el("td", { className: "num mono muted", text: formatDuration(0) });
    body.append(el("tr", { testid: "queue-row", "data-queue": queue.name, className: queue.waiting > 0 ? "has-waiting" : "" }, [
      el("td", { className: "strong", text: queue.name }),
      el("td", { className: `num${queue.waiting > 0 ? " alert-text" : ""}`, testid: "queue-waiting", text: String(queue.waiting ?? 0) }),
      longestCell,
      el("td", { className: "num", testid: "queue-offered", text: String(queue.offered ?? 0) }),
      el("td", { className: "num", testid: "queue-answered", text: String(queue.answered ?? 0) }),
      el("td", { className: "num", testid: "queue-abandoned", text: String(queue.abandoned ?? 0) }),
      el("td", { className: `num sl ${levelClass(level)}`, testid: "service-level", text: percent(level) }),
    ]));
  }
  if (!queues.length) body.append(emptyRow(7, "sup.none_queues"));
}

/** The wallboard's waiting callers, less those a later `call` update shows answered or gone. */
function visibleWaiting() {
  const waiting = view.wallboard ? view.wallboard.waiting_calls || [] : [];
  return waiting.filter((item) => !view.answeredSince.has(item.call_id));
}

function renderWaiting() {
  const body = $("waiting");
  body.replaceChildren();
  const waiting = visibleWaiting().slice().sort((a, b) => (b.waiting_seconds || 0) - (a.waiting_seconds || 0));
  for (const item of waiting) {
    body.append(el("tr", { testid: "waiting-call", "data-call-id": item.call_id }, [
      el("td", { className: "mono", text: item.caller_number || "—" }),
      el("td", { text: item.caller_name || "" }),
      el("td", { text: item.queue || "" }),
      tickCell(item.waiting_seconds, view.wallboardAt),
    ]));
  }
  if (!waiting.length) body.append(emptyRow(4, "sup.none_waiting"));
  $("waiting-count").textContent = String(waiting.length);
}

function renderAgents() {
  const body = $("agents");
  body.replaceChildren();
  const agents = view.wallboard ? (view.wallboard.agents || []).slice() : [];
  const order = { ringing: 0, on_call: 1, wrap_up: 2, ready: 3, paused: 4, logged_out: 5 };
  agents.sort((a, b) => (order[a.state] ?? 9) - (order[b.state] ?? 9) || String(a.extension).localeCompare(String(b.extension)));
  for (const agent of agents) {
    const since = Number(agent.seconds_in_state);
    body.append(el("tr", { testid: "agent-row", "data-extension": agent.extension, "data-state": agent.state }, [
      el("td", { className: "strong", text: agent.name || agent.interface || "" }),
      el("td", { className: "mono", text: agent.extension || "" }),
      el("td", {}, [el("span", {
        className: `state-badge small state-${agent.state}`, testid: "agent-state",
        "data-reason": agent.reason || "", text: agentStateText(agent),
      })]),
      agent.state === "logged_out" || !Number.isFinite(since)
        ? el("td", { className: "num muted", text: "—" })
        : tickCell(since, view.wallboardAt),
      el("td", { className: "muted", text: (agent.queues || []).join(", ") }),
    ]));
  }
  if (!agents.length) body.append(emptyRow(5, "sup.none_agents"));
  $("agent-count").textContent = String(agents.length);
}

function renderActive() {
  const body = $("active");
  body.replaceChildren();
  const rows = [...view.calls.values()]
    .filter(({ call }) => callStatus(call) !== "ended")
    .sort((a, b) => (parseTime(a.call.started_at) ?? 0) - (parseTime(b.call.started_at) ?? 0));
  for (const { call, at } of rows) {
    const status = callStatus(call);
    body.append(el("tr", { testid: "active-call", "data-call-id": call.id, "data-state": status }, [
      el("td", {}, [
        el("span", { className: "mono", text: call.caller_number || "—" }),
        call.caller_name ? el("span", { className: "muted sub", text: call.caller_name }) : null,
      ]),
      el("td", {}, [el("span", { className: `call-state call-${status}`, testid: "call-state", text: t(`call.${status}`) })]),
      el("td", { text: call.queue || "" }),
      el("td", { text: call.agent || "" }),
      tickCell(call.duration, at),
    ]));
  }
  if (!rows.length) body.append(emptyRow(5, "sup.none_active"));
  $("active-count").textContent = String(rows.length);
}

function renderRecent() {
  const body = $("recent");
  body.replaceChildren();
  const recent = view.wallboard ? (view.wallboard.recent_calls || []).filter((call) => callStatus(call) === "ended") : [];
  for (const call of recent.slice(0, RECENT_ROWS)) {
    body.append(el("tr", { "data-call-id": call.id }, [
      el("td", {}, [
        el("span", { className: "mono", text: call.caller_number || "—" }),
        call.caller_name ? el("span", { className: "muted sub", text: call.caller_name }) : null,
      ]),
      el("td", { text: call.queue || "" }),
      el("td", { className: call.answered_at ? "" : "bad-text", text: call.answered_at ? call.agent || "" : t("history.abandoned") }),
      tickCell(call.duration, 0, { live: false }),
      el("td", { className: "num muted", text: formatTime(call.ended_at, { date: false }) }),
    ]));
  }
  if (!recent.length) body.append(emptyRow(5, "sup.none_recent"));
}

// ---- data

function setWallboard(board) {
  if (!board || typeof board !== "object") return;
  view.wallboard = board;
  view.wallboardAt = serverNow();
  view.answeredSince.clear();
  render();
}

function setCall(call) {
  if (!call || !call.id) return;
  const status = callStatus(call);
  if (status === "ended") view.calls.delete(call.id);
  else view.calls.set(call.id, { call, at: serverNow() });
  if (status === "answered" || status === "ended") view.answeredSince.add(call.id);
  renderActive();
  renderWaiting();
  renderTiles();
  refreshTimers();
}

function onMessage(msg) {
  switch (msg.type) {
    case "hello":
      view.hellos += 1;
      if (msg.user && !SUPERVISOR_ROLES.has(msg.user.role)) stop("denied");
      else if (view.hellos > 1) loadWallboard(); // catch up after a reconnection
      break;
    case "calls": {
      view.calls.clear();
      const at = serverNow();
      for (const call of msg.calls || []) if (call && call.id && callStatus(call) !== "ended") view.calls.set(call.id, { call, at });
      renderActive();
      refreshTimers();
      break;
    }
    case "call":
      setCall(msg.call);
      break;
    case "wallboard":
      setWallboard(msg.wallboard);
      break;
    default:
      break; // agent messages (own state, pops) are for the agent desk
  }
}

async function loadWallboard() {
  const { ok, status, data } = await api("GET", "/api/wallboard");
  if (ok) setWallboard(data);
  else if (status === 403) stop("denied");
}

function stop(section) {
  if (view.socket) view.socket.stop();
  show(section);
}

async function begin(user) {
  $("whoami").textContent = user.display_name ? `${user.display_name} (${user.username})` : user.username;
  $("session-logout").hidden = false;
  if (!SUPERVISOR_ROLES.has(user.role)) {
    show("denied");
    return;
  }
  show("main");
  render();
  if (!view.socket) {
    view.socket = new LiveSocket({ onMessage, onStatus: connectionIndicator($("conn")) });
  }
  await loadWallboard();
  view.socket.start();
}

function end() {
  if (view.socket) view.socket.stop();
  view.hellos = 0;
  view.wallboard = null;
  view.calls.clear();
  $("whoami").textContent = "";
  $("session-logout").hidden = true;
  $("conn").hidden = true;
}

function init() {
  applyI18n();
  setupLangToggle($("lang-toggle"));
  onLangChange(() => render());
  startSession({ onUser: begin, onLogout: end });
}

init();
