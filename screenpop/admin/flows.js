// The IVR flow editor (admins): edit a flow's YAML in a code editor (flow-editor.js: YAML
// highlighting, completion and hover from the flow language's schema, problems underlined),
// have it checked as you type, see its diagram, publish it, compare and roll back versions.
// Everything that comes from the server or the editor is inserted with textContent; the
// diagram is shown through <img>, where an SVG cannot run scripts.
import { $, api, el, fill, formatTime, onLangChange, show, t } from "../common.js";
import { startPage } from "../shell.js";
import { FlowEditor } from "./flow-editor.js";

const CHECK_DELAY_MS = 400;

const state = {
  flow: null, // name of the selected flow
  active: null, // number of its active version
  activeSource: "", // source of its active version: publishing that again changes nothing
  checkSeq: 0, // answers to older checks are dropped
  checkedSource: null,
  check: null, // the last check's answer, shown in the page's language
  problems: [],
  timer: null,
  diagramUrl: null,
  diagram: "hint", // hint | current | stale | none: what the caption says
  diff: null, // the version whose diff is shown, or its error
  result: null, // the last publish/rollback outcome: { key, params, ok }
};

let editor = null; // the FlowEditor, made by wireEditor()

/** The server refused (401: the shell shows the login; 403: not allowed here). */
class Refused extends Error {}

async function call(method, path, body) {
  const answer = await api(method, path, body);
  if (answer.status === 401) throw new Refused("login required");
  if (answer.status === 403) {
    show("denied");
    throw new Refused("admins only");
  }
  if (answer.status === 0) throw new Error(answer.data.error);
  return answer;
}

// ---- the flow list and versions

async function loadFlows() {
  const { data } = await call("GET", "/api/flows");
  fill($("flow-list"), ...(data.flows || []).map((flow) => el("li", {}, [
    el("button", {
      type: "button", dataset: { flow: flow.name }, "aria-current": String(flow.name === state.flow),
      on: { click: () => selectFlow(flow.name) },
    }, [el("span", { text: flow.name }), el("span", { className: "entry", text: `${flow.entry} · v${flow.number}` })]),
  ])));
}

async function selectFlow(name, { keepEditor = false } = {}) {
  if (!keepEditor && isDirty() && name !== state.flow && !window.confirm(t("flows.discard"))) return;
  const { ok, data } = await call("GET", `/api/flows/${encodeURIComponent(name)}`);
  if (!ok) {
    setResult("flows.load_failed", { error: data.error }, false);
    return;
  }
  state.flow = data.name;
  state.active = data.active.number;
  state.activeSource = data.source;
  state.versions = data.versions;
  history.replaceState(null, "", `#${encodeURIComponent(data.name)}`);
  renderTitle();
  for (const button of document.querySelectorAll("#flow-list button")) {
    button.setAttribute("aria-current", String(button.dataset.flow === data.name));
  }
  renderVersions();
  if (!keepEditor) {
    editor.text = data.source;
    $("note").value = "";
    onSourceChanged(0);
  } else {
    updatePublishButton();
  }
}

function renderTitle() {
  $("editor-title").textContent = state.flow === null
    ? t("flows.editor") : t("flows.editor_of", { flow: state.flow, number: state.active });
}

function renderVersions() {
  const versions = state.versions || [];
  fill($("versions"), ...versions.map((version) => {
    const head = el("div", { className: "head" }, [
      el("strong", { text: `v${version.number}` }),
      version.active ? el("span", { className: "badge", text: t("flows.active") }) : null,
      el("span", { className: "author", text: version.author }),
      el("time", { text: formatTime(version.created_at), datetime: version.created_at || "" }),
    ]);
    const actions = el("div", { className: "actions" }, [
      el("button", { type: "button", className: "small", text: t("flows.diff"), on: { click: () => showDiff(version.number) } }),
      version.active ? null : el("button", {
        type: "button", className: "small rollback", text: t("flows.rollback"), on: { click: () => rollback(version.number) },
      }),
    ]);
    return el("li", { className: version.active ? "active" : "", dataset: { number: version.number } }, [
      head, version.note ? el("div", { className: "note", text: version.note }) : null, actions]);
  }));
  $("versions-empty").hidden = versions.length !== 0;
}

async function showDiff(number) {
  const { ok, data } = await call("GET", `/api/flows/${encodeURIComponent(state.flow)}/versions/${number}`);
  state.diff = ok ? data : { error: data.error };
  renderDiff();
}

function renderDiff() {
  const pre = $("diff");
  const diff = state.diff;
  if (diff === null) {
    $("diff-title").textContent = t("flows.changes");
    fill(pre, el("span", { className: "muted", text: t("flows.diff_hint") }));
    return;
  }
  if (diff.error) {
    $("diff-title").textContent = t("flows.version_failed", { error: diff.error });
    fill(pre);
    return;
  }
  $("diff-title").textContent = t("flows.diff_title", { number: diff.number });
  if (!diff.diff) {
    fill(pre, el("span", { text: t("flows.diff_first") }));
    return;
  }
  fill(pre, ...diff.diff.replace(/\n$/, "").split("\n").map((line) => {
    let className = "ctx";
    if (line.startsWith("@@")) className = "hunk";
    else if (line.startsWith("+") && !line.startsWith("+++")) className = "add";
    else if (line.startsWith("-") && !line.startsWith("---")) className = "del";
    return el("span", { className, text: line || " " });
  }));
}

async function rollback(number) {
  const question = t("flows.confirm_rollback", { flow: state.flow, number }) + (isDirty() ? t("flows.confirm_discard") : "");
  if (!window.confirm(question)) return;
  const { ok, data } = await call("POST", `/api/flows/${encodeURIComponent(state.flow)}/rollback`, { number });
  if (!ok) {
    setResult("flows.rollback_failed", { error: data.error }, false);
    return;
  }
  setResult("flows.rolled_back", { flow: data.version.flow, number: data.version.number, from: number }, true);
  await loadFlows();
  await selectFlow(data.version.flow, { keepEditor: false });
}

// ---- the editor, its gutter and the checks

function isDirty() {
  return state.flow !== null && editor.text !== state.activeSource;
}

/** The problems' list (each a button that puts the cursor on its line) and their underlines. */
function renderProblems() {
  fill($("problems"), ...state.problems.map((problem) => el("li", {}, [el("button", {
    type: "button", className: "problem", text: t("flows.problem", problem),
    dataset: { line: problem.line }, on: { click: () => editor.goTo(problem.line, problem.column) },
  })])));
  $("problem-count").textContent = state.problems.length
    ? t("flows.problem_count", { n: state.problems.length }) : t("flows.no_problem_count");
  editor.showProblems(state.problems);
}

/** The check's state line: `check` is { key, params, kind } or null. */
function setCheck(check) {
  state.check = check;
  renderCheck();
}

function renderCheck() {
  const node = $("check-state");
  const check = state.check;
  node.textContent = check ? t(check.key, check.params) : "";
  node.className = `check-state ${check?.kind || ""}`;
}

function setResult(key, params, ok) {
  state.result = { key, params, ok };
  renderResult();
}

function renderResult() {
  const node = $("publish-result");
  const result = state.result;
  node.textContent = result ? t(result.key, result.params) : "";
  node.className = result ? (result.ok ? "ok" : "bad") : "";
}

function updatePublishButton() {
  const source = editor.text;
  $("publish").disabled = !(
    state.checkedSource === source && state.problems.length === 0 &&
    source.trim() !== "" && source !== state.activeSource
  );
}

function onSourceChanged(delay = CHECK_DELAY_MS) {
  state.checkedSource = null;
  updatePublishButton();
  clearTimeout(state.timer);
  setCheck({ key: "flows.checking", params: {}, kind: "" });
  state.timer = setTimeout(check, delay);
}

async function check() {
  const source = editor.text;
  const seq = ++state.checkSeq;
  if (source.trim() === "") {
    state.problems = [];
    state.checkedSource = source;
    renderProblems();
    setCheck(null);
    updatePublishButton();
    return;
  }
  let answer;
  try {
    answer = await call("POST", "/api/flows/check", { source });
  } catch (error) {
    if (!(error instanceof Refused)) setCheck({ key: "flows.cannot_check", params: { error: error.message }, kind: "bad" });
    return;
  }
  if (seq !== state.checkSeq) return;
  const { ok, data } = answer;
  if (!ok) {
    state.problems = [];
    setCheck({ key: "flows.cannot_check", params: { error: data.error }, kind: "bad" });
    renderProblems();
    return;
  }
  state.problems = data.problems || [];
  state.checkedSource = source;
  renderProblems();
  if (data.ok) {
    setCheck({ key: "flows.ok", params: { flow: data.flow.name, entry: data.flow.entry }, kind: "ok" });
    showDiagram(data.svg);
  } else {
    const n = state.problems.length;
    setCheck({ key: n === 1 ? "flows.bad_one" : "flows.bad", params: { n }, kind: "bad" });
    setDiagram("stale");
  }
  updatePublishButton();
}

function setDiagram(what) {
  state.diagram = what;
  renderDiagram();
}

function renderDiagram() {
  const captions = { hint: "flows.diagram_hint", current: "flows.diagram_current", stale: "flows.diagram_stale", none: "flows.diagram_none" };
  $("diagram-caption").textContent = t(captions[state.diagram]);
  $("diagram").closest(".panel").classList.toggle("stale", state.diagram === "stale");
  $("diagram").alt = t("flows.diagram_alt");
  const natural = document.querySelector(".diagram-box").classList.contains("natural");
  $("zoom").textContent = t(natural ? "flows.zoom_fit" : "flows.zoom_actual");
}

function showDiagram(svg) {
  const img = $("diagram");
  if (!svg) {
    img.hidden = true;
    setDiagram("none");
    return;
  }
  const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
  img.onload = () => {
    if (state.diagramUrl && state.diagramUrl !== url) URL.revokeObjectURL(state.diagramUrl);
    state.diagramUrl = url;
  };
  img.src = url;
  img.hidden = false;
  setDiagram("current");
}

async function publish() {
  const button = $("publish");
  button.disabled = true;
  const source = editor.text;
  let answer;
  try {
    answer = await call("POST", "/api/flows/publish", { source, note: $("note").value });
  } catch (error) {
    if (!(error instanceof Refused)) setResult("flows.publish_failed", { error: error.message }, false);
    return;
  }
  const { ok, status, data } = answer;
  if (status === 422) {
    state.problems = data.problems || [];
    state.checkedSource = source;
    renderProblems();
    setResult("flows.not_published", {}, false);
    updatePublishButton();
    return;
  }
  if (!ok) {
    setResult("flows.publish_failed", { error: data.error }, false);
    updatePublishButton();
    return;
  }
  setResult("flows.published", { flow: data.version.flow, number: data.version.number }, true);
  $("note").value = "";
  state.flow = data.version.flow;
  await loadFlows();
  await selectFlow(data.version.flow, { keepEditor: true });
}

// ---- start

function wireEditor() {
  editor = new FlowEditor($("editor"), { onChange: () => onSourceChanged() });
  $("publish").addEventListener("click", publish);
  $("zoom").addEventListener("click", () => {
    document.querySelector(".diagram-box").classList.toggle("natural");
    renderDiagram();
  });
  window.addEventListener("beforeunload", (event) => {
    if (isDirty()) event.preventDefault();
  });
}

function renderAll() {
  renderTitle();
  renderVersions();
  renderDiff();
  renderProblems();
  renderCheck();
  renderResult();
  renderDiagram();
}

/** The flow language's schema, for completion and hover; the editor works without it. */
async function loadSchema() {
  const answer = await call("GET", "/api/flow-schema");
  if (answer.ok) editor.setSchema(answer.data);
}

async function begin() {
  renderAll();
  try {
    await Promise.all([loadFlows(), loadSchema()]);
    const wanted = decodeURIComponent(location.hash.slice(1));
    if (wanted && document.querySelector(`#flow-list button[data-flow="${CSS.escape(wanted)}"]`)) {
      await selectFlow(wanted);
    }
  } catch (error) {
    if (!(error instanceof Refused)) setResult("flows.unreachable", { error: error.message }, false);
  }
}

wireEditor();
onLangChange(() => {
  renderAll();
  editor.relabel();
});
startPage({ page: "flows", onUser: begin });
