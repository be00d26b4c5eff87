// Shared by every page: i18n, DOM helpers, JSON API calls, live timers and the websocket
// with automatic reconnection. The header, login, language switch, logout and "not allowed"
// are the shell's (shell.js).
// Every text that comes from the server is inserted with textContent, never as HTML.

import { LANGUAGES, STRINGS } from "./i18n.js";

const LANG_KEY = "ctiserver.lang";

export const $ = (id) => document.getElementById(id);

// ---- i18n

let currentLang = readLang();
const langListeners = [];

function readLang() {
  let saved = null;
  try {
    saved = window.localStorage.getItem(LANG_KEY);
  } catch {
    saved = null; // storage disabled: keep the default
  }
  return LANGUAGES.includes(saved) ? saved : "zh";
}

export function lang() {
  return currentLang;
}

/** The string for `key` in the current language, "{name}" filled from `params` (as text). */
export function t(key, params = {}) {
  const table = STRINGS[currentLang] || STRINGS.zh;
  let text = table[key] ?? STRINGS.zh[key] ?? key;
  for (const [name, value] of Object.entries(params)) {
    text = text.split(`{${name}}`).join(String(value ?? ""));
  }
  return text;
}

/** `t(key)` when there is such a key, else the value itself (unknown codes from the server). */
export function tOr(prefix, value) {
  if (value === null || value === undefined || value === "") return "";
  const key = `${prefix}.${value}`;
  const table = STRINGS[currentLang] || STRINGS.zh;
  return key in table ? table[key] : String(value);
}

/** Fill every element carrying data-i18n (text), data-i18n-placeholder, data-i18n-title,
 * data-i18n-label (its aria-label, what a screen reader says). */
export function applyI18n(root = document) {
  document.documentElement.lang = currentLang === "zh" ? "zh-CN" : "en";
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) {
    node.setAttribute("placeholder", t(node.dataset.i18nPlaceholder));
  }
  for (const node of root.querySelectorAll("[data-i18n-title]")) {
    node.setAttribute("title", t(node.dataset.i18nTitle));
  }
  for (const node of root.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
  const title = document.querySelector("title[data-i18n-doc]");
  if (title) document.title = t(title.dataset.i18nDoc);
}

export function setLang(next) {
  if (!LANGUAGES.includes(next) || next === currentLang) return;
  currentLang = next;
  try {
    window.localStorage.setItem(LANG_KEY, next);
  } catch {
    // not remembered; still switched
  }
  applyI18n();
  for (const listener of langListeners) listener(next);
}

export function onLangChange(listener) {
  langListeners.push(listener);
}

/** A button that switches between the two languages (its label names the other one). */
export function setupLangToggle(button) {
  button.addEventListener("click", () => setLang(currentLang === "zh" ? "en" : "zh"));
}

// ---- DOM

/**
 * `el("div", {className, text, testid, dataset: {...}, on: {click: fn}, ...attributes}, children)`.
 * `text` goes in with textContent; children are nodes or strings (text nodes).
 */
export function el(tag, options = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "className") node.className = value;
    else if (key === "testid") node.dataset.testid = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "on") for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    else if (key === "tickFrom") node.dataset.tickFrom = String(value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** `node.replaceChildren(...)` that skips null, undefined and false (optional parts). */
export function fill(node, ...children) {
  node.replaceChildren(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

/** Show one of the page's top-level sections (loading, login, denied, main). */
export function show(sectionId) {
  for (const id of ["loading", "login", "denied", "main"]) {
    const node = $(id);
    if (node) node.hidden = id !== sectionId;
  }
}

// ---- time

let clockOffsetMs = 0; // server clock minus ours, from the HTTP Date header, when it is large

/** Our estimate of the server's clock, in epoch milliseconds. */
export function serverNow() {
  return Date.now() + clockOffsetMs;
}

function noteServerDate(response) {
  const header = response.headers.get("Date");
  const server = header ? Date.parse(header) : NaN;
  if (Number.isNaN(server)) return;
  const offset = server + 500 - Date.now(); // the header is truncated to the second
  clockOffsetMs = Math.abs(offset) > 2000 ? offset : 0;
}

export function parseTime(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** 65 -> "1:05", 3725 -> "1:02:05". */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function formatTime(iso, { date = true } = {}) {
  const ms = parseTime(iso);
  if (ms === null) return iso ? String(iso) : "";
  const locale = currentLang === "zh" ? "zh-CN" : "en-GB";
  const options = { hour: "2-digit", minute: "2-digit" };
  if (date) Object.assign(options, { month: "2-digit", day: "2-digit" });
  return new Date(ms).toLocaleString(locale, options);
}

export function formatDate(iso) {
  const ms = parseTime(iso);
  if (ms === null) return iso ? String(iso) : "";
  return new Date(ms).toLocaleDateString(currentLang === "zh" ? "zh-CN" : "en-GB");
}

/**
 * Live timers: an element with data-tick-from (epoch ms, server clock) shows the time
 * since then, refreshed every second. data-tick-stop freezes it at that moment.
 */
export function refreshTimers(root = document) {
  const now = serverNow();
  for (const node of root.querySelectorAll("[data-tick-from]")) {
    const from = Number(node.dataset.tickFrom);
    const stop = node.dataset.tickStop ? Number(node.dataset.tickStop) : now;
    const text = formatDuration((stop - from) / 1000);
    if (node.textContent !== text) node.textContent = text;
  }
}

setInterval(() => refreshTimers(), 1000);

// ---- JSON API

let onLoginRequired = () => show("login");

/** What the page does when the server says the session is gone (the shell sets it). */
export function whenLoginRequired(handler) {
  onLoginRequired = handler;
}

export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    return { status: 0, ok: false, data: { error: String(error.message || error) } };
  }
  noteServerDate(response);
  let data = {};
  try {
    data = await response.json();
  } catch {
    data = { error: `HTTP ${response.status}` };
  }
  if (data === null || typeof data !== "object") data = {};
  if (!response.ok && !data.error) data.error = `HTTP ${response.status}`;
  if (response.status === 401) onLoginRequired();
  return { status: response.status, ok: response.ok, data };
}

// ---- the server's words (GET /api/meta): roles, ticket kinds, pause reasons, queues...

/** Filled by the shell (shell.js) before the page's `onUser` runs; the pages keep no copy of these words. */
export const meta = {
  roles: [],
  supervisor_roles: [],
  customer_levels: [],
  ticket_types: [],
  ticket_statuses: [],
  departments: {},
  pause_reasons: [],
  kb_languages: [],
  queues: [],
  hotline: {},
};

export async function loadMeta() {
  const { ok, data } = await api("GET", "/api/meta");
  if (ok && data) Object.assign(meta, data);
  return ok;
}

// ---- websocket with reconnection

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
/** The close code of a socket whose session ended (ctiserver/web/ws.py). */
const SESSION_ENDED = 4401;

/**
 * The /ws feed (`path`: e.g. "/ws?watch=tickets" for the ticket changes). `onMessage(message)` gets each parsed message; `onStatus(state, retryMs)`
 * gets "connecting" | "online" | "offline". After a drop it reconnects with exponential
 * back-off (with jitter), reset once a connection has delivered its hello.
 */
export class LiveSocket {
  constructor({ onMessage, onStatus = () => {}, path = "/ws" }) {
    this.onMessage = onMessage;
    this.path = path;
    this.onStatus = onStatus;
    this.ws = null;
    this.timer = null;
    this.attempt = 0;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    if (!this.ws && !this.timer) this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, "page closed");
    }
  }

  connect() {
    this.timer = null;
    if (this.stopped) return;
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${window.location.host}${this.path}`);
    this.ws = ws;
    this.onStatus("connecting");
    ws.addEventListener("message", (event) => {
      if (ws !== this.ws) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!message || typeof message !== "object") return;
      if (message.type === "hello") {
        this.attempt = 0;
        this.onStatus("online");
      }
      try {
        this.onMessage(message);
      } catch (error) {
        console.error("cannot handle", message, error);
      }
    });
    ws.addEventListener("close", (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      if (event.code === SESSION_ENDED) this.sessionEnded();
      else this.scheduleReconnect();
    });
  }

  /** The socket's session ended (logout elsewhere, a new password, the account disabled):
   * asked at once, a 401 shows the login; a browser logged in again meanwhile reconnects. */
  async sessionEnded() {
    const { status } = await api("GET", "/api/me");
    if (status === 401 || this.stopped) return;
    if (status === 200) {
      this.attempt = 0;
      this.connect();
    } else {
      this.scheduleReconnect();
    }
  }

  async scheduleReconnect() {
    if (this.stopped) return;
    this.attempt += 1;
    if (this.attempt >= 3) {
      // refused several times: perhaps the session is gone (the handshake answers 401)
      const { status } = await api("GET", "/api/me");
      if (status === 401 || this.stopped) return;
    }
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.attempt - 1));
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.onStatus("offline", delay);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

/** Shows the socket's state in `node` (a small pill in the header). */
export function connectionIndicator(node) {
  let last = ["connecting", 0];
  const render = () => {
    const [state, retryMs] = last;
    node.hidden = false;
    node.className = `conn conn-${state}`;
    node.dataset.state = state;
    node.textContent = state === "offline"
      ? t("common.conn.offline", { seconds: Math.max(1, Math.round(retryMs / 1000)) })
      : t(`common.conn.${state}`);
  };
  onLangChange(render);
  return (state, retryMs = 0) => {
    last = [state, retryMs];
    render();
  };
}
