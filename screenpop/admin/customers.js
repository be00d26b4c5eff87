// Customer import (CSV or Excel .xlsx) and CSV / Excel exports (admins). The report's reasons quote the file's cells:
// everything from the server goes in with textContent (el's text), never as HTML.
import { $, el, fill, lang, onLangChange, show, t, tOr } from "../common.js";
import { startPage } from "../shell.js";

let lastReport = null;
const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

// the file's own type when the browser knows it; the server tells a workbook by its content
function contentType(file) {
  if (file.type) return file.type;
  return file.name.toLowerCase().endsWith(".xlsx") ? XLSX : "text/csv";
}

function renderReport() {
  const box = $("report");
  box.hidden = lastReport === null;
  if (lastReport === null) return;
  $("summary").textContent = t("imp.summary", lastReport);
  $("no-problems").hidden = lastReport.problems.length > 0;
  fill($("problems"), ...lastReport.problems.map((p) => el("li", {
    text: t("imp.line", { line: p.line, reason: why(p) }), dataset: { line: String(p.line), code: p.code || "" },
  })));
}

/** A refused row's reason in the page's language (its code and values; the server's text if it has no code). */
function why(problem) {
  const params = { ...(problem.params || {}) };
  const key = `imp.why.${problem.code}`;
  if (params.column && !/^\d+$/.test(params.column)) params.column = tOr("imp.column", params.column);
  if (problem.code === "open_quote" && params.inner) params.reason = why({ code: params.inner, params, reason: params.reason });
  const said = problem.code ? t(key, params) : key;
  return said === key ? problem.reason : said;
}

async function upload(event) {
  event.preventDefault();
  const file = $("file").files[0];
  const status = $("upload-status");
  if (!file) {
    status.textContent = t("imp.pick_file");
    return;
  }
  $("upload").disabled = true;
  status.textContent = t("imp.uploading");
  try {
    const params = new URLSearchParams();
    if ($("encoding").value) params.set("encoding", $("encoding").value);
    if ($("sheet").value.trim()) params.set("sheet", $("sheet").value.trim());
    const target = params.toString() ? `/api/import/customers?${params}` : "/api/import/customers";
    const response = await fetch(target, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": contentType(file), Accept: "application/json" }, body: file,
    });
    let data = {};
    try {
      data = await response.json();
    } catch {
      data = { error: `HTTP ${response.status}` };
    }
    if (response.status === 401) return show("login");
    if (response.status === 403) return show("denied");
    if (!response.ok) {
      status.textContent = t("imp.failed", { error: data.error || `HTTP ${response.status}` });
      return;
    }
    status.textContent = "";
    lastReport = data;
    renderReport();
  } catch (error) {
    status.textContent = t("imp.failed", { error: String(error.message || error) });
  } finally {
    $("upload").disabled = false;
  }
}

/** The export links: the period chosen, the headers and words in the page's language. */
function exportLinks() {
  const params = new URLSearchParams({ lang: lang() });
  if ($("from").value) params.set("from", $("from").value);
  if ($("to").value) params.set("to", $("to").value);
  const query = `?${params}`;
  for (const what of ["customers", "tickets", "calls"]) {
    $(`export-${what}`).setAttribute("href", `/api/export/${what}.csv${query}`);
    $(`export-${what}-xlsx`).setAttribute("href", `/api/export/${what}.xlsx${query}`);
  }
}

function end() {
  lastReport = null;
  renderReport();
}

function init() {
  onLangChange(() => {
    renderReport();
    exportLinks();
  });
  exportLinks();
  $("upload-form").addEventListener("submit", upload);
  $("from").addEventListener("change", exportLinks);
  $("to").addEventListener("change", exportLinks);
  startPage({ page: "customers", onUser: () => {}, onLogout: end });
}

init();
