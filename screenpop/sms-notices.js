// SMS notices on the pages: a ticket's notices and their delivery state (GET
// /api/tickets/{id}/notices) in the ticket's detail, and the desk's toggle of a customer's
// SMS opt-out (GET/PUT /api/customers/{id}/sms-opt-out) on the customer card. Every text
// from the server goes in with textContent.

import { api, el, fill, formatTime, t, tOr } from "./common.js";

/** A section listing the ticket's SMS notices, filled once they are loaded. */
export function noticesBox(ticketId) {
  const list = el("ol", { className: "sms-notices", testid: "sms-notices" });
  loadNotices(ticketId, list);
  return el("section", { testid: "sms-notices-box" }, [el("h3", { text: t("sms.notices") }), list]);
}

async function loadNotices(ticketId, list) {
  const { ok, data } = await api("GET", `/api/tickets/${ticketId}/notices`);
  if (!ok) {
    fill(list, el("li", { className: "muted", text: t("sms.load_failed") }));
    return;
  }
  if (!data.notices.length) {
    fill(list, el("li", { className: "muted", text: t("sms.none") }));
    return;
  }
  fill(list, ...data.notices.map(noticeRow));
}

function noticeRow(notice) {
  return el("li", { testid: "sms-notice", dataset: { notice: notice.notice, state: notice.state } }, [
    el("strong", { text: tOr("sms.notice", notice.notice) }), " ",
    el("span", { className: "muted", text: tOr("sms.to", notice.recipient) }), " ",
    el("span", { className: "mono", text: notice.phone || "—" }), " ",
    el("span", { className: `tag sms-${notice.state}`, testid: "sms-state", text: tOr("sms.state", notice.state) }), " ",
    el("span", { className: "muted", text: when(notice) }),
    el("div", { className: "muted", text: notice.text }),
    notice.error && notice.state !== "sent" ? el("div", { className: "muted", text: notice.error }) : null,
  ]);
}

function when(notice) {
  if (notice.sent_at) return t("sms.sent_at", { at: formatTime(notice.sent_at) });
  if (notice.state === "pending" && notice.held_until) return t("sms.held_until", { at: formatTime(notice.held_until) });
  if (notice.attempts) return t("sms.attempts", { count: notice.attempts });
  return "";
}

/** The desk's checkbox: the customer asks for no SMS notices. */
export function optOutToggle(customerId) {
  const box = el("input", { type: "checkbox", testid: "sms-opt-out", disabled: true });
  const label = el("label", { className: "sms-opt-out" }, [box, " ", t("sms.opt_out")]);
  api("GET", `/api/customers/${customerId}/sms-opt-out`).then(({ ok, data }) => {
    if (!ok) return;
    box.checked = data.opted_out;
    box.disabled = false;
  });
  box.addEventListener("change", async () => {
    box.disabled = true;
    const { ok, data } = await api("PUT", `/api/customers/${customerId}/sms-opt-out`, { opted_out: box.checked });
    if (ok) box.checked = data.opted_out;
    else box.checked = !box.checked;
    box.disabled = false;
  });
  return label;
}
