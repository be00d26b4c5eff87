// The supervisor page's Recordings tab: search GET /api/recordings, play a recording in the
// page's <audio> (its MP3, made by the server on first request; GET .../audio answers Range
// requests, so seeking works; the WAV if the MP3 cannot be had), draw its waveform (GET
// .../waveform) above the player with the paused gaps, click on it to seek, download the WAV.
// Server data is inserted with textContent only (el() in common.js).

import { $, api, el, fill, formatDuration, formatTime, onLangChange, t, tOr } from "./common.js";
import { buildPhoneBox, expectCall, isRegistered, renderPhone, startPhone } from "./phone.js";

const state = { rows: [], error: null, request: 0, playing: null, searched: "", agents: null };

/** The search's query string from the form; dates are whole local days. */
function query() {
  const params = new URLSearchParams();
  const caller = $("rec-caller").value.trim();
  const agent = $("rec-agent").value;
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
  state.searched = $("rec-caller").value.trim();
  render();
  $("recordings-view").setAttribute("aria-busy", "false");
}

function play(recording) {
  const player = $("rec-player");
  player.src = recording.mp3_url || recording.audio_url;
  player.dataset.recordingId = recording.id;
  player.dataset.format = recording.mp3_url ? "mp3" : "wav";
  state.playing = recording;
  $("rec-note").textContent = "";
  $("rec-playing").textContent = t("rec.playing", {
    caller: recording.caller_number || "—", started: formatTime(recording.started_at),
  });
  const download = $("rec-download");
  download.href = `${recording.audio_url}?download=1`;
  download.hidden = false;
  loadWaveform(recording);
  player.play().catch(() => {}); // a browser refusing autoplay leaves the controls to the user
}

/** The compressed copy failed (the server could not make it, or the browser cannot play it): the WAV. */
function fallBackToWav() {
  const player = $("rec-player");
  const recording = state.playing;
  if (!recording || player.dataset.format !== "mp3" || player.dataset.recordingId !== recording.id) return;
  player.dataset.format = "wav";
  player.src = recording.audio_url;
  $("rec-note").textContent = t("rec.wav_fallback");
  player.play().catch(() => {});
}

// ---- the waveform: min/max peaks drawn as bars, the paused gaps shaded, the playhead

const wave = { data: null, request: 0 };

async function loadWaveform(recording) {
  const number = ++wave.request;
  const canvas = $("rec-wave");
  wave.data = null;
  canvas.hidden = false;
  canvas.dataset.state = "loading";
  canvas.dataset.recordingId = recording.id;
  drawWave();
  const { ok, data } = await api("GET", recording.waveform_url || `/api/recordings/${encodeURIComponent(recording.id)}/waveform`);
  if (number !== wave.request) return;
  wave.data = ok && Array.isArray(data.max) ? data : null;
  canvas.dataset.state = wave.data ? "drawn" : "error";
  canvas.dataset.points = wave.data ? String(wave.data.max.length) : "0";
  canvas.dataset.gaps = wave.data ? String((wave.data.gaps || []).length) : "0";
  canvas.title = wave.data ? t("rec.wave_hint") : t("rec.wave_failed", { error: data.error || "?" });
  if (!wave.data) $("rec-note").textContent = t("rec.wave_failed", { error: data.error || "?" });
  drawWave();
}

function waveDuration() {
  const player = $("rec-player");
  if (wave.data && wave.data.duration > 0) return wave.data.duration;
  return Number.isFinite(player.duration) ? player.duration : 0;
}

function drawWave() {
  const canvas = $("rec-wave");
  if (canvas.hidden) return;
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(Math.round((canvas.clientWidth || 900) * ratio), 1);
  const height = Math.max(Math.round((canvas.clientHeight || 80) * ratio), 1);
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, width, height);
  const data = wave.data;
  const duration = waveDuration();
  if (!data || !duration) return;
  const style = getComputedStyle(document.documentElement);
  ctx.fillStyle = "rgba(107, 114, 128, 0.25)";
  for (const gap of data.gaps || []) {
    const start = (gap.start / duration) * width;
    const end = ((gap.end ?? duration) / duration) * width;
    ctx.fillRect(start, 0, Math.max(end - start, 1), height);
  }
  // The bars keep a margin above and below (a full-scale peak stops short of the edge), so the
  // shaded gaps, drawn over the whole height, stay visible beside the loudest speech.
  const middle = height / 2;
  const reach = middle * 0.9;
  const count = data.max.length;
  const step = width / Math.max(count, 1);
  ctx.fillStyle = style.getPropertyValue("--accent").trim() || "#1d4ed8";
  for (let i = 0; i < count; i += 1) {
    const top = middle - data.max[i] * reach;
    const bottom = middle - data.min[i] * reach;
    ctx.fillRect(i * step, top, Math.max(step - 0.5 * ratio, 1), Math.max(bottom - top, ratio));
  }
  const player = $("rec-player");
  if (player.dataset.recordingId === canvas.dataset.recordingId && player.currentTime > 0) {
    ctx.fillStyle = style.getPropertyValue("--bad").trim() || "#b91c1c";
    ctx.fillRect((player.currentTime / duration) * width, 0, Math.max(ratio, 1), height);
  }
}

/** A click on the waveform seeks the player there. */
function seekFromWave(event) {
  const canvas = $("rec-wave");
  const player = $("rec-player");
  const duration = waveDuration();
  if (!duration || player.dataset.recordingId !== canvas.dataset.recordingId) return;
  const box = canvas.getBoundingClientRect();
  const fraction = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
  player.currentTime = fraction * duration;
  canvas.dataset.seekedTo = String(Math.round(fraction * duration * 1000) / 1000);
  drawWave();
  if (player.paused) player.play().catch(() => {});
}

/** The agent filter: the directory's agents by name (the value is the extension the recordings
 * name), as the reports' filter lists them (GET /api/reports/agent-choices, supervisors'). */
async function fillAgents() {
  if (!state.agents) {
    const { ok, data } = await api("GET", "/api/reports/agent-choices");
    if (!ok) return;
    state.agents = data.agents || [];
    render();
  }
  const select = $("rec-agent");
  const chosen = select.value;
  fill(select, el("option", { value: "", text: t("rp.all_agents") }),
    ...state.agents.map((a) => el("option", { value: a.extension, text: `${a.name}（${a.extension}）` })));
  select.value = chosen;
}

/** An agent as people know them: the name and the extension. */
function agentName(extension) {
  const known = (state.agents || []).find((a) => a.extension === extension);
  return known && known.name !== extension ? `${known.name}（${extension}）` : extension;
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
    el("td", { text: recording.agent ? agentName(recording.agent) : "—" }),
    el("td", { text: tOr("queue", recording.queue) || "—" }),
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
    const text = state.searched ? t("rec.none_for", { caller: state.searched }) : t("rec.none");
    fill(body, el("tr", {}, [el("td", { colspan: "6", className: "muted", text, testid: "rec-none" })]));
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

/** Ring the supervisor's desk phone (the extension typed), or with none their browser
 * phone, which answers the monitoring call by itself since they asked for it. */
async function monitor(call, mode) {
  const phone = $("mon-phone").value.trim();
  const status = $("mon-status");
  const browser = phone === "" && isRegistered();
  if (!browser && !/^[0-9]{1,16}$/.test(phone)) {
    status.textContent = t("mon.phone_needed");
    return;
  }
  if (browser) expectCall();
  const { ok, data } = await api("POST", "/api/monitor", { call_id: call.id, mode, phone });
  const where = browser ? t("phone.title") : phone;
  status.textContent = ok ? t("mon.ringing", { phone: where, mode: t(`mon.${mode}`) }) : data.error;
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
    el("td", { text: tOr("queue", call.queue) || "—" }),
    el("td", {}, MODES.map((mode) => el("button", {
      type: "button", className: "ghost", text: t(`mon.${mode}`), testid: `mon-${mode}`,
      on: { click: () => monitor(call, mode) },
    }))),
  ])));
}

function setup() {
  $("tab-recordings").addEventListener("click", () => {
    search();
    fillAgents();
    loadLiveCalls();
    startPhone();  // the supervisor's browser phone, for live monitoring without a desk phone
  });
  $("mon-status").after(buildPhoneBox());
  $("mon-refresh").addEventListener("click", () => loadLiveCalls());
  const player = $("rec-player");
  player.addEventListener("error", fallBackToWav);
  player.addEventListener("timeupdate", drawWave);
  player.addEventListener("seeked", drawWave);
  $("rec-wave").addEventListener("click", seekFromWave);
  window.addEventListener("resize", drawWave);
  $("rec-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search();
  });
  onLangChange(() => {
    render();
    if (state.agents) fillAgents();
    if (wave.data) $("rec-wave").title = t("rec.wave_hint");
    renderLiveCalls();
    renderPhone();
  });
}

setup();
