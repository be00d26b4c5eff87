// The reports page's business figures (docs/statistics.md, "Business figures"): every
// report of GET /api/reports/{tickets,complaint_rates,...} drawn as SVG bar charts and shown
// as its table (the columns and rows the server answers, the same as its CSV download),
// filtered by the page's date range, region (province, city), product model and department.
// Server text goes in as text only (el() and the chart builders use textContent).

import { api, el, fill, lang, t, tOr } from "./common.js";
import { barChart } from "./reports-charts.js";
import { sayRow } from "./report-words.js";

export const BUSINESS_REPORTS = [
  "tickets", "complaint_rates", "fault_rates", "complaints_against", "turnaround", "sla", "first_contact",
  "satisfaction",
];
export const BUSINESS_FILTERS = ["from", "to", "province", "city", "model", "department"];
const ALL = "(all)";

const state = { data: {}, error: null, request: 0, section: null, filters: {} };

function path(name, filters, extra = {}) {
  const query = new URLSearchParams({ ...filters, ...extra }).toString();
  return `/api/reports/${name}${query ? `?${query}` : ""}`;
}

/** A report's rows as objects keyed by its columns. */
function records(report) {
  return report.rows.map((row) => Object.fromEntries(report.columns.map((c, i) => [c, row[i]])));
}

/** Sum of ``figure`` per value of ``key`` over the records, in first-seen order. */
function summed(rows, key, figure) {
  const totals = new Map();
  for (const row of rows) totals.set(row[key], (totals.get(row[key]) || 0) + row[figure]);
  return [...totals].map(([label, value]) => ({ label: label === "" ? t("rpb.none") : String(sayRow([key], [label])[0]), values: [value] }));
}

/** One bar group per row (rows with a null figure have nothing to draw). */
function bars(rows, label, figures) {
  return rows.filter((row) => figures.every((f) => row[f] !== null && row[f] !== undefined))
    .map((row) => ({ label: label(row), values: figures.map((f) => row[f]) }));
}

function keyText(value) {
  return value === "" ? t("rpb.none") : String(value);
}

/** A chart, or a line saying there is nothing to draw (not an empty frame). */
function chart(items, figures, title, testid) {
  return el("figure", { className: "chart-box" }, [
    el("figcaption", { text: title }),
    items.length
      ? barChart(items, figures.map((f) => tOr("rpb.col", f)), { label: title, testid })
      : el("p", { className: "muted", text: t("rpb.no_data"), testid: `${testid}-empty` }),
  ]);
}

/** The charts of one report: [items, figures, title key, testid] each. */
function charts(name, report) {
  const rows = records(report);
  const by = (what) => rows.filter((r) => r.by === what && r.key !== ALL);
  const place = (r) => (r.branch ? `${tOr("dept", r.department)} · ${r.branch}` : tOr("dept", r.department));
  switch (name) {
    case "tickets":
      return [
        [summed(rows, "kind", "tickets"), ["tickets"], "rpb.tickets_kind", "tickets-kind-bars"],
        [summed(rows, "status", "tickets"), ["tickets"], "rpb.tickets_status", "tickets-status-bars"],
        [summed(rows, "department", "tickets"), ["tickets"], "rpb.tickets_department", "tickets-department-bars"],
      ];
    case "complaint_rates":
      return [
        [bars(by("model"), (r) => keyText(r.key), ["per_thousand"]), ["per_thousand"], "rpb.complaint_model", "complaint-model-bars"],
        [bars(by("region"), (r) => keyText(r.key), ["per_thousand"]), ["per_thousand"], "rpb.complaint_region", "complaint-region-bars"],
      ];
    case "fault_rates":
      return [
        [bars(by("fault_code"), (r) => keyText(r.key), ["share"]), ["share"], "rpb.fault_code", "fault-code-bars"],
        [bars(by("part"), (r) => keyText(r.key), ["share"]), ["share"], "rpb.fault_part", "fault-part-bars"],
      ];
    case "complaints_against":
      return [
        [summed(rows, "department", "complaints"), ["complaints"], "rpb.against_department", "against-department-bars"],
        [summed(rows, "branch", "complaints"), ["complaints"], "rpb.against_branch", "against-branch-bars"],
      ];
    case "turnaround":
      return [[bars(rows.filter((r) => r.department !== ALL), place, ["average_hours", "median_hours"]),
        ["average_hours", "median_hours"], "rpb.turnaround", "turnaround-bars"]];
    case "sla":
      return [[bars(rows.filter((r) => r.department !== ALL), place, ["tickets", "breached"]),
        ["tickets", "breached"], "rpb.sla", "sla-bars"]];
    case "first_contact":
      return [[bars(rows.filter((r) => r.department !== ALL), (r) => keyText(tOr("dept", r.department)), ["rate"]),
        ["rate"], "rpb.first_contact", "first-contact-bars"]];
    default:
      return ["agent", "department", "branch"].map((what) => [
        bars(by(what), (r) => keyText(what === "department" ? tOr("dept", r.key) : r.key), ["average_score"]), ["average_score"], `rpb.csat_${what}`, `csat-${what}-bars`]);
  }
}

function cellText(value) {
  return value === null || value === undefined ? "" : String(value);
}

function table(name, report) {
  return el("div", { className: "table-scroll" }, [el("table", { className: "grid-table", testid: `table-${name}` }, [
    el("thead", {}, [el("tr", {}, report.columns.map((c) => el("th", { text: tOr("rpb.col", c), dataset: { col: c } })))]),
    el("tbody", {}, report.rows.map((row) => el("tr", { testid: `row-${name}` },
      sayRow(report.columns, row).map((v) => el("td", { text: cellText(v) }))))),
  ])]);
}

function section(name, report) {
  const drawn = charts(name, report).map(([items, figures, title, testid]) => chart(items, figures, t(title), testid));
  return el("section", { className: "panel", testid: `section-${name}` }, [
    el("h3", { text: t(`rpb.${name}`) }),
    el("div", { className: "chart-row" }, drawn),
    // the charts say it at a glance; the table (as long as its models or places) opens on demand
    el("details", { className: "report-fold", testid: `fold-${name}` }, [
      el("summary", { text: t("rp.show_table") }), table(name, report),
    ]),
    el("a", { href: path(name, state.filters, { format: "csv", lang: lang() }), download: "", testid: `csv-${name}`, text: t("rp.csv") }),
  ]);
}

/** Draw what was loaded last (again, e.g. after a change of language). */
export function drawBusiness() {
  const out = state.section;
  if (!out) return;
  if (state.error) {
    fill(out, el("p", { className: "banner bad-banner", role: "alert", testid: "business-error",
      text: t("report.error", { error: state.error }) }));
    return;
  }
  if (!state.data.tickets) {
    fill(out);
    return;
  }
  fill(out, ...BUSINESS_REPORTS.map((name) => section(name, state.data[name])));
}

/** Load every business report for ``filters`` ({from, to, province, city, model, department}). */
export async function renderBusiness(out, filters) {
  const number = ++state.request;
  state.section = out;
  out.setAttribute("aria-busy", "true");
  const answers = await Promise.all(BUSINESS_REPORTS.map((name) => api("GET", path(name, filters))));
  if (number !== state.request) return;
  const failed = answers.find((a) => !a.ok);
  state.filters = filters;
  state.error = failed ? failed.data.error : null;
  state.data = failed ? {} : Object.fromEntries(BUSINESS_REPORTS.map((name, i) => [name, answers[i].data]));
  drawBusiness();
  out.setAttribute("aria-busy", "false");
}
