// The audit log (admins): who changed what and when, from GET /api/audit, filtered by the
// actor, the action (exactly, or a prefix ending in *), the kind and number of the record, and
// a time range. Everything from the server goes in with textContent (el's text), never as HTML.
import { $, api, el, fill, formatTime, onLangChange, t, tOr } from "../common.js";
import { startPage } from "../shell.js";

/** The kinds of record the routes act on (the routes' `target`, web/auditing.py). */
const KINDS = [
  "ticket", "customer", "user", "agent", "call", "callback", "recording", "visit", "flow", "article",
  "branch", "dispatch_rule",
];

const state = { events: [], error: null, request: 0 };

function query() {
  const params = new URLSearchParams();
  const text = { user: "aud-user", action: "aud-action", target_kind: "aud-kind", target_id: "aud-record" };
  for (const [name, id] of Object.entries(text)) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  for (const [name, id] of [["from", "aud-from"], ["to", "aud-to"]]) {
    const value = $(id).value;
    if (value) params.set(name, new Date(value).toISOString());
  }
  params.set("limit", "500");
  return params.toString();
}

async function search() {
  const number = ++state.request;
  const { ok, data } = await api("GET", `/api/audit?${query()}`);
  if (number !== state.request) return;
  state.events = ok ? data.events || [] : [];
  state.error = ok ? null : data.error;
  render();
}

function record(event) {
  if (!event.target_kind && !event.target_id) return "—";
  const kind = event.target_kind ? tOr("aud.kind", event.target_kind) : "";
  return [kind, event.target_id].filter(Boolean).join(" ");
}

function status(event) {
  if (event.status === null || event.status === undefined) return "";
  return event.status < 400 ? t("aud.ok", { status: event.status }) : t("aud.refused", { status: event.status });
}

function render() {
  const banner = $("aud-error");
  banner.hidden = !state.error;
  banner.textContent = state.error ? t("aud.error", { error: state.error }) : "";
  if (!state.events.length) {
    fill($("aud-rows"), el("tr", {}, [el("td", { colspan: "7", className: "muted", text: t("aud.none"), testid: "aud-none" })]));
    return;
  }
  fill($("aud-rows"), ...state.events.map((event) => el("tr", { testid: "aud-row", dataset: { id: String(event.id) } }, [
    el("td", { className: "mono", text: formatTime(event.at) }),
    el("td", { className: "mono", text: event.username }),
    el("td", { className: "mono", text: event.action }),
    el("td", { text: record(event) }),
    el("td", { className: event.status >= 400 ? "bad-text" : "", text: status(event) }),
    el("td", { className: "mono small", text: event.details ? JSON.stringify(event.details) : "" }),
    el("td", { className: "mono muted", text: event.client || "" }),
  ])));
}

function fillKinds() {
  const chosen = $("aud-kind").value;
  fill($("aud-kind"), el("option", { value: "", text: t("aud.every_kind") }),
    ...KINDS.map((kind) => el("option", { value: kind, text: tOr("aud.kind", kind) })));
  $("aud-kind").value = chosen;
}

async function begin() {
  fillKinds();
  const users = await api("GET", "/api/users");
  if (users.ok) {
    fill($("aud-users"), ...(users.data.users || []).map((u) => el("option", { value: u.username, text: u.display_name || "" })));
  }
  const params = new URLSearchParams(window.location.search);
  for (const [name, id] of [["user", "aud-user"], ["action", "aud-action"], ["kind", "aud-kind"], ["record", "aud-record"]]) {
    if (params.get(name)) $(id).value = params.get(name);
  }
  await search();
}

function setup() {
  $("aud-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search();
  });
  onLangChange(() => {
    fillKinds();
    render();
  });
  startPage({ page: "audit", onUser: begin });
}

setup();
