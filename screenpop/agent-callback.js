// The agent desk's callback offer: when the server rings this agent first to call a missed
// caller back (the websocket's `callback_offer` messages), who it is, when they called, how
// long they waited, why, and what they chose in the IVR; then whether the customer answered.
// Server data is inserted with textContent only (see el() in common.js).

import { $, el, fill, formatDuration, formatTime, t, tOr } from "./common.js";

let shown = null; // the last offer message

function field(key, value, testid) {
  return el("div", { className: "pop-field" }, [
    el("span", { className: "muted", text: t(key) }),
    " ",
    el("span", { className: "strong", text: value, testid }),
  ]);
}

export function renderCallbackOffer() {
  const card = $("callback-offer");
  if (!card) return;
  if (!shown) {
    card.hidden = true;
    return;
  }
  const task = shown.callback;
  const why = tOr("cb.source", task.source);
  card.dataset.event = shown.event;
  card.dataset.callbackId = String(task.id);
  fill(card,
    el("h2", { text: t("cbpop.title", { number: task.number }), testid: "callback-offer-title" }),
    el("p", { className: "strong", text: t(`cbpop.${shown.event}`), testid: "callback-offer-event" }),
    field("cbpop.missed_at", formatTime(task.missed_at), "callback-offer-missed-at"),
    task.wait_seconds === null ? null : field("cbpop.waited", formatDuration(task.wait_seconds), "callback-offer-waited"),
    field("cbpop.why", task.reason && task.reason !== task.source ? `${why}: ${task.reason}` : why, "callback-offer-why"),
    task.misses > 1 ? field("cbpop.misses", String(task.misses), "callback-offer-misses") : null,
    task.choices.length ? field("cbpop.choices", task.choices.join(" · "), "callback-offer-choices") : null,
  );
  card.hidden = false;
  $("pop-empty").hidden = true;
}

/** The websocket's `callback_offer` message. */
export function showCallbackOffer(message) {
  if (!message || !message.callback) return;
  shown = message;
  renderCallbackOffer();
}

export function clearCallbackOffer() {
  shown = null;
  renderCallbackOffer();
}
