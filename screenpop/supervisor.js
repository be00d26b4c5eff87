// The supervisor's live view: queues, waiting callers, agents and active calls, from
// GET /api/wallboard at load and the websocket's `calls`, `call` and `wallboard` messages.
// Durations count up between messages (data-tick-from, see common.js).
// The Reports tab shows a day's figures from GET /api/reports/daily?date= (definitions in
// docs/statistics.md).
// Server data is inserted with textContent only (see el() in common.js).

import {
  $, LiveSocket, api, connectionIndicator, el, fill, formatDuration, formatTime, meta, onLangChange,
  parseTime, refreshTimers, serverNow, show, t, tOr,
} from "./common.js";
import { watchNodes } from "./nodes.js";
import { startPage } from "./shell.js";
import { loadCallbacks, renderCallbacks, resetCallbacks, setCallback } from "./supervisor-callbacks.js";

const RECENT_ROWS = 12;

const view = {
  wallboard: null,
  wallboardAt: 0,            // server-clock ms when it arrived
  calls: new Map(),          // id -> {call, at}
  answeredSince: new Set(),  // calls seen answered or ended after the last wallboard
  socket: null,
  hellos: 0,
  unwatchNodes: null,        // stops the nodes' poll (nodes.js)
};

const report = {
  data: null,   // the daily report shown
  error: null,  // {key, params}: the message shown instead of a report
  request: 0,   // number of the latest request; answers to older ones are dropped
};

/** The report's queue columns: every figure of the API, in order, and how it is shown. */
const QUEUE_FIGURES = [
  ["offered", count],
  ["answered", count],
  ["abandoned", count],
  ["unanswered", count],
  ["answered_within_sl", count],
  ["service_level", percent],
  ["average_answer_seconds", optionalDuration],
  ["longest_answer_wait", optionalDuration],
  ["average_abandon_seconds", optionalDuration],
];

/** Agent states with a time column in the report, in this order (others follow). */
const REPORT_STATES = ["ready", "on_call", "ringing", "wrap_up", "paused", "logged_out"];

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

function count(value) {
  return String(Number(value) || 0);
}

function optionalDuration(value) {
  return value === null || value === undefined ? "—" : formatDuration(value);
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
  // "busy": ready in its queues, its phone on a call they did not give (maybe on another box)
  $("total-agents").textContent = `${count("ready")} / ${count("on_call") + count("ringing") + count("busy")} / ${count("paused")}`;
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
      el("td", { className: "strong", text: tOr("queue", queue.name) }),
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
      el("td", { text: tOr("queue", item.queue) }),
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
  const order = { ringing: 0, on_call: 1, busy: 1, wrap_up: 2, ready: 3, paused: 4, logged_out: 5 };
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
      el("td", { className: "muted", text: (agent.queues || []).map((q) => tOr("queue", q)).join("、") }),
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
      el("td", { text: tOr("queue", call.queue) }),
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
      el("td", { text: tOr("queue", call.queue) }),
      el("td", { className: call.answered_at ? "" : "bad-text", text: call.answered_at ? call.agent || "" : t("history.abandoned") }),
      tickCell(call.duration, 0, { live: false }),
      el("td", { className: "num muted", text: formatTime(call.ended_at, { date: false }) }),
    ]));
  }
  if (!recent.length) body.append(emptyRow(5, "sup.none_recent"));
}

// ---- daily report

function showView(name) {
  for (const button of document.querySelectorAll(".view-tabs [data-view]")) {
    button.setAttribute("aria-selected", String(button.dataset.view === name));
  }
  $("live-view").hidden = name !== "live";
  $("report-view").hidden = name !== "report";
  $("callbacks-view").hidden = name !== "callbacks";
  $("recordings-view").hidden = name !== "recordings"; // its own module: recordings.js
  if (name === "report") loadReport();
  if (name === "callbacks") loadCallbacks();
}

/** The chosen day's report; no date chosen yet: today's (the server's day). */
async function loadReport() {
  const input = $("report-date");
  if (input.validity.badInput) {
    setReportError("report.bad_date");
    return;
  }
  const number = ++report.request;
  const query = input.value ? `?date=${encodeURIComponent(input.value)}` : "";
  setReportBusy(true);
  const { ok, status, data } = await api("GET", `/api/reports/daily${query}`);
  if (number !== report.request) return; // a later request is under way
  setReportBusy(false);
  if (ok) setReport(data);
  else if (status === 403) stop("denied");
  else if (status !== 401) setReportError("report.error", { error: data.error });
}

function setReportBusy(busy) {
  $("report-load").disabled = busy;
  $("report-view").setAttribute("aria-busy", String(busy));
}

function setReport(data) {
  report.data = data;
  report.error = null;
  if (data.date) $("report-date").value = data.date;
  renderReport();
}

/** Shows the message instead of the figures: no stale day stays on screen. */
function setReportError(key, params = {}) {
  report.data = null;
  report.error = { key, params };
  renderReport();
}

function renderReport() {
  const { data, error } = report;
  const banner = $("report-error");
  banner.hidden = !error;
  banner.textContent = error ? t(error.key, error.params) : "";
  $("report-heading").textContent = data ? t("report.heading", { date: data.date, timezone: data.timezone }) : "";
  $("report-figures").hidden = !data;
  if (!data) return;
  renderReportQueues(data.queues || [], data.date);
  renderReportAgents(data.agents || {});
}

function headCell(key, { numeric = false, title = null } = {}) {
  return el("th", { className: numeric ? "num" : null, title: title ? t(title) : null, text: t(key) });
}

function renderReportQueues(queues, date) {
  fill($("report-queues-head"), el("tr", {}, [
    headCell("report.col.queue"),
    ...QUEUE_FIGURES.map(([key]) => headCell(`report.col.${key}`, { numeric: true, title: `report.def.${key}` })),
  ]));
  const body = $("report-queues");
  body.replaceChildren(...queues.map(reportQueueRow));
  if (!queues.length) body.append(emptyRow(QUEUE_FIGURES.length + 1, "report.no_queues"));
  const offered = queues.reduce((sum, queue) => sum + (Number(queue.offered) || 0), 0);
  const noCalls = $("report-no-calls");
  noCalls.hidden = offered > 0;
  noCalls.textContent = offered > 0 ? "" : t("report.no_calls", { date });
}

function reportQueueRow(queue) {
  return el("tr", { testid: "report-queue", "data-queue": queue.name }, [
    el("td", { className: "strong", text: tOr("queue", queue.name) }),
    ...QUEUE_FIGURES.map(([key, format]) => el("td", {
      className: key === "service_level" ? `num sl ${levelClass(queue[key])}` : "num",
      "data-figure": key,
      text: format(queue[key]),
    })),
  ]);
}

function renderReportAgents(agents) {
  const entries = Object.entries(agents);
  const states = reportStates(entries);
  fill($("report-agents-head"), el("tr", {}, [
    headCell("report.col.agent"),
    headCell("report.col.agent_answered", { numeric: true, title: "report.def.agent_answered" }),
    ...states.map((state) => el("th", { className: "num", title: t("report.def.state_seconds"), text: tOr("state", state) })),
    headCell("report.col.pause", { title: "report.def.pause_seconds" }),
  ]));
  const body = $("report-agents");
  body.replaceChildren(...entries.map(([iface, totals]) => reportAgentRow(iface, totals || {}, states)));
  if (!entries.length) body.append(emptyRow(states.length + 3, "report.no_agents"));
}

/** The known states, then any other state the server counted time in. */
function reportStates(entries) {
  const others = new Set();
  for (const [, totals] of entries) {
    for (const state of Object.keys((totals && totals.state_seconds) || {})) {
      if (!REPORT_STATES.includes(state)) others.add(state);
    }
  }
  return [...REPORT_STATES, ...others];
}

function reportAgentRow(iface, totals, states) {
  const inState = totals.state_seconds || {};
  return el("tr", { testid: "report-agent", "data-interface": iface }, [
    reportAgentName(iface),
    el("td", { className: "num", "data-figure": "answered", text: count(totals.answered) }),
    ...states.map((state) => el("td", {
      className: `num mono${inState[state] ? "" : " muted"}`,
      "data-figure": `state-${state}`,
      text: formatDuration(inState[state] || 0),
    })),
    el("td", { "data-figure": "pause" }, [el("div", { className: "pause-list" }, pauseList(totals.pause_seconds || {}))]),
  ]);
}

/** The report knows agents by interface; the live view gives their names when it has them. */
function reportAgentName(iface) {
  const agents = view.wallboard ? view.wallboard.agents || [] : [];
  const agent = agents.find((candidate) => candidate.interface === iface);
  if (!agent || !agent.name) return el("td", { className: "strong", text: iface });
  return el("td", {}, [
    el("span", { className: "strong", text: agent.name }),
    el("span", { className: "muted sub mono", text: iface }),
  ]);
}

/** "Lunch 30:00" per pause reason, longest first; "" is a pause without a reason. */
function pauseList(pauses) {
  const entries = Object.entries(pauses).sort((a, b) => (Number(b[1]) || 0) - (Number(a[1]) || 0));
  if (!entries.length) return [el("span", { className: "muted", text: "—" })];
  return entries.map(([reason, total]) => el("span", {
    className: "tag", testid: "report-pause", "data-reason": reason,
    text: `${reason ? tOr("reason", reason) : t("report.no_reason")} ${formatDuration(total)}`,
  }));
}

function resetReport() {
  report.request += 1; // drop an answer still on its way
  report.data = null;
  report.error = null;
  $("report-date").value = "";
  setReportBusy(false);
  renderReport();
}

function setupReport() {
  for (const button of document.querySelectorAll(".view-tabs [data-view]")) {
    button.addEventListener("click", () => showView(button.dataset.view));
  }
  $("report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadReport();
  });
  $("report-date").addEventListener("change", () => loadReport());
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
      if (msg.user && !meta.supervisor_roles.includes(msg.user.role)) stop("denied");
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
    case "callback":
      setCallback(msg.callback);
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
  render();
  if (!view.socket) {
    view.socket = new LiveSocket({ onMessage, onStatus: connectionIndicator($("conn")) });
  }
  await loadWallboard();
  view.socket.start();
  if (!view.unwatchNodes) view.unwatchNodes = watchNodes($("nodes"));
}

function end() {
  if (view.socket) view.socket.stop();
  if (view.unwatchNodes) view.unwatchNodes();
  view.unwatchNodes = null;
  view.hellos = 0;
  view.wallboard = null;
  view.calls.clear();
  $("conn").hidden = true;
  resetReport();
  resetCallbacks();
  showView("live");
}

function init() {
  setupReport();
  onLangChange(() => {
    render();
    renderReport();
    renderCallbacks();
  });
  startPage({ page: "supervisor", onUser: begin, onLogout: end });
}

init();
