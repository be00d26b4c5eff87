// The agent desk's return visits: the completed tickets whose customer the hotline calls
// back, with click to call (the agent's phone rings first, then the customer) and the score
// form (1-5 and remarks), which closes or reopens the ticket. Refreshed on the websocket's
// `visit` messages. Server data is inserted with textContent only (see el() in common.js).

import { $, api, el, fill, formatTime, t, tOr } from "./common.js";

let visits = [];
let message = "";

function row(visit) {
  const score = el("select", { testid: `visit-score-${visit.id}`, "aria-label": t("visits.score") },
    ["5", "4", "3", "2", "1"].map((n) => el("option", { value: n, text: n })));
  const remarks = el("input", { type: "text", maxlength: "2000", testid: `visit-remarks-${visit.id}`,
    placeholder: t("visits.remarks") });
  const form = el("form", { className: "visit-result", on: { submit: (event) => {
    event.preventDefault();
    record(visit.id, Number(score.value), remarks.value);
  } } }, [score, remarks, el("button", { type: "submit", text: t("visits.record"), testid: `visit-record-${visit.id}` })]);
  return el("li", { className: "visit", testid: `visit-${visit.id}`, dataset: { status: visit.status } }, [
    el("div", {}, [
      el("span", { className: "strong", text: visit.customer_name || visit.number || "" }),
      " ",
      el("span", { className: "muted", text: visit.ticket_number }),
    ]),
    el("div", { className: "muted" }, [
      el("span", { text: tOr("visits.status", visit.status), testid: `visit-status-${visit.id}` }),
      " · ",
      el("span", { text: t("visits.attempts", { n: visit.attempts }) }),
      visit.next_at ? ` · ${formatTime(visit.next_at)}` : null,
    ]),
    el("button", { type: "button", text: t("visits.call"), testid: `visit-call-${visit.id}`,
      disabled: visit.status !== "pending" && visit.status !== "calling",
      on: { click: () => call(visit.id) } }),
    form,
  ]);
}

export function renderVisits() {
  const list = $("visits-list");
  if (!list) return;
  fill(list, ...visits.map(row));
  $("visits-empty").hidden = visits.length > 0;
  const note = $("visits-message");
  note.textContent = message;
  note.hidden = !message;
}

export async function loadVisits() {
  const found = [];
  for (const status of ["calling", "pending", "unreached"]) {
    const { ok, data } = await api("GET", `/api/visits?status=${status}`);
    if (!ok) {
      message = t("visits.load_failed", { error: data.error });
      renderVisits();
      return;
    }
    found.push(...data.visits);
  }
  visits = found;
  renderVisits();
}

async function call(id) {
  const { ok, data } = await api("POST", `/api/visits/${id}/call`);
  message = ok ? t("visits.calling") : t("visits.failed", { error: data.error });
  await loadVisits();
}

async function record(id, score, remarks) {
  const { ok, data } = await api("POST", `/api/visits/${id}/result`, { score, remarks });
  message = ok ? t("visits.recorded", { number: data.visit.ticket_number, score }) : t("visits.failed", { error: data.error });
  await loadVisits();
}

/** The websocket's `visit` message: a visit changed somewhere. */
export function onVisitChanged() {
  loadVisits();
}
