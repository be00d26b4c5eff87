// The reports page: any range of days from GET /api/reports/{days,queues,agents,hours}
// (docs/statistics.md defines the figures). Each report is drawn as an SVG chart and shown
// as a table with the same columns and values as its CSV download (format=csv); server
// data goes in as text only (el() and the chart builders use textContent).

import { $, api, el, fill, lang, meta, onLangChange, t, tOr } from "./common.js";
import { startPage } from "./shell.js";
import { barChart, heatMap, lineChart } from "./reports-charts.js";
import { BUSINESS_FILTERS, drawBusiness, renderBusiness } from "./reports-business.js";
import { sayRow } from "./report-words.js";

const QUEUE_FIGURES = [
  "offered", "answered", "abandoned", "short_abandoned", "unanswered", "answered_in_sl", "service_level",
  "average_answer_seconds", "average_abandon_seconds", "longest_answer_wait", "longest_wait", "completed",
  "average_talk_seconds", "transfers", "callbacks_owed", "callbacks_made", "callbacks_connected",
];
const AGENT_FIGURES = [
  "answered", "completed", "transfers", "talk_seconds", "average_handle_seconds", "ready_seconds",
  "ringing_seconds", "on_call_seconds", "wrap_up_seconds", "paused_seconds", "logged_in_seconds", "occupancy",
  "utilisation", "callbacks_made", "callbacks_connected",
];
const DAY_FIGURES = [
  "offered", "answered", "abandoned", "short_abandoned", "unanswered", "service_level", "average_answer_seconds",
  "longest_wait",
];
const HOUR_FIGURES = ["offered", "answered", "abandoned"];
const REPORTS = ["days", "queues", "agents", "hours"];
const ALL_QUEUES = "(all)";

const state = { data: {}, error: null, request: 0 };

/** The report's table, as the server's CSV has it: [header, rows]. */
export function reportTable(report) {
  switch (report.report) {
    case "queues":
      return [["queue", ...QUEUE_FIGURES], [
        ...report.queues.map((q) => [q.name, ...QUEUE_FIGURES.map((f) => q[f])]),
        [ALL_QUEUES, ...QUEUE_FIGURES.map((f) => report.total[f])],
      ]];
    case "agents": {
      const reasons = [...new Set(report.agents.flatMap((a) => Object.keys(a.pause_seconds)))].sort();
      return [["name", "extension", "agent", ...AGENT_FIGURES, ...reasons.map((r) => `pause:${r}`)],
        report.agents.map((a) => [a.name, a.extension, a.agent, ...AGENT_FIGURES.map((f) => a[f]),
          ...reasons.map((r) => a.pause_seconds[r] ?? 0)])];
    }
    case "hours":
      return [["weekday", "hour", ...HOUR_FIGURES], report.cells.map((c) => [c.weekday, c.hour, ...HOUR_FIGURES.map((f) => c[f])])];
    default:
      return [["day", ...DAY_FIGURES], report.days.map((d) => [d.day, ...DAY_FIGURES.map((f) => d[f])])];
  }
}

function filters(names = ["from", "to", "queue", "agent"]) {
  const out = {};
  for (const name of names) {
    const value = $(`rp-${name}`).value.trim();
    if (value) out[name] = value;
  }
  return out;
}

function path(name, extra = {}) {
  const params = new URLSearchParams({ ...filters(), ...extra });
  const query = params.toString();
  return `/api/reports/${name}${query ? `?${query}` : ""}`;
}

async function load() {
  const number = ++state.request;
  $("rp-main").setAttribute("aria-busy", "true");
  const business = renderBusiness($("rp-business"), filters(BUSINESS_FILTERS));
  const answers = await Promise.all(REPORTS.map((name) => api("GET", path(name))));
  await business;
  if (number !== state.request) return;
  const failed = answers.find((a) => !a.ok);
  state.error = failed ? failed.data.error : null;
  state.data = failed ? {} : Object.fromEntries(REPORTS.map((name, i) => [name, answers[i].data]));
  render();
  $("rp-main").setAttribute("aria-busy", "false");
}

function cellText(value) {
  return value === null || value === undefined ? "" : String(value);
}

function headText(column) {
  if (column.startsWith("pause:")) return t("rp.col.pause", { reason: column.slice(6) ? tOr("reason", column.slice(6)) : t("report.no_reason") });
  return tOr("rp.col", column);
}

function table(name) {
  const [header, rows] = reportTable(state.data[name]);
  return el("div", { className: "table-scroll report-table" }, [el("table", { className: "grid-table", testid: `table-${name}` }, [
    el("thead", {}, [el("tr", {}, header.map((column) => el("th", { text: headText(column), dataset: { col: column } })))]),
    el("tbody", {}, rows.map((row) => el("tr", { testid: `row-${name}` }, sayRow(header, row).map((v) => el("td", { text: cellText(v) }))))),
  ])]);
}

/** The CSV of a report, its headers in the page's language (``headers=codes`` gives the codes). */
function csvLink(name) {
  return el("a", { href: path(name, { format: "csv", lang: lang() }), download: "", testid: `csv-${name}`, text: t("rp.csv") });
}

/** A report: its chart first, then its table, folded when long (the hours: 168 rows). */
function section(name, chart, { folded = false } = {}) {
  const rows = table(name);
  const body = folded
    ? el("details", { className: "report-fold", testid: `fold-${name}` }, [el("summary", { text: t("rp.show_table") }), rows])
    : rows;
  return el("section", { className: "panel report-section", id: `rp-section-${name}`, testid: `section-${name}` }, [
    el("h2", { text: t(`rp.${name}`) }), chart, body, el("p", {}, [csvLink(name)]),
  ]);
}

/** Links to the sections, so that a reader goes to the part they want. */
function contents() {
  return el("nav", { className: "panel report-contents", testid: "rp-contents" }, [
    ...REPORTS.map((name) => el("a", { href: `#rp-section-${name}`, text: t(`rp.${name}`) })),
    el("a", { href: "#rp-business-section", text: t("rp.business") }),
  ]);
}

function render() {
  const banner = $("rp-error");
  banner.hidden = !state.error;
  banner.textContent = state.error ? t("report.error", { error: state.error }) : "";
  const out = $("rp-reports");
  if (state.error || !state.data.days) {
    fill(out);
    return;
  }
  const { days, queues, agents, hours } = state.data;
  $("rp-heading").textContent = t("rp.heading", { from: days.from, to: days.to, timezone: days.timezone });
  const names = [t("rp.col.offered"), t("rp.col.answered")];
  fill(out,
    contents(),
    section("days", lineChart(days.days.map((d) => d.day), [
      { key: "offered", name: names[0], values: days.days.map((d) => d.offered) },
      { key: "answered", name: names[1], values: days.days.map((d) => d.answered) },
    ], { label: t("rp.days"), testid: "trend-chart" })),
    section("queues", barChart(queues.queues.map((q) => ({ label: tOr("queue", q.name), values: [q.offered, q.answered] })), names,
      { label: t("rp.queues"), testid: "queue-bars" })),
    section("agents", barChart(agents.agents.map((a) => ({ label: a.name || a.agent, values: [a.answered] })), [names[1]],
      { label: t("rp.agents"), testid: "agent-bars" })),
    section("hours", heatMap(hours.cells.map((c) => ({ weekday: c.weekday, hour: c.hour, value: c.offered })),
      [1, 2, 3, 4, 5, 6, 7].map((d) => t(`rp.weekday.${d}`)), { label: t("rp.hours"), testid: "heat-map" }),
    { folded: true }),
  );
}

/** The agent filter: the directory's agents by name and extension (the value is the interface). */
async function fillAgents(chosen) {
  const { ok, data } = await api("GET", "/api/reports/agent-choices");
  const agents = ok ? data.agents || [] : [];
  fill($("rp-agent"), el("option", { value: "", text: t("rp.all_agents") }),
    ...agents.map((a) => el("option", { value: a.interface, text: `${a.name}（${a.extension}）` })));
  if (chosen) {
    const known = agents.find((a) => a.interface === chosen || a.extension === chosen);
    if (known) $("rp-agent").value = known.interface;
  }
}

function defaultRange() {
  const today = new Date();
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  const first = new Date(today);
  first.setDate(first.getDate() - 6);
  if (!$("rp-from").value) $("rp-from").value = iso(first);
  if (!$("rp-to").value) $("rp-to").value = iso(today);
}

function setup() {
  onLangChange(() => {
    render();
    drawBusiness();
  });
  const params = new URLSearchParams(window.location.search);
  for (const name of ["from", "to", "province", "city", "model"]) {
    if (params.get(name)) $(`rp-${name}`).value = params.get(name);
  }
  $("rp-form").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  startPage({
    page: "reports",
    onUser: async () => {
      const queues = $("rp-queue");
      fill(queues, el("option", { value: "", text: t("rp.all_queues") }),
        ...(meta.queues || []).map((q) => el("option", { value: q.name ?? q, text: tOr("queue", q.name ?? q) })));
      if (params.get("queue")) queues.value = params.get("queue");
      const departments = [...new Set(Object.values(meta.departments || {}))].sort();
      fill($("rp-department"), el("option", { value: "", text: t("rpb.all_departments") }),
        ...departments.map((d) => el("option", { value: d, text: tOr("dept", d) })));
      if (params.get("department")) $("rp-department").value = params.get("department");
      await fillAgents(params.get("agent"));
      defaultRange();
      await load();
    },
  });
}

setup();
