// The department work view (/ui/department.html): staff's tickets, most urgent first, with the
// SLA clock; a ticket's fields, history and workflow actions. Ticket changes arrive live over
// /ws?watch=tickets. Every text from the server goes in with textContent.

import {
  $, LiveSocket, api, connectionIndicator, el, fill, formatDate, formatTime, meta, onLangChange, parseTime, serverNow,
  show, t, tOr,
} from "./common.js";
import { pageById, startPage } from "./shell.js";

const DONE = ["completed", "return_visit", "closed", "cancelled"];
const PAUSED = ["waiting_customer", "waiting_parts"];
const FINAL = ["closed", "cancelled"];
const VIEWERS = pageById("department").roles;
const WINDOW_FIELDS = ["appointment_start", "appointment_end", "engineer_id"];
// status -> the actions offered: [action, target status or a form]
const ACTIONS = {
  dispatched: [["schedule", "form"], ["start", "in_progress"]],
  scheduled: [["schedule", "form"], ["start", "in_progress"]],
  reopened: [["start", "in_progress"]],
  in_progress: [["wait_parts", "waiting_parts"], ["wait_customer", "waiting_customer"], ["complete", "completed"]],
  waiting_parts: [["resume", "in_progress"]],
  waiting_customer: [["resume", "in_progress"]],
};

const view = {
  user: null,
  context: null, // GET /api/workview
  tickets: new Map(), // id -> TICKET
  detail: null, // GET /api/tickets/{id}
  openId: null,
  socket: null,
  hellos: 0,
  form: null, // "schedule" | null
  changing: null, // the id of the ticket whose change this page is sending
  timeRequested: new Set(), // ids of tickets whose customer asked for another time, pushed live
};

// ---- order and SLA, as the server orders GET /api/tickets

function sortKey(ticket) {
  const due = parseTime(ticket.due_at);
  return [
    DONE.includes(ticket.status) ? 1 : 0,
    -(ticket.escalation_level || 0),
    ticket.urgency === "urgent" ? 0 : 1,
    due === null ? 1 : 0,
    due ?? 0,
    -ticket.id,
  ];
}

function compare(a, b) {
  const x = sortKey(a);
  const y = sortKey(b);
  for (let i = 0; i < x.length; i += 1) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

/** 95 min -> "1h 35m"; 50 h -> "2d 2h". */
function span(ms) {
  const minutes = Math.max(1, Math.round(Math.abs(ms) / 60000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days) return t("dept.span.dh", { d: days, h: hours });
  if (hours) return t("dept.span.hm", { h: hours, m: minutes % 60 });
  return t("dept.span.m", { m: minutes });
}

/** [state, text]: due (in), overdue (by), paused, done; none when no clock runs. */
function slaOf(status, dueAt) {
  if (DONE.includes(status)) return ["done", t("dept.sla.done")];
  if (PAUSED.includes(status)) return ["paused", t("dept.sla.paused")];
  const due = parseTime(dueAt);
  if (due === null) return ["none", ""];
  const left = due - serverNow();
  return left >= 0 ? ["due", t("dept.sla.due_in", { span: span(left) })] : ["overdue", t("dept.sla.overdue", { span: span(left) })];
}

function slaBadge(status, dueAt) {
  const [state, text] = slaOf(status, dueAt);
  if (state === "none") return null;
  return el("span", { className: `sla sla-${state}`, text, testid: "sla", dataset: { state } });
}

// ---- the list

function filters() {
  const ctx = view.context || {};
  return {
    department: ctx.fixed ? null : $("department").value || null,
    branch: ctx.fixed ? null : $("branch").value ? Number($("branch").value) : null,
    status: $("status-filter").value || null,
  };
}

function inView(ticket) {
  const { department, branch, status } = filters();
  return (!department || ticket.department === department)
    && (!branch || ticket.branch_id === branch)
    && (!status || ticket.status === status);
}

function renderList() {
  const rows = [...view.tickets.values()].sort(compare);
  const list = $("tickets");
  fill(list, ...rows.map((ticket) => el("li", {}, [ticketRow(ticket)])));
  $("ticket-count").textContent = String(rows.length);
  $("no-tickets").hidden = rows.length > 0;
}

function ticketRow(ticket) {
  const classes = ["dept-ticket"];
  if (ticket.escalation_level > 0) classes.push("esc");
  else if (ticket.urgency === "urgent") classes.push("urgent");
  return el("button", {
    type: "button", className: classes.join(" "), testid: "ticket-row",
    dataset: { number: ticket.number, status: ticket.status, id: String(ticket.id) },
    "aria-current": ticket.id === view.openId ? "true" : "false",
    on: { click: () => openTicket(ticket.id) },
  }, [
    el("span", { className: "strong mono", text: ticket.number }),
    slaBadge(ticket.status, ticket.due_at) || el("span"),
    el("span", { className: "meta-line", testid: "row-status", text: [
      tOr("type", ticket.type), tOr("tstatus", ticket.status),
      ticket.urgency === "urgent" ? t("dept.urgent") : null,
      ticket.escalation_level > 0 ? t("dept.escalated", { level: ticket.escalation_level }) : null,
    ].filter(Boolean).join(" · ") }),
    view.timeRequested.has(ticket.id)
      ? el("span", { className: "dept-asked", testid: "row-time-requested", text: t("dept.time_requested") })
      : el("span"),
    el("span", { className: "summary", text: ticket.summary }),
  ]);
}

async function loadList() {
  const { department, branch, status } = filters();
  const query = new URLSearchParams();
  if (department) query.set("department", department);
  if (branch) query.set("branch_id", String(branch));
  if (status) query.set("status", status);
  const { ok, data } = await api("GET", `/api/tickets?${query}`);
  $("list-error").hidden = ok;
  if (!ok) {
    $("list-error").textContent = t("dept.load_failed", { error: data.error });
    return;
  }
  view.tickets = new Map(data.tickets.map((ticket) => [ticket.id, ticket]));
  renderList();
}

async function loadContext() {
  const query = new URLSearchParams();
  if (view.context && !view.context.fixed) {
    if ($("department").value) query.set("department", $("department").value);
    if ($("branch").value) query.set("branch_id", $("branch").value);
  }
  const { ok, status, data } = await api("GET", `/api/workview?${query}`);
  if (status === 403) return stop("denied");
  if (!ok) return false;
  const first = view.context === null;
  view.context = data;
  if (first) fillChoices();
  renderTitle();
  return true;
}

function fillChoices() {
  const ctx = view.context;
  $("department-choice").hidden = ctx.fixed;
  $("branch-choice").hidden = ctx.fixed;
  const departments = $("department");
  fill(departments, el("option", { value: "", text: t("dept.all") }),
    ...Object.entries(ctx.departments).map(([code, name]) => el("option", { value: code, text: name })));
  const branches = $("branch");
  fill(branches, el("option", { value: "", text: t("dept.all") }),
    ...ctx.branches.map((b) => el("option", { value: String(b.id), text: b.name })));
  const statuses = $("status-filter");
  fill(statuses, el("option", { value: "", text: t("dept.all") }),
    ...meta.ticket_statuses.map((s) => el("option", { value: s, text: tOr("tstatus", s) })));
}

function renderTitle() {
  const ctx = view.context;
  if (!ctx) return;
  const department = ctx.department ? ctx.departments[ctx.department] || ctx.department : null;
  const branch = ctx.branch_id ? (ctx.branches.find((b) => b.id === ctx.branch_id) || {}).name : null;
  $("list-title").textContent = department
    ? [department, branch].filter(Boolean).join(" · ")
    : t(ctx.fixed ? "dept.mine" : "dept.every_department");
}

// ---- one ticket

async function openTicket(id, notice = null, kind = "bad") {
  view.openId = id;
  view.form = null;
  const { ok, status, data } = await api("GET", `/api/tickets/${id}`);
  if (view.openId !== id) return;
  $("detail").hidden = false;
  $("main").classList.add("showing-detail");
  if (!ok) {
    view.detail = null;
    showNotice(t(status === 404 || status === 403 ? "dept.not_yours" : "dept.load_failed", { error: data.error }));
    fill($("detail-body"));
    return;
  }
  view.detail = data.ticket;
  if (view.tickets.has(id) || inView(data.ticket)) view.tickets.set(id, pick(data.ticket));
  showNotice(notice, kind);
  renderDetail();
  renderList();
}

/** The TICKET part of a ticket's detail, for the list. */
function pick(detail) {
  const keys = ["id", "number", "type", "status", "version", "department", "branch_id", "engineer_id", "urgency",
    "summary", "fields", "customer_id", "product_id", "call_linkedid", "source", "created_at", "due_at", "escalation_level"];
  return Object.fromEntries(keys.map((k) => [k, detail[k]]));
}

function closeTicket() {
  view.openId = null;
  view.detail = null;
  $("detail").hidden = true;
  $("main").classList.remove("showing-detail");
  renderList();
}

function showNotice(text, kind = "bad") {
  const node = $("detail-notice");
  node.hidden = !text;
  node.className = kind === "info" ? "dept-notice info" : "dept-notice";
  node.textContent = text || "";
}

function renderDetail() {
  const ticket = view.detail;
  if (!ticket) return;
  const sla = ticket.sla;
  const due = sla.paused ? null : ticket.due_at;
  fill($("detail-body"),
    el("h2", {}, [el("span", { className: "mono", text: ticket.number, testid: "detail-number" }), " ",
      el("span", { text: tOr("tstatus", ticket.status), testid: "detail-status", dataset: { status: ticket.status } })]),
    el("p", { className: "summary", text: ticket.summary, testid: "detail-summary" }),
    partiesBox(ticket),
    el("p", {}, [slaBadge(ticket.status, due), " ", el("span", { className: "muted", text: slaLine(sla) })]),
    el("dl", { className: "dept-fields", testid: "detail-fields" }, fieldRows(ticket)),
    actions(ticket),
    view.form === "schedule" ? scheduleForm(ticket) : null,
    FINAL.includes(ticket.status) ? null : visitForm(ticket),
    el("h3", { text: t("dept.history") }),
    el("ol", { className: "dept-history", testid: "history" }, ticket.history.map(historyRow)),
  );
}

// ---- who and what the ticket is about: the engineer calls and visits from here

const ADDRESS_PARTS = ["province", "city", "district", "street", "detail"];

function addressText(address) {
  return ADDRESS_PARTS.map((part) => (address || {})[part]).filter(Boolean).join(" ");
}

/** A tel: link of the number's dialable characters only (the text shows it as entered). */
function phoneLink(phone) {
  const dial = String(phone.number || "").replace(/[^0-9+]/g, "");
  return el("li", {}, [
    el("a", { href: `tel:${dial}`, className: "mono", testid: "customer-phone", text: phone.number || "" }),
    phone.label ? el("span", { className: "tag", text: tOr("phonekind", phone.label) }) : null,
  ]);
}

function partiesBox(ticket) {
  const customer = ticket.customer;
  const product = ticket.product;
  if (!customer && !product) return null;
  const rows = [];
  if (customer) {
    const address = addressText(customer.address);
    const map = address ? el("a", {
      href: `https://uri.amap.com/search?keyword=${encodeURIComponent(address)}`, target: "_blank",
      rel: "noopener noreferrer", testid: "customer-map", text: t("dept.map"),
    }) : null;
    rows.push(
      el("dt", { text: t("dept.customer") }),
      el("dd", { testid: "customer-name" }, [customer.name,
        customer.level === "vip" ? el("span", { className: "tag vip", text: t("customer.vip") }) : null]),
      el("dt", { text: t("customer.phones") }),
      el("dd", {}, [el("ul", { className: "inline-list", testid: "customer-phones" }, customer.phones.map(phoneLink))]),
      el("dt", { text: t("customer.address") }),
      el("dd", { testid: "customer-address" }, [address || "—", map ? " " : null, map]),
    );
  }
  if (product) {
    const what = [product.category, product.model].filter(Boolean).join(" ");
    const serial = product.serial ? t("customer.serial", { serial: product.serial }) : "";
    const installed = product.installed_on ? t("customer.installed_on", { date: formatDate(product.installed_on) }) : "";
    rows.push(
      el("dt", { text: t("dept.product") }),
      el("dd", { testid: "product" }, [what, " ", el("span", { className: "muted", text: [serial, installed].filter(Boolean).join(" · ") })]),
      el("dt", { text: t("dept.product_history") }),
      el("dd", {}, [product.tickets.length
        ? el("ul", { className: "dept-repairs", testid: "product-history" }, product.tickets.map(repairRow))
        : el("span", { className: "muted", testid: "product-history-none", text: t("dept.product_history_none") })]),
    );
  }
  return el("section", { className: "dept-parties", testid: "parties" }, [el("dl", { className: "dept-fields" }, rows)]);
}

function repairRow(other) {
  return el("li", { testid: "product-ticket" }, [
    el("span", { className: "mono", text: other.number }), " ",
    el("span", { className: "tag", text: tOr("tstatus", other.status) }), " ",
    el("span", { text: other.summary }), " ",
    el("span", { className: "muted", text: formatDate(other.created_at) }),
    other.result ? el("span", { className: "muted", text: ` · ${tOr("tchoice", other.result)}` }) : null,
  ]);
}

function slaLine(sla) {
  const parts = [];
  if (sla.breached) parts.push(t("dept.sla.breached"));
  if (sla.paused) parts.push(t("dept.sla.paused_for", { span: span(sla.paused_seconds * 1000) }));
  if (sla.resolution_due && !sla.completed_at) parts.push(t("dept.sla.resolve_by", { at: formatTime(sla.resolution_due) }));
  return parts.join(" · ");
}

function fieldRows(ticket) {
  const rows = [
    ["dept.kind_label", tOr("type", ticket.type)],
    ["dept.department", ticket.department_name || ticket.department],
    ["dept.branch", ticket.branch ? ticket.branch.name : t("dept.no_branch")],
    ["dept.engineer", ticket.engineer ? ticket.engineer.display_name || ticket.engineer.username : "—"],
    ["dept.appointment", ticket.appointment_start
      ? `${formatTime(ticket.appointment_start)} – ${formatTime(ticket.appointment_end)}` : "—"],
  ];
  for (const spec of meta.ticket_fields?.[ticket.type] || []) {
    if (WINDOW_FIELDS.includes(spec.key)) continue;
    const value = ticket.fields[spec.key];
    if (value === undefined || value === null || value === "") continue;
    rows.push([`tfield.${spec.key}`, shown(spec, value)]);
  }
  return rows.flatMap(([key, value]) => [el("dt", { text: t(key) }), el("dd", { text: value, dataset: { key } })]);
}

function shown(spec, value) {
  if (spec.type === "list") return Array.isArray(value) ? value.join(", ") : String(value);
  if (spec.type === "choice") return tOr("tchoice", value);
  if (spec.type === "datetime") return formatTime(value);
  return String(value);
}

function actions(ticket) {
  const buttons = (ACTIONS[ticket.status] || []).map(([action, target]) => el("button", {
    type: "button", className: action === "complete" || action === "start" ? "go" : "",
    testid: `act-${action}`, text: t(`dept.act.${action}`),
    on: { click: () => (target === "form" ? toggleSchedule() : move(ticket, target)) },
  }));
  return buttons.length ? el("div", { className: "dept-actions" }, buttons) : null;
}

function toggleSchedule() {
  view.form = view.form === "schedule" ? null : "schedule";
  renderDetail();
}

/** A datetime-local value (local time, minutes) for an ISO moment, or one hour ahead. */
function localInput(iso, hoursAhead) {
  const ms = parseTime(iso) ?? Math.ceil(serverNow() / 3600000 + hoursAhead) * 3600000;
  const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return date.toISOString().slice(0, 16);
}

function scheduleForm(ticket) {
  const engineers = (view.context?.engineers || []).map((e) => el("option", {
    value: String(e.id), text: e.display_name || e.username, selected: e.id === ticket.engineer_id,
  }));
  const form = el("form", { className: "dept-form", testid: "schedule-form" }, [
    el("label", {}, [t("dept.window_start"), el("input", { type: "datetime-local", name: "start", required: true,
      value: localInput(ticket.appointment_start, 1) })]),
    el("label", {}, [t("dept.window_end"), el("input", { type: "datetime-local", name: "end", required: true,
      value: localInput(ticket.appointment_end, 3) })]),
    el("label", {}, [t("dept.engineer"), el("select", { name: "engineer" },
      [el("option", { value: "", text: "—" }), ...engineers])]),
    el("button", { type: "submit", className: "primary", testid: "schedule-submit", text: t("dept.act.schedule_save") }),
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const start = new Date(String(data.get("start"))).toISOString();
    const end = new Date(String(data.get("end"))).toISOString();
    const engineer = data.get("engineer") ? Number(data.get("engineer")) : null;
    await change(ticket, `/api/tickets/${ticket.id}/schedule`, { start, end, engineer_id: engineer, version: ticket.version });
  });
  return form;
}

function visitForm(ticket) {
  const specs = (meta.ticket_fields?.[ticket.type] || []).filter((spec) => !WINDOW_FIELDS.includes(spec.key) && spec.type !== "user");
  if (!specs.length) return null;
  const form = el("form", { className: "dept-form", testid: "visit-form" },
    [el("h3", { text: t("dept.visit") }), ...specs.map((spec) => fieldInput(spec, ticket.fields[spec.key])),
      el("button", { type: "submit", className: "primary", testid: "visit-submit", text: t("dept.act.record") })]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changed = {};
    for (const spec of specs) {
      const value = readField(spec, form.elements.namedItem(spec.key).value);
      if (JSON.stringify(value) !== JSON.stringify(ticket.fields[spec.key] ?? null)) changed[spec.key] = value;
    }
    if (!Object.keys(changed).length) return showNotice(t("dept.nothing_changed"), "info");
    await change(ticket, `/api/tickets/${ticket.id}`, { fields: changed, version: ticket.version }, "PATCH");
  });
  return form;
}

function fieldInput(spec, value) {
  const label = t(`tfield.${spec.key}`);
  const name = spec.key;
  const testid = `field-${spec.key}`;
  let input;
  if (spec.type === "choice") {
    input = el("select", { name, testid }, [el("option", { value: "", text: "—" }),
      ...spec.choices.map((c) => el("option", { value: c, text: tOr("tchoice", c), selected: c === value }))]);
  } else if (spec.type === "list") {
    input = el("textarea", { name, testid, rows: 2, placeholder: t("dept.list_hint") });
    input.value = Array.isArray(value) ? value.join("\n") : "";
  } else if (spec.type === "number" || spec.type === "integer") {
    input = el("input", { name, testid, type: "number", inputmode: "decimal", step: spec.type === "number" ? "any" : "1",
      min: spec.minimum ?? undefined, max: spec.maximum ?? undefined, value: value ?? "" });
  } else {
    input = el("input", { name, testid, maxlength: spec.max_length || undefined, value: value ?? "" });
  }
  return el("label", {}, [label, input]);
}

function readField(spec, raw) {
  const text = String(raw ?? "").trim();
  if (spec.type === "list") {
    const items = text.split(/[\n,，]/).map((s) => s.trim()).filter(Boolean);
    return items.length ? items : null;
  }
  if (!text) return null;
  if (spec.type === "number" || spec.type === "integer") return Number(text);
  return text;
}

function historyRow(event) {
  const what = event.from && event.to && event.from !== event.to
    ? `${tOr("tstatus", event.from)} → ${tOr("tstatus", event.to)}` : "";
  return el("li", { dataset: { kind: event.kind }, testid: "history-row" }, [
    el("span", { className: "strong", text: tOr("tevent", event.kind) }), " ",
    el("span", { text: what }), " ",
    el("span", { className: "muted", text: `${formatTime(event.at)} ${tOr("actor", event.who)}` }),
    event.note ? el("div", { text: event.note }) : null,
  ]);
}

async function move(ticket, status) {
  await change(ticket, `/api/tickets/${ticket.id}/status`, { status, version: ticket.version });
}

/** A change with the version shown: a conflict (409) is said plainly and the ticket reloaded. */
async function change(ticket, path, body, method = "POST") {
  for (const button of $("detail-body").querySelectorAll("button")) button.disabled = true;
  // the push of this very change may come before the answer: it is no news (onTicket), the
  // ticket is read again below whatever the answer, with any change made elsewhere meanwhile
  view.changing = ticket.id;
  try {
    const { ok, status, data } = await api(method, path, body);
    if (ok) {
      view.tickets.set(ticket.id, data.ticket);
      if (view.detail && view.detail.id === ticket.id) view.detail.version = data.ticket.version; // its push is no news
      await openTicket(ticket.id);
    } else if (status === 409) {
      await openTicket(ticket.id, t("dept.conflict", { error: data.error }));
    } else {
      await openTicket(ticket.id, t("dept.failed", { error: data.error }));
    }
  } finally {
    view.changing = null;
  }
}

// ---- live

function onMessage(msg) {
  switch (msg.type) {
    case "hello":
      view.hellos += 1;
      if (msg.user && !VIEWERS.includes(msg.user.role)) stop("denied");
      else if (view.hellos > 1) loadList(); // catch up after a reconnection
      break;
    case "ticket":
      noteCustomerAnswer(msg.ticket, msg.event);
      onTicket(msg.ticket);
      break;
    case "ticket_gone":
      view.tickets.delete(msg.ticket_id);
      renderList();
      if (view.openId === msg.ticket_id) {
        closeTicket();
      }
      break;
    default:
      break;
  }
}

/** A customer asking for another time by phone (the IVR's repair progress): the row says so
 * until the ticket is scheduled again or the customer confirms (the history keeps it). */
function noteCustomerAnswer(ticket, event) {
  if (!ticket || !event) return;
  if (event.kind === "time_requested") view.timeRequested.add(ticket.id);
  else if (event.kind === "scheduled" || event.kind === "confirmed") view.timeRequested.delete(ticket.id);
}

function onTicket(ticket) {
  if (!ticket || !ticket.id) return;
  if (inView(ticket)) view.tickets.set(ticket.id, ticket);
  else view.tickets.delete(ticket.id);
  renderList();
  if (view.openId === ticket.id && view.detail && view.detail.version !== ticket.version && view.changing !== ticket.id) {
    openTicket(ticket.id, t("dept.changed_elsewhere"), "info");
  }
}

function stop(section) {
  if (view.socket) view.socket.stop();
  show(section);
}

async function begin(user) {
  view.user = user;
  if (!(await loadContext())) return;
  if (!view.socket) {
    view.socket = new LiveSocket({ onMessage, onStatus: connectionIndicator($("conn")), path: "/ws?watch=tickets" });
  }
  view.socket.start();
  await loadList();
}

function end() {
  if (view.socket) view.socket.stop();
  Object.assign(view, { user: null, context: null, detail: null, openId: null, hellos: 0, form: null, changing: null });
  view.tickets.clear();
  $("conn").hidden = true;
  closeTicket();
}

function init() {
  $("back").addEventListener("click", closeTicket);
  for (const id of ["department", "branch"]) {
    $(id).addEventListener("change", async () => {
      await loadContext();
      await loadList();
    });
  }
  $("status-filter").addEventListener("change", loadList);
  onLangChange(() => {
    if (view.context) {
      const selected = ["department", "branch", "status-filter"].map((id) => $(id).value);
      fillChoices();
      ["department", "branch", "status-filter"].forEach((id, i) => { $(id).value = selected[i]; });
      renderTitle();
    }
    renderList();
    renderDetail();
  });
  setInterval(() => renderList(), 30000); // the SLA badges count down
  startPage({ page: "department", onUser: begin, onLogout: end });
}

init();
