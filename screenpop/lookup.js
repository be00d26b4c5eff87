// Finding a customer (/ui/lookup.html): by a phone number in any form, a name, a ticket
// number or a product's serial (GET /api/customers/search); the customer's card, products,
// tickets and calls (only what the user may see: the server applies docs/visibility.md), and
// the correction of their details (PATCH /api/customers/{id}, audited) for the desk's roles.
// Every text from the server goes in with textContent (el's text).

import { $, api, el, fill, formatDate, formatDuration, formatTime, meta, onLangChange, t, tOr } from "./common.js";
import { startPage } from "./shell.js";

const EDITORS = ["agent", "supervisor", "admin"];
const ADDRESS = [["province", "province"], ["city", "city"], ["district", "district"], ["street", "street"],
  ["detail", "address_detail"]];

const state = { user: null, query: "", results: null, card: null, history: null, editing: false, seq: 0 };

function addressText(address) {
  return ADDRESS.map(([part]) => (address || {})[part]).filter(Boolean).join(" ");
}

function productText(product) {
  return [product.category ? tOr("category", product.category) : "", product.model].filter(Boolean).join(" ");
}

// ---- searching

async function search(event) {
  event.preventDefault();
  const query = $("find-q").value.trim();
  if (!query) return;
  state.query = query;
  const seq = ++state.seq;
  $("find-status").textContent = t("find.searching");
  $("find-status").dataset.for = "";
  const { ok, data } = await api("GET", `/api/customers/search?q=${encodeURIComponent(query)}`);
  if (seq !== state.seq) return;
  if (!ok) {
    state.results = null;
    $("find-status").textContent = t("common.error", { error: data.error || "?" });
    $("find-status").dataset.for = query;
    fill($("find-results"));
    return;
  }
  state.results = data.customers;
  renderResults();
  $("find-status").dataset.for = query;
  if (data.customers.length === 1) openCustomer(data.customers[0]);
}

function renderResults() {
  const results = state.results;
  if (!results) return;
  $("find-status").textContent = results.length
    ? t("find.found", { n: results.length }) : t("find.none", { query: state.query });
  fill($("find-results"), ...results.map((card) => el("li", {}, [
    el("button", {
      type: "button", className: "choice", testid: "find-result", "data-customer-id": card.id,
      on: { click: () => openCustomer(card) },
    }, [
      el("span", { className: "choice-name", text: card.name || "—" }),
      card.level === "vip" ? el("span", { className: "vip", text: t("customer.vip") }) : null,
      el("span", { className: "mono", text: (card.phones || []).map((p) => p.number).join("、") }),
      el("span", { className: "muted", text: addressText(card.address) }),
      el("span", { className: "muted", text: (card.products || []).map(productText).join("、") }),
    ]),
  ])));
}

// ---- one customer

async function openCustomer(card) {
  state.card = card;
  state.history = null;
  state.editing = false;
  renderCustomer();
  const { ok, data } = await api("GET", `/api/customers/${card.id}/history`);
  if (state.card !== card) return;
  state.history = ok ? data : { calls: [], tickets: [], error: data.error };
  renderHistory();
}

function renderCustomer() {
  const card = state.card;
  $("customer").hidden = !card;
  if (!card) return;
  const phones = el("ul", { className: "inline-list", testid: "card-phones" }, (card.phones || []).map((phone) =>
    el("li", {}, [
      el("a", { href: `tel:${String(phone.number || "").replace(/[^0-9+]/g, "")}`, className: "mono", text: phone.number }),
      phone.label ? el("span", { className: "tag", text: tOr("phonekind", phone.label) }) : null,
    ])));
  const products = el("ul", { className: "rows", testid: "card-products" }, (card.products || []).map((product) =>
    el("li", { "data-product-id": product.id }, [
      el("strong", { text: productText(product) || "—" }),
      product.serial ? el("span", { className: "muted mono", text: t("customer.serial", { serial: product.serial }) }) : null,
      product.installed_on
        ? el("span", { className: "muted", text: t("customer.installed_on", { date: formatDate(product.installed_on) }) }) : null,
    ])));
  if (!(card.products || []).length) products.append(el("li", { className: "muted", text: t("customer.no_products") }));
  const canEdit = EDITORS.includes(state.user?.role);
  fill($("customer-card"),
    el("div", { className: "card-head" }, [
      el("span", { className: "customer-name", testid: "card-name", text: card.name || "—" }),
      card.level === "vip" ? el("span", { className: "vip", text: t("customer.vip") }) : null,
      el("span", { className: "muted customer-id", text: `#${card.id}` }),
      el("span", { className: "spacer" }),
      canEdit ? el("button", {
        type: "button", testid: "edit-open", text: t("find.edit"), on: { click: () => toggleEdit(true) },
      }) : null,
    ]),
    el("dl", { className: "facts" }, [
      el("dt", { text: t("customer.phones") }), el("dd", {}, [phones]),
      el("dt", { text: t("customer.address") }), el("dd", { testid: "card-address", text: addressText(card.address) || "—" }),
      el("dt", { text: t("customer.products") }), el("dd", {}, [products]),
    ]),
  );
  renderEdit();
}

function renderHistory() {
  const history = state.history;
  if (!history) {
    fill($("customer-tickets"), el("li", { className: "muted", text: t("common.loading") }));
    fill($("customer-calls"));
    return;
  }
  const tickets = history.tickets.map((ticket) => el("li", { className: "ticket-row", testid: "history-ticket" }, [
    el("span", { className: "mono ticket-no", text: ticket.number }),
    el("span", { className: `tag type-${ticket.type}`, text: tOr("type", ticket.type) }),
    el("span", { className: "tag status", text: tOr("tstatus", ticket.status) }),
    el("span", { className: "summary", text: ticket.summary || "" }),
    el("span", { className: "muted when", text: formatTime(ticket.created_at) }),
  ]));
  fill($("customer-tickets"), ...(tickets.length ? tickets : [el("li", { className: "muted", text: t("customer.no_tickets") })]));
  const calls = history.calls.map((call) => el("li", { testid: "history-call" }, [
    el("span", { className: "when", text: formatTime(call.started_at) }),
    el("span", { className: "muted", text: call.queue || "" }),
    el("span", { text: call.answered_at ? t("find.call_answered", { duration: formatDuration(call.duration || 0) })
      : t("find.call_missed") }),
    call.agent ? el("span", { className: "muted", text: call.agent }) : null,
  ]));
  fill($("customer-calls"), ...(calls.length ? calls : [el("li", { className: "muted", text: t("customer.no_calls") })]));
}

// ---- correcting the details

function toggleEdit(on) {
  state.editing = on;
  renderEdit();
}

function input(name, value, options = {}) {
  return el("input", { name, value: value ?? "", testid: `edit-${name}`, ...options });
}

function labelled(key, control, wide = false) {
  return el("label", { className: wide ? "field wide" : "field" }, [el("span", { text: t(key) }), control]);
}

function phoneRow(phone = { number: "", label: "" }) {
  return el("div", { className: "phone-row", testid: "edit-phone-row" }, [
    el("input", { name: "phone_number", value: phone.number || "", maxlength: 64, testid: "edit-phone-number",
      "aria-label": t("find.phone_number") }),
    el("input", { name: "phone_label", value: phone.label || "", maxlength: 32, testid: "edit-phone-label",
      "aria-label": t("find.phone_label"), placeholder: t("find.phone_label") }),
    el("button", { type: "button", text: t("find.phone_remove"),
      on: { click: (event) => event.currentTarget.parentElement.remove() } }),
  ]);
}

function renderEdit() {
  const form = $("edit-form");
  const card = state.card;
  form.hidden = !(card && state.editing);
  if (form.hidden) {
    fill(form);
    return;
  }
  const level = el("select", { name: "level", testid: "edit-level" },
    meta.customer_levels.map((code) => el("option", { value: code, text: tOr("find.level", code) })));
  level.value = card.level;
  const phones = el("div", { className: "phones", id: "edit-phones" }, (card.phones || []).map(phoneRow));
  fill(form,
    el("div", { className: "ticket-form-head" }, [el("h4", { text: t("find.edit_title") })]),
    el("div", { className: "form-grid" }, [
      labelled("create.name", input("name", card.name, { required: true, maxlength: 100 })),
      labelled("find.level", level),
      ...ADDRESS.map(([part, name]) => labelled(`find.address.${part}`,
        input(name, (card.address || {})[part], { maxlength: part === "detail" ? 255 : 64 }), part === "detail")),
    ]),
    el("div", { className: "field wide" }, [el("span", { text: t("customer.phones") }), phones,
      el("button", { type: "button", className: "small", testid: "edit-phone-add", text: t("find.phone_add"),
        on: { click: () => phones.append(phoneRow()) } })]),
    el("div", { className: "form-actions" }, [
      el("button", { type: "submit", className: "primary", testid: "edit-save", text: t("find.save") }),
      el("button", { type: "button", text: t("common.cancel"), on: { click: () => toggleEdit(false) } }),
    ]),
    el("p", { className: "bad-text", id: "edit-error", role: "status", testid: "edit-error" }),
  );
}

async function saveEdit(event) {
  event.preventDefault();
  const card = state.card;
  const form = $("edit-form");
  const value = (name) => form.elements[name].value.trim();
  const body = { name: value("name"), level: form.elements.level.value };
  for (const [, name] of ADDRESS) body[name] = value(name);
  body.phones = [...form.querySelectorAll(".phone-row")].map((row) => ({
    number: row.querySelector("[name=phone_number]").value.trim(),
    label: row.querySelector("[name=phone_label]").value.trim() || null,
  })).filter((phone) => phone.number);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const { ok, data } = await api("PATCH", `/api/customers/${card.id}`, body);
  button.disabled = false;
  if (!ok) {
    $("edit-error").textContent = t("find.save_failed", { error: data.error || "?" });
    return;
  }
  state.card = data.customer;
  if (state.results) state.results = state.results.map((item) => (item.id === data.customer.id ? data.customer : item));
  state.editing = false;
  renderResults();
  renderCustomer();
  $("find-status").textContent = t("find.saved");
}

// ---- start

function rerender() {
  renderResults();
  renderCustomer();
  renderHistory();
}

function init() {
  $("find-form").addEventListener("submit", search);
  $("edit-form").addEventListener("submit", saveEdit);
  onLangChange(rerender);
  startPage({
    page: "lookup",
    onUser: (user) => {
      state.user = user;
      const asked = new URLSearchParams(window.location.search).get("q");
      if (asked) {
        $("find-q").value = asked;
        $("find-form").requestSubmit();
      } else {
        $("find-q").focus();
      }
    },
    onLogout: () => {
      Object.assign(state, { user: null, results: null, card: null, history: null, editing: false });
      fill($("find-results"));
      $("find-status").textContent = "";
      $("customer").hidden = true;
    },
  });
}

init();
