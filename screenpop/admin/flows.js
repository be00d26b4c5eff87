// The IVR flow editor. Everything that comes from the server or the editor is inserted
// with textContent; the diagram is shown through <img>, where an SVG cannot run scripts.
"use strict";

const CHECK_DELAY_MS = 400;

const state = {
  flow: null,         // name of the selected flow
  activeSource: "",   // source of its active version: publishing that again changes nothing
  checkSeq: 0,        // answers to older checks are dropped
  checkedSource: null,
  problems: [],
  timer: null,
  diagramUrl: null,
  gutterKey: "",
};

const $ = (id) => document.getElementById(id);

function el(tag, options = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(options)) {
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else if (key === "onclick") node.addEventListener("click", value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function show(sectionId) {
  for (const id of ["loading", "login", "denied", "main"]) $(id).hidden = id !== sectionId;
}

class ApiRefused extends Error {}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = {};
  try {
    data = await response.json();
  } catch {
    data = { error: `HTTP ${response.status}` };
  }
  if (response.status === 401) {
    show("login");
    throw new ApiRefused("login required");
  }
  if (response.status === 403) {
    show("denied");
    throw new ApiRefused("admins only");
  }
  return { status: response.status, ok: response.ok, data };
}

function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

// ---- the flow list and versions

async function loadFlows() {
  const { data } = await api("GET", "/api/flows");
  const list = $("flow-list");
  list.replaceChildren();
  for (const flow of data.flows || []) {
    const button = el("button", { type: "button", "data-flow": flow.name }, [
      el("span", { text: flow.name }),
      el("span", { className: "entry", text: `${flow.entry} · v${flow.number}` }),
    ]);
    button.addEventListener("click", () => selectFlow(flow.name));
    if (flow.name === state.flow) button.setAttribute("aria-current", "true");
    list.append(el("li", {}, [button]));
  }
}

async function selectFlow(name, { keepEditor = false } = {}) {
  if (!keepEditor && isDirty() && name !== state.flow &&
      !window.confirm("Discard the unpublished changes in the editor?")) return;
  const { ok, data } = await api("GET", `/api/flows/${encodeURIComponent(name)}`);
  if (!ok) {
    setPublishResult(data.error || "cannot load the flow", false);
    return;
  }
  state.flow = data.name;
  state.activeSource = data.source;
  history.replaceState(null, "", `#${encodeURIComponent(data.name)}`);
  $("editor-title").textContent = `Editor · ${data.name} (active: v${data.active.number})`;
  for (const button of document.querySelectorAll("#flow-list button")) {
    button.setAttribute("aria-current", String(button.dataset.flow === data.name));
  }
  renderVersions(data.versions);
  if (!keepEditor) {
    $("source").value = data.source;
    $("source").scrollTop = 0;
    $("note").value = "";
    onSourceChanged(0);
  } else {
    updatePublishButton();
  }
}

function renderVersions(versions) {
  const list = $("versions");
  list.replaceChildren();
  for (const version of versions) {
    const head = el("div", { className: "head" }, [el("strong", { text: `v${version.number}` })]);
    if (version.active) head.append(el("span", { className: "badge", text: "active" }));
    head.append(
      el("span", { className: "author", text: version.author }),
      el("time", { text: formatTime(version.created_at), datetime: version.created_at || "" }),
    );
    const actions = el("div", { className: "actions" }, [
      el("button", { type: "button", className: "small", text: "Diff", onclick: () => showDiff(version.number) }),
    ]);
    if (!version.active) {
      actions.append(el("button", {
        type: "button", className: "small rollback", text: "Roll back to this",
        onclick: () => rollback(version.number),
      }));
    }
    const item = el("li", { className: version.active ? "active" : "", "data-number": version.number }, [head]);
    if (version.note) item.append(el("div", { className: "note", text: version.note }));
    item.append(actions);
    list.append(item);
  }
  $("versions-empty").hidden = versions.length !== 0;
}

async function showDiff(number) {
  const { ok, data } = await api("GET", `/api/flows/${encodeURIComponent(state.flow)}/versions/${number}`);
  const pre = $("diff");
  pre.replaceChildren();
  if (!ok) {
    $("diff-title").textContent = data.error || "cannot load the version";
    return;
  }
  $("diff-title").textContent = `Version ${data.number}: changes against the version before`;
  if (!data.diff) {
    pre.append(el("span", { text: "The first version: nothing earlier to compare with." }));
    return;
  }
  for (const line of data.diff.replace(/\n$/, "").split("\n")) {
    let className = "";
    if (line.startsWith("@@")) className = "hunk";
    else if (line.startsWith("+") && !line.startsWith("+++")) className = "add";
    else if (line.startsWith("-") && !line.startsWith("---")) className = "del";
    pre.append(el("span", { className: className || "ctx", text: line || " " }));
  }
}

async function rollback(number) {
  const discard = isDirty() ? " The unpublished edits in the editor are discarded." : "";
  if (!window.confirm(`Roll ${state.flow} back to version ${number}? Callers get it at once.${discard}`)) return;
  const { ok, data } = await api("POST", `/api/flows/${encodeURIComponent(state.flow)}/rollback`, { number });
  if (!ok) {
    setPublishResult(data.error || "rollback failed", false);
    return;
  }
  setPublishResult(`Rolled back: ${data.version.flow} is now version ${data.version.number} (the text of version ${number})`, true);
  await loadFlows();
  await selectFlow(data.version.flow, { keepEditor: false });
}

// ---- the editor, its gutter and the checks

function isDirty() {
  return state.flow !== null && $("source").value !== state.activeSource;
}

function renderGutter() {
  const lines = $("source").value.split("\n").length;
  const byLine = new Map();
  for (const problem of state.problems) {
    const messages = byLine.get(problem.line) || [];
    messages.push(`column ${problem.column}: ${problem.message}`);
    byLine.set(problem.line, messages);
  }
  const key = `${lines}|${JSON.stringify([...byLine])}`;
  if (key === state.gutterKey) return;
  state.gutterKey = key;
  const gutter = $("gutter");
  gutter.replaceChildren();
  for (let line = 1; line <= lines; line++) {
    const div = el("div", { text: String(line) });
    if (byLine.has(line)) {
      div.className = "bad";
      div.title = byLine.get(line).join("\n");
    }
    gutter.append(div);
  }
  gutter.scrollTop = $("source").scrollTop;
}

function renderProblems() {
  const list = $("problems");
  list.replaceChildren();
  for (const problem of state.problems) {
    const item = el("li", { text: `line ${problem.line}, column ${problem.column}: ${problem.message}` });
    item.addEventListener("click", () => goTo(problem.line, problem.column));
    list.append(item);
  }
  $("problem-count").textContent = state.problems.length ? `(${state.problems.length})` : "(none)";
  renderGutter();
}

function goTo(line, column) {
  const textarea = $("source");
  const lines = textarea.value.split("\n");
  let offset = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i++) offset += lines[i].length + 1;
  offset += Math.max(0, column - 1);
  textarea.focus();
  textarea.setSelectionRange(offset, offset);
}

function setCheckState(text, kind) {
  const node = $("check-state");
  node.textContent = text;
  node.className = `check-state ${kind || ""}`;
}

function setPublishResult(text, ok) {
  const node = $("publish-result");
  node.textContent = text;
  node.className = ok ? "ok" : "bad";
}

function updatePublishButton() {
  const source = $("source").value;
  $("publish").disabled = !(
    state.checkedSource === source && state.problems.length === 0 &&
    source.trim() !== "" && source !== state.activeSource
  );
}

function onSourceChanged(delay = CHECK_DELAY_MS) {
  state.checkedSource = null;
  updatePublishButton();
  renderGutter();
  clearTimeout(state.timer);
  setCheckState("checking…", "");
  state.timer = setTimeout(check, delay);
}

async function check() {
  const source = $("source").value;
  const seq = ++state.checkSeq;
  if (source.trim() === "") {
    state.problems = [];
    state.checkedSource = source;
    renderProblems();
    setCheckState("", "");
    updatePublishButton();
    return;
  }
  let answer;
  try {
    answer = await api("POST", "/api/flows/check", { source });
  } catch (error) {
    if (!(error instanceof ApiRefused)) setCheckState(`cannot check: ${error.message}`, "bad");
    return;
  }
  if (seq !== state.checkSeq) return;
  const { ok, data } = answer;
  if (!ok) {
    state.problems = [];
    setCheckState(data.error || "cannot check", "bad");
    renderProblems();
    return;
  }
  state.problems = data.problems || [];
  state.checkedSource = source;
  renderProblems();
  if (data.ok) {
    setCheckState(`no problems · flow ${data.flow.name}, entry ${data.flow.entry}`, "ok");
    showDiagram(data.svg);
  } else {
    const count = state.problems.length;
    setCheckState(`${count} problem${count === 1 ? "" : "s"}`, "bad");
    $("diagram-caption").textContent = "Fix the problems to update the diagram; this one is of the last valid text.";
    $("diagram").closest(".panel").classList.add("stale");
  }
  updatePublishButton();
}

function showDiagram(svg) {
  const img = $("diagram");
  img.closest(".panel").classList.remove("stale");
  if (!svg) {
    $("diagram-caption").textContent = "The diagram cannot be drawn on this server (Graphviz missing?).";
    img.hidden = true;
    return;
  }
  const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
  img.onload = () => {
    if (state.diagramUrl && state.diagramUrl !== url) URL.revokeObjectURL(state.diagramUrl);
    state.diagramUrl = url;
  };
  img.src = url;
  img.hidden = false;
  $("diagram-caption").textContent = "Diagram of the text in the editor.";
}

async function publish() {
  const button = $("publish");
  button.disabled = true;
  const source = $("source").value;
  let answer;
  try {
    answer = await api("POST", "/api/flows/publish", { source, note: $("note").value });
  } catch {
    return;
  }
  const { ok, status, data } = answer;
  if (status === 422) {
    state.problems = data.problems || [];
    state.checkedSource = source;
    renderProblems();
    setPublishResult("Not published: the flow has problems; the running version stays.", false);
    updatePublishButton();
    return;
  }
  if (!ok) {
    setPublishResult(data.error || `publishing failed (HTTP ${status})`, false);
    updatePublishButton();
    return;
  }
  setPublishResult(`Published ${data.version.flow} version ${data.version.number}`, true);
  $("note").value = "";
  state.flow = data.version.flow;
  await loadFlows();
  await selectFlow(data.version.flow, { keepEditor: true });
}

// ---- start

function wireEditor() {
  const textarea = $("source");
  textarea.addEventListener("input", () => onSourceChanged());
  textarea.addEventListener("scroll", () => { $("gutter").scrollTop = textarea.scrollTop; });
  textarea.addEventListener("keydown", (event) => {
    // YAML forbids tabs for indentation: Tab indents with two spaces
    if (event.key === "Tab" && !event.shiftKey && !event.ctrlKey && !event.altKey) {
      event.preventDefault();
      textarea.setRangeText("  ", textarea.selectionStart, textarea.selectionEnd, "end");
      onSourceChanged();
    }
  });
  $("publish").addEventListener("click", publish);
  $("zoom").addEventListener("click", () => {
    const box = document.querySelector(".diagram-box");
    box.classList.toggle("natural");
    $("zoom").textContent = box.classList.contains("natural") ? "Fit" : "Actual size";
  });
  window.addEventListener("beforeunload", (event) => {
    if (isDirty()) event.preventDefault();
  });
}

async function login(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: form.get("username"), password: form.get("password") }),
  });
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    $("login-status").textContent = data.error || `HTTP ${response.status}`;
    return;
  }
  $("login-status").textContent = "";
  await start();
}

async function start() {
  try {
    const { data } = await api("GET", "/api/me");
    const user = data.user;
    $("whoami").textContent = `${user.display_name || user.username} (${user.role})`;
    if (user.role !== "admin") {
      show("denied");
      return;
    }
    show("main");
    await loadFlows();
    const wanted = decodeURIComponent(location.hash.slice(1));
    if (wanted && document.querySelector(`#flow-list button[data-flow="${CSS.escape(wanted)}"]`)) {
      await selectFlow(wanted);
    }
  } catch (error) {
    if (!(error instanceof ApiRefused)) {
      show("loading");
      $("loading").textContent = `Cannot reach the server: ${error.message}`;
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  wireEditor();
  $("login-form").addEventListener("submit", login);
  start();
});
