// The phone in the desk: the agent's WebRTC endpoint registered with Asterisk over wss
// (JsSIP, vendored). Credentials come from GET /api/phone for the logged-in agent alone and
// live only in this module's memory; they are never written into the page.
// States shown (data-state of #phone-state): off, connecting, registered, reconnecting,
// offline (the browser lost its network), failed, no_microphone, ringing, in_call, on_hold.

import JsSIP from "./vendor/jssip/jssip.esm.js";
import { $, api, el, t } from "./common.js";

/** how long to wait for more ICE candidates once one has come: no long gathering wait */
const ICE_GRACE_MS = 400;
/** a call the page asked for (a supervisor's monitoring) is answered if it rings this soon */
const EXPECTED_CALL_MS = 30_000;

const phone = {
  ua: null,
  session: null,
  state: "off",
  microphone: true,
  muted: false,
  held: false,
  iceServers: [],
  ringer: null,
  /** until when an incoming call is one the page asked for (answered without a click) */
  expectedUntil: 0,
  /** what tests read (window.deskPhone): the live call's RTCPeerConnection, or null */
  get connection() { return this.session ? this.session.connection : null; },
};

function setState(state) {
  phone.state = state;
  const badge = $("phone-state");
  if (!badge) return;
  const shown = state === "registered" && !phone.microphone ? "no_microphone" : state;
  badge.dataset.state = shown;
  badge.dataset.i18n = `phone.state.${shown}`;
  badge.textContent = t(`phone.state.${shown}`);
  const inCall = ["in_call", "on_hold"].includes(state);
  $("phone-answer").hidden = state !== "ringing";
  $("phone-hangup").hidden = !(inCall || state === "ringing");
  for (const id of ["phone-hold", "phone-mute", "phone-dtmf"]) $(id).hidden = !inCall;
  $("phone-hold").textContent = t(phone.held ? "phone.unhold" : "phone.hold");
  $("phone-mute").textContent = t(phone.muted ? "phone.unmute" : "phone.mute");
  $("phone-box").hidden = state === "off";
}

function ring(on) {
  if (!on) {
    if (phone.ringer) phone.ringer.close().catch(() => {});
    phone.ringer = null;
    return;
  }
  if (phone.ringer) return;
  try {
    const context = new AudioContext();
    const tone = context.createOscillator();
    const gain = context.createGain();
    tone.frequency.value = 440;
    gain.gain.value = 0;
    for (let at = 0; at < 60; at += 3) {  // 1 s on, 2 s off, for a minute at most
      gain.gain.setValueAtTime(0.15, context.currentTime + at);
      gain.gain.setValueAtTime(0, context.currentTime + at + 1);
    }
    tone.connect(gain).connect(context.destination);
    tone.start();
    phone.ringer = context;
  } catch {
    phone.ringer = null;
  }
}

function playRemote(session) {
  const connection = session.connection;
  if (!connection) return;
  const tracks = connection.getReceivers().map((receiver) => receiver.track).filter(Boolean);
  const audio = $("phone-audio");
  audio.srcObject = new MediaStream(tracks);
  audio.play().catch(() => {});
}

function endSession() {
  ring(false);
  phone.session = null;
  phone.muted = false;
  phone.held = false;
  $("phone-audio").srcObject = null;
  setState(idleState());
}

/** What the phone is without a call: registered, or why not. */
function idleState() {
  if (!navigator.onLine) return "offline";
  return phone.ua && phone.ua.isRegistered() ? "registered" : "reconnecting";
}

/** The network went away: say so, and give up a call that is only ringing here (if the
 * refusal still reaches Asterisk, the queue offers the caller to someone else at once; if
 * not, Asterisk forgets this browser when it stops answering OPTIONS). Back online: it
 * registers again at once (JsSIP reconnects a closed websocket by itself). */
function onOffline() {
  if (!phone.ua) return;
  if (phone.session && phone.state === "ringing") phone.session.terminate({ status_code: 480 });
  if (!phone.session) setState("offline");
}

function onOnline() {
  if (!phone.ua) return;
  // Asterisk may have forgotten this browser meanwhile (it stopped answering OPTIONS):
  // register again now rather than at the next refresh
  if (phone.ua.isConnected()) phone.ua.register();
  if (!phone.session) setState(idleState());
}

function onSession({ originator, session }) {
  if (originator !== "remote" || phone.session || !navigator.onLine) {
    // busy, or this browser has lost its network: not a seat to ring now
    if (originator === "remote") session.terminate({ status_code: phone.session ? 486 : 480 });
    return;
  }
  phone.session = session;
  session.on("icecandidate", (event) => {
    if (!event.ready.timer) event.ready.timer = setTimeout(event.ready, ICE_GRACE_MS);
  });
  session.on("accepted", () => { ring(false); setState("in_call"); playRemote(session); });
  session.on("confirmed", () => playRemote(session));
  session.on("hold", () => { phone.held = true; setState("on_hold"); });
  session.on("unhold", () => { phone.held = false; setState("in_call"); });
  session.on("ended", endSession);
  session.on("failed", endSession);
  setState("ringing");
  if (Date.now() < phone.expectedUntil) {
    phone.expectedUntil = 0;
    answer();
    return;
  }
  ring(true);
}

/** The next call in the coming seconds is one this page asked for: answer it at once. */
export function expectCall() {
  phone.expectedUntil = Date.now() + EXPECTED_CALL_MS;
}

export function isRegistered() {
  return Boolean(phone.ua && phone.ua.isRegistered());
}

export function answer() {
  if (!phone.session || phone.state !== "ringing") return;
  ring(false);
  phone.session.answer({
    mediaConstraints: { audio: true, video: false },
    pcConfig: { iceServers: phone.iceServers },
  });
}

/** Hang up: the browser's own call here, else the agent's call through the server (desk phones). */
export async function hangup() {
  if (phone.session) {
    phone.session.terminate();
    return { ok: true, data: {} };
  }
  return api("POST", "/api/agent/hangup");
}

export function hasCall() {
  return phone.session !== null;
}

function toggleHold() {
  if (!phone.session) return;
  if (phone.held) phone.session.unhold(); else phone.session.hold();
}

function toggleMute() {
  if (!phone.session) return;
  if (phone.muted) phone.session.unmute({ audio: true }); else phone.session.mute({ audio: true });
  phone.muted = !phone.muted;
  setState(phone.state);
}

function sendDtmf(event) {
  event.preventDefault();
  const input = event.target.elements.tones;
  const tones = input.value.replace(/[^0-9*#A-D]/gi, "");
  input.value = "";
  if (phone.session && tones) phone.session.sendDTMF(tones, { transportType: "RFC2833", duration: 160 });
}

async function microphoneWorks() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    for (const track of stream.getTracks()) track.stop();
    return true;
  } catch {
    return false;
  }
}

/** The phone's controls, in the desk's header; hidden until the phone starts. */
export function buildPhoneBox() {
  const dtmf = el("form", { className: "phone-dtmf", id: "phone-dtmf", hidden: true }, [
    el("input", {
      name: "tones", size: 4, autocomplete: "off", testid: "phone-dtmf-input",
      "data-i18n-title": "phone.dtmf", title: t("phone.dtmf"),
    }),
    el("button", { type: "submit", className: "small", testid: "phone-dtmf-send", "data-i18n": "phone.dtmf_send", text: t("phone.dtmf_send") }),
  ]);
  dtmf.addEventListener("submit", sendDtmf);
  const button = (id, key, action, className = "") => el("button", {
    type: "button", id, className, testid: id, hidden: true, "data-i18n": key, text: t(key), on: { click: action },
  });
  return el("div", { className: "phone-box", id: "phone-box", testid: "phone-box", hidden: true }, [
    el("span", { className: "phone-label", "data-i18n": "phone.title", text: t("phone.title") }),
    el("span", { className: "state-badge phone-state", id: "phone-state", testid: "phone-state", "data-state": "off" }),
    button("phone-answer", "phone.answer", answer, "go"),
    button("phone-hangup", "phone.hangup", () => hangup(), "warn"),
    button("phone-hold", "phone.hold", toggleHold),
    button("phone-mute", "phone.mute", toggleMute),
    dtmf,
    el("audio", { id: "phone-audio", autoplay: true, hidden: true }),
  ]);
}

/** Registers the agent's endpoint when the server has one for them; returns whether it did. */
export async function startPhone() {
  if (phone.ua) return true;
  const { ok, data } = await api("GET", "/api/phone");
  if (!ok || !data.phone.enabled) return false;
  const { wss_url: url, uri, endpoint, password, ice_servers: iceServers } = data.phone;
  phone.iceServers = iceServers.map((server) => Object.fromEntries(
    Object.entries(server).filter(([, value]) => value !== null)));
  phone.microphone = await microphoneWorks();
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(url)], uri, password, authorization_user: endpoint,
    register: true, register_expires: 120, session_timers: false,
    connection_recovery_min_interval: 1, connection_recovery_max_interval: 8,
    user_agent: "ctiserver desk",
  });
  phone.ua = ua;
  ua.on("connecting", () => { if (phone.state === "off") setState("connecting"); });
  ua.on("disconnected", () => { if (!phone.session) setState(idleState()); });
  ua.on("registered", () => { if (!phone.session) setState("registered"); });
  ua.on("unregistered", () => { if (!phone.session && phone.ua) setState(idleState()); });
  ua.on("registrationFailed", () => setState("failed"));
  ua.on("newRTCSession", onSession);
  setState("connecting");
  ua.start();
  window.deskPhone = phone;
  return true;
}

export function stopPhone() {
  ring(false);
  if (phone.session) phone.session.terminate();
  phone.session = null;
  if (phone.ua) phone.ua.stop();
  phone.ua = null;
  setState("off");
}

/** The state badge and buttons again, in the page's new language. */
export function renderPhone() {
  if ($("phone-state")) setState(phone.state);
}

window.addEventListener("beforeunload", () => { if (phone.ua) phone.ua.stop(); });
window.addEventListener("offline", onOffline);
window.addEventListener("online", onOnline);
