// The agent desk: the agent's state and actions, the screen pop of their calls (driven only
// by the websocket's `pop` messages), customer cards, tickets, history and knowledge base.
// Server data is inserted with textContent only (see el() in common.js).

import {
  $, LiveSocket, api, connectionIndicator, el, fill, formatDate, formatDuration, formatTime, lang, meta,
  onLangChange, parseTime, refreshTimers, serverNow, t, tOr,
} from "./common.js";
import { startPage } from "./shell.js";
import { renderCallbackOffer, showCallbackOffer } from "./agent-callback.js";
import { loadVisits, onVisitChanged, renderVisits } from "./agent-visits.js";
import { buildPhoneBox, hangup, renderPhone, startPhone, stopPhone } from "./phone.js";
import { installDeskKeys } from "./desk-keys.js";
import { optOutToggle } from "./sms-notices.js";

/** IVR variables shown first, in this order; the others follow (internal ones skipped). */
const KEY_VARIABLES = ["language", "product", "issue", "order_number", "ticket_number"];
const HIDDEN_VARIABLES = new Set(["caller_number", "caller_name"]);
/** after a reconnection, how long to wait for the server to send the current pop again */
const RESEND_GRACE_MS = 2500;
const MESSAGE_MS = 6000;

const desk = {
  user: null,
  agent: null,
  hasAgent: true,
  agentFromSocket: false,
  pop: null,
  socket: null,
  hellos: 0,
  popSinceHello: false,
  history: null, // {customer, data}
  kb: { results: [], article: null, seq: 0, timer: null },
  messageTimer: null,
};

// ---- small helpers

function L(tag, key, options = {}) {
  return el(tag, { ...options, "data-i18n": key, text: t(key) });
}

function message(text) {
  const node = $("desk-message");
  node.textContent = text;
  node.hidden = !text;
  clearTimeout(desk.messageTimer);
  if (text) desk.messageTimer = setTimeout(() => { node.hidden = true; }, MESSAGE_MS);
}

function stateLabel(agent) {
  if (!agent) return t("state.logged_out");
  if (agent.state === "paused" && agent.paused_by) {
    const reason = agent.reason ? tOr("reason", agent.reason) : t("state.paused");
    return t("state.paused_by", { reason, by: agent.paused_by });
  }
  if (agent.state === "paused" && agent.reason) {
    return t("state.paused_reason", { reason: tOr("reason", agent.reason) });
  }
  return tOr("state", agent.state);
}

function addressText(address) {
  if (!address) return "";
  return ["province", "city", "district", "street", "detail"]
    .map((part) => address[part])
    .filter((part) => part)
    .join(" ");
}

function productText(product) {
  return [tOr("category", product.category), product.model].filter(Boolean).join(" ");
}

// ---- the agent's state and actions

function setAgent(agent) {
  desk.agent = agent;
  renderAgent();
}

function renderAgent() {
  const agent = desk.agent;
  $("no-agent").hidden = desk.hasAgent;
  $("agent-id").hidden = !agent;
  $("state-box").hidden = !desk.hasAgent;
  $("controls").hidden = !desk.hasAgent;
  if (agent) {
    $("agent-name").textContent = agent.name || "";
    $("agent-ext").textContent = agent.extension ? t("agent.ext", { ext: agent.extension }) : "";
    $("agent-id").title = (agent.queues || []).length ? t("agent.queues", { queues: agent.queues.map((q) => tOr("queue", q)).join("、") }) : "";
  }
  const state = agent ? agent.state : "logged_out";
  const badge = $("state");
  badge.dataset.state = state;
  badge.className = `state-badge state-${state}`;
  badge.textContent = stateLabel(agent);
  const timer = $("state-timer");
  const since = agent ? parseTime(agent.since) : null;
  if (since !== null && state !== "logged_out") timer.dataset.tickFrom = String(since);
  else {
    delete timer.dataset.tickFrom;
    timer.textContent = "";
  }
  const loggedOut = state === "logged_out";
  const busy = state === "ringing" || state === "on_call";
  $("login-button").hidden = !loggedOut;
  $("login-button").disabled = false; // agentAction disabled it while Asterisk confirmed
  $("logout-button").hidden = loggedOut;
  $("logout-button").disabled = busy;
  $("ready-button").disabled = !(state === "paused" || state === "wrap_up");
  $("pause-button").disabled = loggedOut;
  $("pause-reason").disabled = loggedOut;
  if (state === "paused" && agent.reason && [...$("pause-reason").options].some((o) => o.value === agent.reason)) {
    $("pause-reason").value = agent.reason;
  }
  refreshTimers($("state-box"));
}

async function agentAction(path, body) {
  // no second click while Asterisk confirms (up to a few seconds); renderAgent re-enables
  for (const control of document.querySelectorAll("#controls button, #controls select")) control.disabled = true;
  try {
    const { ok, data } = await api("POST", path, body ?? {});
    if (ok && data.agent) {
      desk.agent = data.agent;
      message("");
    } else {
      message(t("common.error", { error: data.error || "?" }));
    }
  } finally {
    renderAgent();
  }
}

// ---- the screen pop

function onPop(event, pop) {
  if (!pop || !pop.call_id) return;
  const current = desk.pop;
  const same = current && current.data.call_id === pop.call_id;
  if (same) desk.popSinceHello = true;
  if (event === "ringing" || event === "answered") {
    const status = event;
    if (same && current.status !== "ended") {
      current.data = { ...current.data, ...pop, customers: current.data.customers };
      current.status = status;
      renderPopHead();
      renderCaller();
      renderCallTickets();
      return;
    }
    if (same && event === "answered") return; // a late duplicate for an ended call
    if (same && current.status === "ended" && event === "ringing") return;
    newPop(pop, status);
    desk.popSinceHello = true;
  } else if (event === "ended") {
    if (!same) return;
    current.data = { ...current.data, ...pop, customers: current.data.customers };
    current.status = "ended";
    renderPopHead();
  } else if (event === "withdrawn") {
    if (same) clearPop();
  }
}

function newPop(data, status) {
  const customers = Array.isArray(data.customers) ? data.customers.slice() : [];
  desk.pop = {
    data: { ...data, customers },
    status,
    selectedId: customers.length === 1 ? customers[0].id : null,
    localEnd: null,
    ticketSummaryPrefill: "",
  };
  buildPop();
  if (desk.pop.selectedId !== null) loadHistory(selectedCustomer());
  else clearHistory();
  showTab("history");
}

function clearPop() {
  desk.pop = null;
  $("pop").replaceChildren();
  $("pop").hidden = true;
  $("pop-empty").hidden = false;
}

function selectedCustomer() {
  const pop = desk.pop;
  if (!pop || pop.selectedId === null) return null;
  return pop.data.customers.find((card) => card.id === pop.selectedId) || null;
}

/** Builds the pop's skeleton once per call; the parts are re-rendered in place. */
function buildPop() {
  const article = $("pop");
  fill(article,
    el("header", { className: "pop-head", id: "pop-head" }),
    el("div", { className: "pop-body" }, [
      el("div", { className: "pop-left" }, [
        el("section", { className: "caller-box", id: "pop-caller" }),
        buildTransferBox(),
        el("section", { className: "call-tickets-box", id: "pop-call-tickets", testid: "pop-call-tickets" }),
        el("section", { className: "ivr-box", id: "pop-ivr" }),
      ]),
      el("div", { className: "pop-right" }, [
        el("section", { className: "customer-box", id: "pop-customers" }),
        buildTicketBox(),
      ]),
    ]),
  );
  article.dataset.callId = desk.pop.data.call_id;
  article.hidden = false;
  $("pop-empty").hidden = true;
  renderPopHead();
  renderCaller();
  renderCallTickets();
  renderIvr();
  renderCustomers();
  updateTicketForm();
}

/** The tickets opened on this call before it rang here (the IVR's, an earlier agent's). */
function renderCallTickets() {
  const box = $("pop-call-tickets");
  if (!box || !desk.pop) return;
  const tickets = desk.pop.data.tickets || [];
  box.hidden = !tickets.length;
  const list = el("ul", { className: "rows" });
  for (const ticket of tickets) list.append(ticketRow(ticket));
  fill(box, el("h3", {}, [t("pop.call_tickets"), " ", el("span", { className: "count", text: String(tickets.length) })]), list);
}

function renderPopHead() {
  const pop = desk.pop;
  if (!pop) return;
  const { data, status } = pop;
  $("pop").dataset.status = status;
  const head = $("pop-head");
  $("transfer-box").hidden = status !== "answered";
  if (status !== "answered") consulting(false);
  const timer = el("span", { className: "pop-timer", testid: "pop-timer" });
  let timerLabel = t(`pop.timer.${status}`);
  const ringingAt = parseTime(data.ringing_at);
  const answeredAt = parseTime(data.answered_at);
  const endedAt = parseTime(data.ended_at);
  if (status === "ringing") {
    timer.dataset.tickFrom = String(ringingAt ?? serverNow());
  } else if (status === "answered") {
    timer.dataset.tickFrom = String(answeredAt ?? serverNow());
  } else if (answeredAt !== null) {
    timer.dataset.tickFrom = String(answeredAt);
    timer.dataset.tickStop = String(endedAt ?? pop.localEnd ?? serverNow());
  } else {
    timerLabel = t("pop.not_answered");
  }
  const close = status === "ended"
    ? el("button", { type: "button", className: "small", testid: "pop-close", text: t("common.close"), on: { click: clearPop } })
    : null;
  fill(head,
    el("span", {
      className: `pop-status status-${status}`, testid: "pop-status", "data-status": status,
      text: t(`pop.status.${status}`),
    }),
    el("span", { className: "pop-timer-box" }, [el("span", { className: "muted", text: timerLabel }), " ", timer]),
    el("span", { className: "spacer" }),
    data.queue ? el("span", { className: "pop-queue", text: `${t("pop.queue")} · ${tOr("queue", data.queue)}` }) : null,
    close,
  );
  refreshTimers(head);
}

function buildTransferBox() {
  const input = el("input", {
    name: "extension", inputmode: "numeric", pattern: "[0-9]{1,16}", required: true, size: 6,
    testid: "transfer-extension",
  });
  const form = el("form", { className: "transfer-box", id: "transfer-box", hidden: true }, [
    el("label", {}, [L("span", "pop.transfer_to"), " ", input]),
    L("button", "pop.transfer", { type: "submit", testid: "transfer-submit" }),
    L("button", "pop.transfer_attended", {
      type: "button", className: "ghost", testid: "transfer-attended", on: { click: consultTransfer },
    }),
    L("button", "pop.transfer_complete", {
      type: "button", className: "go", id: "transfer-complete", testid: "transfer-complete", hidden: true, on: { click: completeTransfer },
    }),
    L("button", "pop.transfer_cancel", {
      type: "button", className: "ghost", id: "transfer-cancel", testid: "transfer-cancel", hidden: true, on: { click: cancelTransfer },
    }),
    L("button", "pop.hangup", {
      type: "button", className: "warn", testid: "pop-hangup", on: { click: hangupCall },
    }),
    L("button", "pop.recording_pause", {
      type: "button", className: "ghost", testid: "recording-pause", "data-paused": "false",
      on: { click: (event) => toggleRecording(event.currentTarget) },
    }),
    el("p", { className: "bad-text", id: "transfer-error", testid: "transfer-error", role: "status" }),
  ]);
  form.addEventListener("submit", submitTransfer);
  return form;
}

/** Pause the call's recording while the caller says what must not be kept (a card number), then resume. */
async function toggleRecording(button) {
  const paused = button.dataset.paused !== "true";
  $("transfer-error").textContent = "";
  const { ok, data } = await api("POST", "/api/agent/recording", { paused });
  if (!ok) {
    $("transfer-error").textContent = data.error;
    return;
  }
  button.dataset.paused = String(Boolean(data.paused));
  const key = data.paused ? "pop.recording_resume" : "pop.recording_pause";
  button.dataset.i18n = key;
  button.textContent = t(key);
}

/** The browser phone's call ends in the browser; a desk phone's through the server (AMI). */
async function hangupCall() {
  $("transfer-error").textContent = "";
  const { ok, data } = await hangup();
  if (!ok) $("transfer-error").textContent = data.error;
}

/** Attended transfer: the caller waits while the agent talks to the colleague first
 * (Asterisk's Atxfer); hanging up hands the caller over, Cancel goes back to the caller. */
function consulting(on) {
  $("transfer-complete").hidden = !on;
  $("transfer-cancel").hidden = !on;
}

async function consultTransfer() {
  const input = $("transfer-box").elements.extension;
  if (!input.reportValidity()) return;
  $("transfer-error").textContent = "";
  const { ok, data } = await api("POST", "/api/agent/transfer", { extension: input.value.trim(), attended: true });
  if (!ok) $("transfer-error").textContent = data.error;
  consulting(ok);
}

async function completeTransfer() {
  consulting(false);
  await hangupCall();
}

async function cancelTransfer() {
  $("transfer-error").textContent = "";
  const { ok, data } = await api("POST", "/api/agent/transfer/cancel");
  if (!ok) $("transfer-error").textContent = data.error;
  consulting(false);
}

async function submitTransfer(event) {
  event.preventDefault();
  const extension = event.target.elements.extension.value.trim();
  $("transfer-error").textContent = "";
  const { ok, data } = await api("POST", "/api/agent/transfer", { extension });
  if (!ok) $("transfer-error").textContent = data.error;
}

function transferredFrom(data) {
  const from = data.transferred_from;
  if (!from) return null;
  const who = [from.extension, from.name].filter(Boolean).join(" ");
  return el("div", { className: "transferred-from", testid: "pop-transferred-from", text: t("pop.transferred_from", { who }) });
}

function renderCaller() {
  const { data } = desk.pop;
  const box = $("pop-caller");
  const waited = Number(data.waited_seconds);
  fill(box,
    transferredFrom(data),
    el("div", { className: "caller-label", text: t("pop.caller") }),
    el("div", { className: "caller-number", testid: "pop-caller-number", text: data.caller_number || "—" }),
    el("div", {
      className: data.caller_name ? "caller-name" : "caller-name muted", testid: "pop-caller-name",
      text: data.caller_name || t("pop.unknown_name"),
    }),
    el("dl", { className: "facts" }, [
      el("dt", { text: t("pop.queue") }), el("dd", { text: tOr("queue", data.queue) || "—" }),
      el("dt", { text: t("pop.waited") }),
      el("dd", { text: Number.isFinite(waited) ? formatDuration(waited) : "—" }),
    ]),
  );
}

function renderIvr() {
  const { data } = desk.pop;
  const box = $("pop-ivr");
  const ivr = data.ivr;
  const path = el("ol", { className: "ivr-path", testid: "ivr-path" });
  const children = [el("h3", { text: t("pop.ivr") }, [])];
  if (!ivr) {
    fill(box, ...children, el("p", { className: "muted", text: t("pop.ivr_none") }));
    return;
  }
  if (ivr.flow) {
    children[0].append(" ", el("span", {
      className: "muted small-text", text: t("pop.ivr_flow", { flow: ivr.flow, version: ivr.flow_version ?? "?" }),
    }));
  }
  for (const step of ivr.path || []) {
    const item = el("li", { className: `ivr-step kind-${String(step.kind || "").replace(/[^a-z_]/g, "")}` }, [
      el("span", { className: "ivr-node", text: step.node || "?" }),
      step.kind ? el("span", { className: "ivr-kind", text: step.kind }) : null,
    ]);
    if (step.digits) item.append(el("kbd", { className: "ivr-digits", text: step.digits, title: t("pop.keys", { digits: step.digits }) }));
    if (step.result && step.result !== step.digits) item.append(el("span", { className: "ivr-result", text: `→ ${step.result}` }));
    path.append(item);
  }
  children.push(path);
  const variables = ivr.variables || {};
  const names = [
    ...KEY_VARIABLES.filter((name) => name in variables),
    ...Object.keys(variables).filter((name) => !KEY_VARIABLES.includes(name) && !HIDDEN_VARIABLES.has(name) && !name.startsWith("_")),
  ];
  if (names.length) {
    const list = el("dl", { className: "facts vars", testid: "ivr-variables" });
    for (const name of names) {
      list.append(
        el("dt", { text: tOr("var", name), title: name }),
        el("dd", {
          className: KEY_VARIABLES.includes(name) ? "key-var" : "", "data-var": name,
          text: variableText(name, variables[name]),
        }),
      );
    }
    children.push(el("h3", { text: t("pop.variables") }), list);
  }
  fill(box, ...children);
}

function renderCustomers() {
  const pop = desk.pop;
  const box = $("pop-customers");
  const customers = pop.data.customers;
  const selected = selectedCustomer();
  if (selected) {
    const parts = [renderCard(selected)];
    if (customers.length > 1) {
      parts.unshift(el("button", {
        type: "button", className: "link", testid: "change-customer", text: `← ${t("pop.change_customer")}`,
        on: { click: () => { pop.selectedId = null; renderCustomers(); updateTicketForm(); clearHistory(); } },
      }));
    }
    fill(box, ...parts);
    return;
  }
  if (customers.length > 1) {
    const list = el("ul", { className: "choices", testid: "customer-choices" });
    for (const card of customers) {
      list.append(el("li", {}, [
        el("button", {
          type: "button", className: "choice", testid: "pop-customer-choice", "data-customer-id": card.id,
          on: { click: () => pickCustomer(card.id) },
        }, [
          el("span", { className: "choice-name", text: card.name || "—" }),
          card.level === "vip" ? el("span", { className: "vip", text: t("customer.vip") }) : null,
          el("span", { className: "muted", text: addressText(card.address) }),
          el("span", { className: "muted", text: (card.products || []).map(productText).join("、") }),
        ]),
      ]));
    }
    fill(box, el("p", { className: "hint", text: t("pop.matches", { n: customers.length }) }), list);
    return;
  }
  fill(box, buildQuickCreate());
}

function pickCustomer(id) {
  desk.pop.selectedId = id;
  renderCustomers();
  updateTicketForm();
  loadHistory(selectedCustomer());
}

function section(titleKey, count, body) {
  const title = el("h4", { text: t(titleKey) });
  if (count !== null) title.append(" ", el("span", { className: "count", text: String(count) }));
  return el("section", { className: "card-section" }, [title, body]);
}

function renderCard(card) {
  const head = el("div", { className: "card-head" }, [
    el("span", { className: "customer-name", testid: "pop-customer-name", text: card.name || "—" }),
    card.level === "vip" ? el("span", { className: "vip", testid: "vip-badge", text: t("customer.vip") }) : null,
    el("span", { className: "muted customer-id", text: `#${card.id}` }),
  ]);
  const phones = el("ul", { className: "inline-list" });
  for (const phone of card.phones || []) {
    phones.append(el("li", {}, [
      el("span", { className: "mono", text: phone.number || "" }),
      phone.label ? el("span", { className: "tag", text: tOr("phonekind", phone.label) }) : null,
    ]));
  }
  const facts = el("dl", { className: "facts" }, [
    el("dt", { text: t("customer.phones") }), el("dd", {}, [phones]),
    el("dt", { text: t("customer.address") }), el("dd", { testid: "customer-address", text: addressText(card.address) || "—" }),
    el("dt", { text: t("sms.notices") }), el("dd", {}, [optOutToggle(card.id)]),
  ]);

  const products = card.products || [];
  const productList = el("ul", { className: "rows" });
  for (const product of products) {
    productList.append(el("li", { "data-product-id": product.id }, [
      el("strong", { text: productText(product) || "—" }),
      product.serial ? el("span", { className: "muted mono", text: t("customer.serial", { serial: product.serial }) }) : null,
      product.installed_on ? el("span", { className: "muted", text: t("customer.installed_on", { date: formatDate(product.installed_on) }) }) : null,
    ]));
  }
  if (!products.length) productList.append(el("li", { className: "muted", text: t("customer.no_products") }));

  const tickets = card.open_tickets || [];
  const ticketList = el("ul", { className: "rows", testid: "open-tickets" });
  for (const ticket of tickets) ticketList.append(ticketRow(ticket));
  if (!tickets.length) ticketList.append(el("li", { className: "muted", text: t("customer.no_tickets") }));

  const calls = card.recent_calls || [];
  const callList = el("ul", { className: "rows" });
  for (const call of calls) callList.append(callRow(call));
  if (!calls.length) callList.append(el("li", { className: "muted", text: t("customer.no_calls") }));

  return el("div", { className: `card${card.level === "vip" ? " card-vip" : ""}`, testid: "customer-card", "data-customer-id": card.id }, [
    head,
    facts,
    el("div", { className: "card-grid" }, [
      section("customer.products", products.length, productList),
      section("customer.open_tickets", tickets.length, ticketList),
      section("customer.recent_calls", null, callList),
    ]),
  ]);
}

function ticketRow(ticket) {
  // a ticket opened on a call: that call's recording, one click away (GET /api/recordings?ticket=)
  const recording = ticket.call_linkedid ? el("button", {
    type: "button", className: "ghost", text: t("ticket.recording"), testid: "ticket-recording",
    dataset: { callId: ticket.call_linkedid, ticketNumber: ticket.number || "" },
    on: {
      click: (event) => playRecordingOf(
        `ticket=${encodeURIComponent(ticket.number || String(ticket.id))}`, ticket.call_linkedid, event.currentTarget,
      ),
    },
  }) : null;
  // the ticket the caller asked an agent about in the IVR (repair progress): the pop opens on it
  const asked = desk.pop && desk.pop.data.ivr && desk.pop.data.ivr.ticket;
  const focus = Boolean(asked) && asked === ticket.number;
  return el("li", {
    className: focus ? "ticket-row ticket-asked" : "ticket-row", "data-ticket-number": ticket.number || "",
    ...(focus ? { testid: "ticket-asked", "aria-current": "true", title: t("pop.ticket_asked") } : {}),
  }, [
    el("span", { className: "mono ticket-no", text: ticket.number || `#${ticket.id}` }),
    el("span", { className: `tag type-${ticket.type}`, text: tOr("type", ticket.type) }),
    el("span", { className: "tag status", text: tOr("tstatus", ticket.status) }),
    el("span", { className: "summary", text: ticket.summary || "" }),
    el("span", { className: "muted when", text: formatTime(ticket.created_at) }),
    recording,
  ]);
}

/** A call of the customer's history: another agent's comes as a contact summary, without its agent
 * and with no recording to play (docs/visibility.md). */
function callRow(call) {
  const answered = Boolean(call.answered_at);
  const theirs = answered && !call.agent;
  const by = theirs ? t("history.answered_by_other") : t("history.answered_by", { agent: call.agent || "?" });
  return el("li", { className: "call-row" }, [
    el("span", { className: "muted when", text: formatTime(call.started_at || call.ended_at) }),
    el("span", { text: tOr("queue", call.queue) || "—" }),
    el("span", { className: "mono", text: formatDuration(call.duration) }),
    el("span", {
      className: answered ? "" : "bad-text",
      text: answered ? by : t("history.abandoned"),
    }),
    answered && !theirs && call.id ? el("button", {
      type: "button", className: "ghost", text: t("history.recording"), testid: "history-recording",
      dataset: { callId: call.id }, on: { click: (event) => playCallRecording(call.id, event.currentTarget) },
    }) : null,
  ]);
}

/** The call's recording in the history's player, if this user may hear one (GET /api/recordings). */
function playCallRecording(callId, button) {
  return playRecordingOf(`call_id=${encodeURIComponent(callId)}`, callId, button);
}

/** The recording the search ``query`` finds (a call's, a ticket's call's) in the history's player. */
async function playRecordingOf(query, callId, button) {
  const { ok, data } = await api("GET", `/api/recordings?${query}`);
  const playable = ok ? (data.recordings || []).filter((recording) => recording.playable) : [];
  if (!playable.length) {
    button.replaceWith(el("span", { className: "muted", text: t("history.no_recording"), testid: "history-no-recording" }));
    return;
  }
  const player = $("history-player");
  const first = playable[playable.length - 1]; // newest first: the call's first leg is last
  player.src = first.mp3_url || first.audio_url;
  player.dataset.callId = callId;
  player.dataset.wav = first.audio_url; // played instead if the MP3 cannot be (see setup)
  player.hidden = false;
  player.play().catch(() => {}); // refused autoplay: the controls are there
}

// quick create: built once per pop, labels follow the language through data-i18n

function field(key, input) {
  return el("label", { className: "field" }, [L("span", key), input]);
}

function buildQuickCreate() {
  const pop = desk.pop;
  if (pop.quickCreate) return pop.quickCreate;
  const form = el("form", { className: "quick-create", testid: "quick-create" });
  const status = el("p", { className: "bad-text", role: "status" });
  form.append(
    L("p", "pop.no_match", { className: "hint" }),
    el("div", { className: "form-grid" }, [
      field("create.name", el("input", { name: "name", required: true, maxlength: 100, testid: "create-name" })),
      field("create.phone", el("input", { name: "phone", required: true, maxlength: 40, value: pop.data.caller_number || "", testid: "create-phone" })),
      field("create.province", el("input", { name: "province", maxlength: 40, testid: "create-province" })),
      field("create.city", el("input", { name: "city", maxlength: 40, testid: "create-city" })),
      el("label", { className: "field wide" }, [L("span", "create.detail"), el("input", { name: "address_detail", maxlength: 200, testid: "create-detail" })]),
    ]),
    el("div", { className: "form-actions" }, [L("button", "create.submit", { type: "submit", className: "primary", testid: "create-submit" })]),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    const body = { name: values.name.trim(), phone: values.phone.trim() };
    for (const key of ["province", "city", "address_detail"]) if (values[key].trim()) body[key] = values[key].trim();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const callId = pop.data.call_id;
    const { ok, data } = await api("POST", "/api/customers", body);
    button.disabled = false;
    if (!ok || !data.customer) {
      status.textContent = t("create.failed", { error: data.error || "?" });
      return;
    }
    if (!desk.pop || desk.pop.data.call_id !== callId) return;
    desk.pop.data.customers.push(data.customer);
    desk.pop.selectedId = data.customer.id;
    renderCustomers();
    updateTicketForm();
    loadHistory(data.customer);
  });
  pop.quickCreate = form;
  return form;
}

// tickets

function buildTicketBox() {
  const typeSelect = el("select", { name: "type", testid: "ticket-type" });
  for (const type of meta.ticket_types) typeSelect.append(L("option", `type.${type}`, { value: type }));
  const form = el("form", { className: "ticket-form", id: "ticket-form", testid: "ticket-form", hidden: true }, [
    el("div", { className: "ticket-form-head" }, [
      L("h4", "ticket.title"),
      el("span", { className: "muted", id: "ticket-customer" }),
    ]),
    el("div", { className: "form-grid" }, [
      field("ticket.type", typeSelect),
      field("ticket.product", el("select", {
        name: "product_id", testid: "ticket-product", id: "ticket-product", on: { change: prefillKindFields },
      })),
      el("label", { className: "field wide" }, [
        L("span", "ticket.summary"),
        el("textarea", { name: "summary", rows: 3, maxlength: 500, required: true, testid: "ticket-summary", id: "ticket-summary" }),
      ]),
    ]),
    el("div", { className: "form-grid ticket-fields", id: "ticket-fields", testid: "ticket-fields" }),
    el("div", { className: "form-actions" }, [
      L("button", "ticket.submit", { type: "submit", className: "primary", testid: "ticket-submit" }),
      L("button", "common.cancel", { type: "button", on: { click: () => { $("ticket-form").hidden = true; } } }),
    ]),
    el("p", { className: "bad-text", id: "ticket-error", role: "status" }),
  ]);
  typeSelect.addEventListener("change", () => { prefillSummary(); renderKindFields(); });
  form.addEventListener("submit", submitTicket);
  return el("section", { className: "ticket-box" }, [
    el("div", { className: "pop-actions" }, [
      L("button", "pop.open_ticket", {
        type: "button", className: "primary", testid: "ticket-open",
        on: { click: openTicketForm },
      }),
      el("p", { className: "ticket-result", id: "ticket-result", role: "status", hidden: true }, [
        L("span", "ticket.created"),
        el("strong", { className: "mono", testid: "ticket-number", id: "ticket-number" }),
      ]),
    ]),
    form,
  ]);
}

// The kind's own fields, as GET /api/meta declares them (ticket_fields): only those the agent
// fills (`desk`); the appointment, the engineer and the work's results are the department's.
function kindFieldInput(spec) {
  const attrs = { name: `field.${spec.key}`, testid: `ticket-field-${spec.key}`, "data-kind": spec.type };
  if (spec.type === "choice") {
    const select = el("select", attrs, [el("option", { value: "", text: "—" })]);
    for (const choice of spec.choices) select.append(el("option", { value: choice, text: tOr("tchoice", choice) }));
    return select;
  }
  if (spec.type === "integer" || spec.type === "number") {
    return el("input", { ...attrs, type: "number", step: spec.type === "integer" ? "1" : "any",
      min: spec.minimum, max: spec.maximum });
  }
  if (spec.type === "datetime") return el("input", { ...attrs, type: "datetime-local" });
  if (spec.type === "list") return el("input", { ...attrs, type: "text", placeholder: t("ticket.list_hint") });
  const long = (spec.max_length || 0) > 100;
  return long
    ? el("textarea", { ...attrs, rows: 2, maxlength: spec.max_length })
    : el("input", { ...attrs, type: "text", maxlength: spec.max_length || 200 });
}

function renderKindFields() {
  const box = $("ticket-fields");
  if (!box) return;
  const type = $("ticket-form").elements.type.value;
  const specs = ((meta.ticket_fields || {})[type] || []).filter((spec) => spec.desk !== false && spec.type !== "user");
  fill(box, ...specs.map((spec) => el("label", { className: spec.key === "address" ? "field wide" : "field" }, [
    el("span", { text: tOr("tfield", spec.key) }), kindFieldInput(spec),
  ])));
  prefillKindFields();
}

/** What the customer's card and the chosen product say of the kind's fields. */
function knownFieldValues() {
  const card = selectedCustomer();
  const select = $("ticket-product");
  const product = card && select && select.value
    ? (card.products || []).find((item) => String(item.id) === select.value) : null;
  return {
    address: card ? addressText(card.address) : "",
    product_model: product ? product.model || "" : "",
    serial: product ? product.serial || "" : "",
  };
}

/** Fill the fields the card knows, leaving alone what the agent typed (a value unlike the last prefill). */
function prefillKindFields() {
  const form = $("ticket-form");
  if (!form) return;
  for (const [key, value] of Object.entries(knownFieldValues())) {
    const input = form.elements[`field.${key}`];
    if (!input) continue;
    if (input.value && input.value !== (input.dataset.prefill || "")) continue;
    input.value = value;
    input.dataset.prefill = value;
  }
}

/** The filled-in kind fields as the API takes them (empty ones left out). */
function kindFieldValues(form) {
  const fields = {};
  for (const input of form.querySelectorAll("[name^='field.']")) {
    const value = input.value.trim();
    if (!value) continue;
    const key = input.name.slice("field.".length);
    const kind = input.dataset.kind;
    if (kind === "integer" || kind === "number") fields[key] = Number(value);
    else if (kind === "datetime") fields[key] = new Date(value).toISOString();
    else if (kind === "list") fields[key] = value.split(/[,，]/).map((item) => item.trim()).filter(Boolean);
    else fields[key] = value;
  }
  return fields;
}

/** An IVR variable's value as the page says it: the words of the vocabulary in its language. */
function variableText(name, value) {
  const words = { language: "langname", queue: "queue", customer_level: "level" };
  return name in words ? tOr(words[name], value) : String(value ?? "");
}

function ivrVariable(name) {
  const ivr = desk.pop && desk.pop.data.ivr;
  const value = ivr && ivr.variables ? ivr.variables[name] : undefined;
  return value === undefined || value === null ? "" : String(value);
}

function prefillSummary() {
  const pop = desk.pop;
  const summary = $("ticket-summary");
  if (!pop || !summary) return;
  if (summary.value && summary.value !== pop.ticketSummaryPrefill) return; // the agent typed something
  const type = $("ticket-form").elements.type.value;
  const subject = [ivrVariable("product"), ivrVariable("issue")].filter(Boolean).join(" ");
  const separator = lang() === "zh" ? "：" : ": ";
  const text = subject ? `${tOr("type", type)}${separator}${subject}` : "";
  pop.ticketSummaryPrefill = text;
  summary.value = text;
}

/** The product list and customer line follow the selected customer; choices are kept. */
function updateTicketForm() {
  const form = $("ticket-form");
  if (!form || !desk.pop) return;
  const card = selectedCustomer();
  $("ticket-customer").textContent = card
    ? t("ticket.customer", { name: card.name || `#${card.id}` })
    : t("ticket.no_customer");
  const select = $("ticket-product");
  const previous = select.value;
  const products = card ? card.products || [] : [];
  fill(select, L("option", "ticket.no_product", { value: "" }));
  for (const product of products) {
    const label = [productText(product), product.serial ? `(${product.serial})` : ""].filter(Boolean).join(" ");
    select.append(el("option", { value: String(product.id), text: label }));
  }
  if (previous && products.some((product) => String(product.id) === previous)) {
    select.value = previous;
  } else {
    const wanted = ivrVariable("product");
    const match = products.find((product) => wanted && (product.category === wanted || productText(product).includes(wanted)));
    const pick = match || (products.length === 1 ? products[0] : null);
    select.value = pick ? String(pick.id) : "";
  }
  prefillKindFields();
}

function openTicketForm() {
  const form = $("ticket-form");
  form.hidden = false;
  updateTicketForm();
  prefillSummary();
  if (!$("ticket-fields").childElementCount) renderKindFields();
  $("ticket-error").textContent = "";
  $("ticket-summary").focus();
}

async function submitTicket(event) {
  event.preventDefault();
  const pop = desk.pop;
  if (!pop) return;
  const form = $("ticket-form");
  const card = selectedCustomer();
  const body = {
    type: form.elements.type.value,
    summary: form.elements.summary.value.trim(),
    call_id: pop.data.call_id,
  };
  if (card) body.customer_id = card.id;
  if (form.elements.product_id.value) body.product_id = Number(form.elements.product_id.value);
  const fields = kindFieldValues(form);
  if (Object.keys(fields).length) body.fields = fields;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const { ok, data } = await api("POST", "/api/tickets", body);
  button.disabled = false;
  if (!ok || !data.ticket) {
    $("ticket-error").textContent = t("ticket.failed", { error: data.error || "?" });
    return;
  }
  if (desk.pop !== pop) return;
  const ticket = data.ticket;
  $("ticket-number").textContent = ticket.number || `#${ticket.id}`;
  $("ticket-result").hidden = false;
  form.hidden = true;
  form.elements.summary.value = "";
  renderKindFields();
  pop.ticketSummaryPrefill = "";
  const owner = pop.data.customers.find((customer) => customer.id === ticket.customer_id) || (ticket.customer_id == null ? null : card);
  if (owner) {
    owner.open_tickets = [ticket, ...(owner.open_tickets || []).filter((other) => other.id !== ticket.id)];
    renderCustomers();
    if (desk.history && desk.history.customer.id === owner.id) loadHistory(owner);
  }
}

// ---- side panel: history and knowledge base

function showTab(name) {
  for (const button of document.querySelectorAll(".tabs [data-tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === name));
  }
  $("pane-history").hidden = name !== "history";
  $("pane-kb").hidden = name !== "kb";
}

function clearHistory() {
  desk.history = null;
  $("history-body").replaceChildren();
  $("history-empty").hidden = false;
}

async function loadHistory(customer) {
  if (!customer) return clearHistory();
  desk.history = { customer, data: null };
  $("history-empty").hidden = true;
  const { ok, data } = await api("GET", `/api/customers/${encodeURIComponent(customer.id)}/history`);
  if (!desk.history || desk.history.customer !== customer) return;
  desk.history.data = ok ? data : { calls: [], tickets: [], error: data.error };
  renderHistory();
}

function renderHistory() {
  const history = desk.history;
  if (!history || !history.data) return;
  const { customer, data } = history;
  const calls = el("ul", { className: "rows", testid: "history-calls" });
  for (const call of data.calls || []) calls.append(callRow(call));
  if (!(data.calls || []).length) calls.append(el("li", { className: "muted", text: t("history.none") }));
  const tickets = el("ul", { className: "rows", testid: "history-tickets" });
  for (const ticket of data.tickets || []) tickets.append(ticketRow(ticket));
  if (!(data.tickets || []).length) tickets.append(el("li", { className: "muted", text: t("history.none") }));
  fill($("history-body"),
    el("h3", { text: t("history.title", { name: customer.name || `#${customer.id}` }) }),
    data.error ? el("p", { className: "bad-text", text: t("common.error", { error: data.error }) }) : null,
    section("history.tickets", (data.tickets || []).length, tickets),
    section("history.calls", (data.calls || []).length, calls),
  );
}

function searchKbSoon() {
  clearTimeout(desk.kb.timer);
  desk.kb.timer = setTimeout(searchKb, 250);
}

async function searchKb() {
  clearTimeout(desk.kb.timer);
  const seq = ++desk.kb.seq;
  const q = $("kb-search").value.trim();
  const { ok, data } = await api("GET", `/api/kb?q=${encodeURIComponent(q)}&lang=${lang()}`);
  if (seq !== desk.kb.seq) return; // an older answer
  desk.kb.results = ok ? data.articles || [] : [];
  desk.kb.article = null;
  renderKb();
}

function renderKb() {
  const list = $("kb-results");
  const article = desk.kb.article;
  list.hidden = Boolean(article);
  $("kb-article").hidden = !article;
  list.replaceChildren();
  for (const item of desk.kb.results) {
    list.append(el("li", {}, [
      el("button", {
        type: "button", className: "kb-item", testid: "kb-result", "data-article-id": item.id,
        on: { click: () => openArticle(item) },
      }, [
        el("span", { className: "kb-title", text: item.title || "" }),
        el("span", { className: "muted kb-meta", text: t("kb.reads", { n: item.reads ?? 0 }) }),
      ]),
    ]));
  }
  if (!desk.kb.results.length) list.append(el("li", { className: "muted", text: t("kb.none") }));
  if (article) {
    const tags = el("span", { className: "kb-tags" });
    for (const tag of article.tags || []) tags.append(el("span", { className: "tag", text: tag }));
    fill($("kb-article"),
      el("button", { type: "button", className: "link", text: `← ${t("kb.back")}`, on: { click: () => { desk.kb.article = null; renderKb(); } } }),
      el("h3", { text: article.title || "", testid: "kb-title" }),
      el("div", { className: "kb-meta-line" }, [
        tags,
        el("span", { className: "muted", testid: "kb-reads", text: t("kb.reads", { n: article.reads ?? 0 }) }),
      ]),
      el("div", { className: "kb-body", testid: "kb-body", text: article.body || "" }),
    );
  }
}

async function openArticle(item) {
  desk.kb.article = item;
  renderKb();
  const { ok, data } = await api("POST", `/api/kb/${encodeURIComponent(item.id)}/read`);
  if (ok && data.article) {
    Object.assign(item, data.article);
    if (desk.kb.article === item) renderKb();
  }
}

// ---- the live feed

function onMessage(msg) {
  switch (msg.type) {
    case "hello": {
      desk.hellos += 1;
      desk.popSinceHello = false;
      if (msg.agent) {
        desk.hasAgent = true;
        desk.agentFromSocket = true;
        setAgent(msg.agent);
      }
      if (desk.hellos > 1) checkPopAfterReconnect(msg.agent);
      break;
    }
    case "agent":
      desk.hasAgent = true;
      desk.agentFromSocket = true;
      setAgent(msg.agent);
      break;
    case "pop":
      onPop(msg.event, msg.pop);
      break;
    case "callback_offer":
      showCallbackOffer(msg);
      break;
    case "visit":
      onVisitChanged();
      break;
    default:
      break; // supervisor messages are not for this page
  }
}

/** Calls that ended while we were disconnected: the server re-sends only the live one. */
function checkPopAfterReconnect(agent) {
  const pop = desk.pop;
  if (!pop || pop.status === "ended") return;
  if (agent && agent.call_id === pop.data.call_id) return;
  const callId = pop.data.call_id;
  setTimeout(() => {
    if (desk.popSinceHello || !desk.pop || desk.pop.data.call_id !== callId) return;
    if (desk.pop.status === "ringing") clearPop();
    else if (desk.pop.status === "answered") {
      desk.pop.status = "ended";
      desk.pop.localEnd = serverNow();
      renderPopHead();
    }
  }, RESEND_GRACE_MS);
}

// ---- start

function rerenderForLanguage() {
  renderAgent();
  if (desk.pop) {
    renderPopHead();
    renderCaller();
    renderCallTickets();
    renderIvr();
    renderCustomers();
    updateTicketForm();
  }
  renderHistory();
  if (desk.kb.article) renderKb();
  else searchKb();
}

/** The pause reasons the server knows, labelled in the page's language. */
function fillPauseReasons() {
  const select = $("pause-reason");
  select.replaceChildren(...meta.pause_reasons.map((reason) => L("option", `reason.${reason}`, { value: reason })));
}

async function begin(user) {
  desk.user = user;
  fillPauseReasons();
  const { status, ok, data } = await api("GET", "/api/agent");
  if (ok && data.agent && !desk.agentFromSocket) {
    desk.hasAgent = true;
    setAgent(data.agent);
  } else if (status === 404) {
    desk.hasAgent = false;
    setAgent(null);
  }
  if (!desk.socket) desk.socket = new LiveSocket({ onMessage, onStatus: connectionIndicator($("conn")) });
  desk.socket.start();
  searchKb();
  loadVisits();
  if (desk.hasAgent) startPhone();
}

function end() {
  stopPhone();
  if (desk.socket) desk.socket.stop();
  desk.agentFromSocket = false;
  desk.hellos = 0;
  desk.agent = null;
  clearPop();
  clearHistory();
  $("conn").hidden = true;
  $("agent-id").hidden = true;
  $("state-box").hidden = true;
  $("controls").hidden = true;
}

function init() {
  onLangChange(rerenderForLanguage);
  onLangChange(renderCallbackOffer);
  const historyPlayer = $("history-player");
  historyPlayer.addEventListener("error", () => {
    const wav = historyPlayer.dataset.wav;
    if (!wav || historyPlayer.getAttribute("src") === wav) return;
    historyPlayer.src = wav;
    historyPlayer.play().catch(() => {});
  });
  onLangChange(renderVisits);
  onLangChange(renderPhone);
  $("controls").after(buildPhoneBox());
  $("login-button").addEventListener("click", () => agentAction("/api/agent/login", {}));
  $("logout-button").addEventListener("click", () => agentAction("/api/agent/logout"));
  $("ready-button").addEventListener("click", () => agentAction("/api/agent/ready"));
  $("pause-button").addEventListener("click", () => agentAction("/api/agent/pause", { reason: $("pause-reason").value }));
  for (const button of document.querySelectorAll(".tabs [data-tab]")) {
    button.addEventListener("click", () => showTab(button.dataset.tab));
  }
  $("kb-form").addEventListener("submit", (event) => { event.preventDefault(); searchKb(); });
  $("kb-search").addEventListener("input", searchKbSoon);
  installDeskKeys();
  startPage({ page: "agent", onUser: begin, onLogout: end });
}

init();
