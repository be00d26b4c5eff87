// The supervisor page's Recordings tab: search GET /api/recordings, play a recording in the
// page's <audio> (GET /api/recordings/{id}/audio, which answers Range requests, so seeking
// works), download it. Server data is inserted with textContent only (el() in common.js).

import { $, api, el, fill, formatDuration, formatTime, onLangChange, t } from "./common.js";

const state = { rows: [], error: null, request: 0 };

/** The search's query string from the form; dates are whole local days. */
function query() {
  const params = new URLSearchParams();
  const caller = $("rec-caller").value.trim();
  const agent = $("rec-agent").value.trim();
  if (caller) params.set("caller", caller);
  if (agent) params.set("agent", agent);
  const from = $("rec-from").value;
  const to = $("rec-to").value;
  if (from) params.set("from", new Date(`${from}T00:00:00`).toISOString());
  if (to) {
    const end = new Date(`${to}T00:00:00`);
    end.setDate(end.getDate() + 1);
    params.set("to", end.toISOString());
  }
  const min = $("rec-min").value;
  if (min !== "" && Number(min) >= 0) params.set("min_duration", String(Number(min)));
  return params.toString();
}

async function search() {
  const number = ++state.request;
  $("recordings-view").setAttribute("aria-busy", "true");
  const q = query();
  const { ok, data } = await api("GET", `/api/recordings${q ? `?${q}` : ""}`);
  if (number !== state.request) return;
  state.rows = ok ? data.recordings || [] : [];
  state.error = ok ? null : data.error;
  render();
  $("recordings-view").setAttribute("aria-busy", "false");
}

function play(recording) {
  const player = $("rec-player");
  player.src = recording.audio_url;
  player.dataset.recordingId = recording.id;
  $("rec-playing").textContent = t("rec.playing", {
    caller: recording.caller_number || "—", started: formatTime(recording.started_at),
  });
  const download = $("rec-download");
  download.href = `${recording.audio_url}?download=1`;
  download.hidden = false;
  player.play().catch(() => {}); // a browser refusing autoplay leaves the controls to the user
}

function row(recording) {
  const action = recording.playable
    ? el("button", {
      type: "button", className: "ghost", text: t("rec.play"), testid: "rec-play",
      on: { click: () => play(recording) },
    })
    : el("span", { className: "muted", text: t("rec.not_playable", { flag: recording.flag || "?" }) });
  return el("tr", { testid: "rec-row", dataset: { recordingId: recording.id, callId: recording.call_id } }, [
    el("td", { text: formatTime(recording.started_at) }),
    el("td", { className: "mono", text: [recording.caller_number, recording.caller_name].filter(Boolean).join(" ") || "—" }),
    el("td", { text: recording.agent || "—" }),
    el("td", { text: recording.queue || "—" }),
    el("td", { className: "num mono", text: formatDuration(recording.duration) }),
    el("td", {}, [action]),
  ]);
}

function render() {
  const error = $("rec-error");
  error.hidden = !state.error;
  error.textContent = state.error ? t("rec.error", { error: state.error }) : "";
  const body = $("rec-rows");
  if (!state.rows.length) {
    fill(body, el("tr", {}, [el("td", { colspan: "6", className: "muted", text: t("rec.none"), testid: "rec-none" })]));
    return;
  }
  fill(body, ...state.rows.map(row));
}

// ---- live monitoring: the calls agents are on now (GET /api/calls), POST /api/monitor

const MODES = ["listen", "whisper", "barge"];
const live = { calls: [] };

async function loadLiveCalls() {
  const { ok, data } = await api("GET", "/api/calls?state=active");
  live.calls = ok ? (data.calls || []).filter((call) => call.agent && call.answered_at) : [];
  renderLiveCalls();
}

async function monitor(call, mode) {
  const phone = $("mon-phone").value.trim();
  const status = $("mon-status");
  if (!/^[0-9]{1,16}$/.test(phone)) {
    status.textContent = t("mon.phone_needed");
    return;
  }
  const { ok, data } = await api("POST", "/api/monitor", { call_id: call.id, mode, phone });
  status.textContent = ok ? t("mon.ringing", { phone, mode: t(`mon.${mode}`) }) : data.error;
  status.dataset.state = ok ? "ringing" : "error";
}

function renderLiveCalls() {
  const body = $("mon-rows");
  if (!live.calls.length) {
    fill(body, el("tr", {}, [el("td", { colspan: "4", className: "muted", text: t("mon.none") })]));
    return;
  }
  fill(body, ...live.calls.map((call) => el("tr", { testid: "mon-call", dataset: { callId: call.id } }, [
    el("td", { className: "mono", text: call.caller_number || "—" }),
    el("td", { text: call.agent || "—" }),
    el("td", { text: call.queue || "—" }),
    el("td", {}, MODES.map((mode) => el("button", {
      type: "button", className: "ghost", text: t(`mon.${mode}`), testid: `mon-${mode}`,
      on: { click: () => monitor(call, mode) },
    }))),
  ])));
}

function setup() {
  $("tab-recordings").addEventListener("click", () => {
    search();
    loadLiveCalls();
  });
  $("mon-refresh").addEventListener("click", () => loadLiveCalls());
  $("rec-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search();
  });
  onLangChange(() => {
    render();
    renderLiveCalls();
  });
}

setup();
