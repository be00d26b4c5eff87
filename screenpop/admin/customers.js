// Customer import and CSV exports (admins). The report's reasons quote the file's cells:
// everything from the server goes in with textContent (el's text), never as HTML.
import { $, applyI18n, el, fill, onLangChange, setupLangToggle, show, startSession, t } from "../common.js";
import { STRINGS } from "../i18n.js";

Object.assign(STRINGS.zh, {
  "imp.page_title": "客户导入与导出",
  "imp.title": "客户导入与数据导出",
  "imp.denied_title": "仅限管理员",
  "imp.denied": "只有管理员可以导入客户。",
  "imp.upload_title": "导入客户（CSV）",
  "imp.upload_hint": "表头：姓名、电话、省、市、区、街道、详细地址、级别、型号、序列号、安装日期；编码自动识别（UTF-8、GB18030、Big5、UTF-16），也可指定；一行一个产品，多个电话用“;”分隔。重复导入不会产生重复数据。",
  "imp.upload": "上传并导入",
  "imp.uploading": "正在导入…",
  "imp.pick_file": "请选择一个 CSV 文件",
  "imp.encoding": "编码",
  "imp.encoding_auto": "自动识别",
  "imp.failed": "导入失败：{error}",
  "imp.summary": "已导入 {accepted} 行（新增客户 {customers}、电话 {phones}、产品 {products}；{unchanged} 行已存在），拒绝 {rejected} 行",
  "imp.rejected_title": "被拒绝的行",
  "imp.no_problems": "没有被拒绝的行。",
  "imp.line": "第 {line} 行：{reason}",
  "imp.export_title": "导出（CSV）",
  "imp.from": "开始日期",
  "imp.to": "结束日期",
  "imp.export.customers": "客户",
  "imp.export.tickets": "工单",
  "imp.export.calls": "通话记录",
});
Object.assign(STRINGS.en, {
  "imp.page_title": "Customer import and exports",
  "imp.title": "Customer import and data exports",
  "imp.denied_title": "Admins only",
  "imp.denied": "Only administrators can import customers.",
  "imp.upload_title": "Import customers (CSV)",
  "imp.upload_hint": "Header: name, phone, province, city, district, street, address_detail, level, model, serial, installed_on (or the Chinese names); the encoding is found (UTF-8, GB18030, Big5, UTF-16) or chosen; one row per product, several phones separated by \";\". Importing again adds nothing twice.",
  "imp.upload": "Upload and import",
  "imp.uploading": "Importing…",
  "imp.pick_file": "Choose a CSV file",
  "imp.encoding": "Encoding",
  "imp.encoding_auto": "Find it",
  "imp.failed": "Import failed: {error}",
  "imp.summary": "Imported {accepted} row(s) ({customers} customer(s), {phones} phone(s), {products} product(s) added; {unchanged} already there), rejected {rejected} row(s)",
  "imp.rejected_title": "Rejected rows",
  "imp.no_problems": "No row was rejected.",
  "imp.line": "line {line}: {reason}",
  "imp.export_title": "Export (CSV)",
  "imp.from": "From",
  "imp.to": "To",
  "imp.export.customers": "Customers",
  "imp.export.tickets": "Tickets",
  "imp.export.calls": "Calls",
});

let lastReport = null;

function renderReport() {
  const box = $("report");
  box.hidden = lastReport === null;
  if (lastReport === null) return;
  $("summary").textContent = t("imp.summary", lastReport);
  $("no-problems").hidden = lastReport.problems.length > 0;
  fill($("problems"), ...lastReport.problems.map((p) => el("li", { text: t("imp.line", p), dataset: { line: String(p.line) } })));
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
    const encoding = $("encoding").value;
    const target = encoding ? `/api/import/customers?encoding=${encodeURIComponent(encoding)}` : "/api/import/customers";
    const response = await fetch(target, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "text/csv", Accept: "application/json" }, body: file,
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

function exportLinks() {
  const params = new URLSearchParams();
  if ($("from").value) params.set("from", $("from").value);
  if ($("to").value) params.set("to", $("to").value);
  const query = params.toString() ? `?${params}` : "";
  for (const what of ["customers", "tickets", "calls"]) {
    $(`export-${what}`).setAttribute("href", `/api/export/${what}.csv${query}`);
  }
}

async function begin(user) {
  $("whoami").textContent = user.display_name || user.username;
  $("session-logout").hidden = false;
  if (user.role !== "admin") {
    show("denied");
    return;
  }
  show("main");
}

function end() {
  $("whoami").textContent = "";
  $("session-logout").hidden = true;
  lastReport = null;
  renderReport();
}

function init() {
  applyI18n();
  setupLangToggle($("lang-toggle"));
  onLangChange(renderReport);
  $("upload-form").addEventListener("submit", upload);
  $("from").addEventListener("change", exportLinks);
  $("to").addEventListener("change", exportLinks);
  startSession({ onUser: begin, onLogout: end });
}

init();
