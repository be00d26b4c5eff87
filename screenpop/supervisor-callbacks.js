// The supervisor's Callbacks tab: tasks owed to missed callers (GET /api/callbacks), kept
// live by the websocket's `callback` messages; pending, in progress and finished, the
// success rate and the time from the miss to the callback; a pending task can be cancelled
// (POST /api/callbacks/{id}/cancel). Server data is inserted with textContent only.

import { $, api, el, fill, formatDuration, formatTime, parseTime, t, tOr } from "./common.js";

const FINISHED = new Set(["connected", "failed", "cancelled", "expired"]);

const state = {
  tasks: new Map(),  // id -> task
  error: null,       // {key, params}
  loaded: false,
};

/** Seconds from the (first) miss to the attempt that reached the customer; null if none. */
function timeToCallback(task) {
  if (task.status !== "connected") return null;
  const missed = parseTime(task.missed_at);
  const reached = parseTime(task.last_attempt_at);
  return missed === null || reached === null ? null : Math.max(0, (reached - missed) / 1000);
}

function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** {pending, inProgress, finished, successRate (0..1 or null), medianSeconds (or null)}. */
export function callbackFigures(tasks) {
  const pending = tasks.filter((task) => task.status === "pending");
  const inProgress = tasks.filter((task) => task.status === "dialing");
  const finished = tasks.filter((task) => FINISHED.has(task.status));
  const decided = finished.filter((task) => task.status !== "cancelled");
  const connected = finished.filter((task) => task.status === "connected");
  return {
    pending, inProgress, finished,
    successRate: decided.length ? connected.length / decided.length : null,
    medianSeconds: median(connected.map(timeToCallback).filter((s) => s !== null)),
  };
}

function reasonText(task) {
  const source = tOr("cb.source", task.source);
  return task.reason && task.reason !== task.source ? `${source}: ${task.reason}` : source;
}

function row(task, { finished = false } = {}) {
  const cells = [
    el("td", { className: "mono", text: task.number }),
    el("td", { text: tOr("queue", task.queue) }),
    el("td", { text: reasonText(task) }),
    el("td", { className: "mono", text: formatTime(task.missed_at) }),
    el("td", { className: "mono", text: task.wait_seconds === null ? "" : formatDuration(task.wait_seconds) }),
    el("td", { className: "num", text: String(task.misses) }),
    el("td", { className: "num", text: String(task.attempts) }),
    el("td", { text: task.agent || "" }),
  ];
  if (finished) {
    const seconds = timeToCallback(task);
    cells.push(
      el("td", { text: tOr("cb.status", task.status), testid: "callback-status" }),
      el("td", { className: "mono", text: seconds === null ? "" : formatDuration(seconds) }),
    );
  } else {
    cells.push(el("td", { text: tOr("cb.outcome", task.outcome) }));
    cells.push(el("td", {}, [task.status === "pending"
      ? el("button", { type: "button", text: t("cb.cancel"), testid: "callback-cancel", on: { click: () => cancel(task.id) } })
      : null]));
  }
  return el("tr", { testid: "callback", dataset: { id: String(task.id), status: task.status } }, cells);
}

function head(finished) {
  const keys = ["number", "queue", "reason", "missed_at", "waited", "misses", "attempts", "agent"];
  const more = finished ? ["status", "time_to_callback"] : ["outcome"];
  return el("tr", {}, [...[...keys, ...more].map((key) => el("th", { text: t(`cb.col.${key}`) })),
    finished ? null : el("th", {})]);
}

function table(id, tasks, finished) {
  const body = $(id);
  fill(body, ...(tasks.length ? tasks.map((task) => row(task, { finished }))
    : [el("tr", {}, [el("td", { colspan: 10, className: "muted", text: t("cb.none") })])]));
  fill($(`${id}-head`), head(finished));
}

export function renderCallbacks() {
  if (!$("callbacks-view")) return;
  const tasks = [...state.tasks.values()].sort((a, b) => (parseTime(b.missed_at) || 0) - (parseTime(a.missed_at) || 0));
  const figures = callbackFigures(tasks);
  $("cb-pending-count").textContent = String(figures.pending.length);
  $("cb-progress-count").textContent = String(figures.inProgress.length);
  $("cb-finished-count").textContent = String(figures.finished.length);
  $("cb-success").textContent = figures.successRate === null ? "—" : `${Math.round(figures.successRate * 100)}%`;
  $("cb-median").textContent = figures.medianSeconds === null ? "—" : formatDuration(figures.medianSeconds);
  table("cb-pending", figures.pending, false);
  table("cb-progress", figures.inProgress, false);
  table("cb-finished", figures.finished, true);
  const banner = $("cb-error");
  banner.hidden = !state.error;
  banner.textContent = state.error ? t(state.error.key, state.error.params) : "";
}

export async function loadCallbacks() {
  const { ok, status, data } = await api("GET", "/api/callbacks");
  if (ok) {
    state.tasks = new Map(data.callbacks.map((task) => [task.id, task]));
    state.error = null;
    state.loaded = true;
  } else if (status !== 401) {
    state.error = { key: "cb.load_failed", params: { error: data.error } };
  }
  renderCallbacks();
}

async function cancel(id) {
  const { ok, data } = await api("POST", `/api/callbacks/${id}/cancel`);
  if (ok) setCallback(data.callback);
  else {
    state.error = { key: "cb.cancel_failed", params: { error: data.error } };
    renderCallbacks();
  }
}

/** The websocket's `callback` message: one task changed. */
export function setCallback(task) {
  if (!task || typeof task.id !== "number") return;
  state.tasks.set(task.id, task);
  renderCallbacks();
}

export function resetCallbacks() {
  state.tasks.clear();
  state.error = null;
  state.loaded = false;
}
