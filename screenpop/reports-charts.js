// Small SVG chart builders for the reports page: a trend line, grouped bars, a heat map.
// Labels go in with textContent; nothing is parsed as markup. Colours are attributes
// (the page's CSP allows no inline style).

const NS = "http://www.w3.org/2000/svg";
const COLOURS = ["#2563eb", "#16a34a", "#dc2626", "#9333ea"];

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function frame(width, height, label, testid) {
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": label, class: "chart" });
  root.dataset.testid = testid;
  return root;
}

function legend(root, names, x, y) {
  names.forEach((name, i) => {
    root.append(svg("rect", { x: x + i * 110, y, width: 10, height: 10, fill: COLOURS[i % COLOURS.length], class: "legend" }));
    root.append(svg("text", { x: x + i * 110 + 14, y: y + 9, "font-size": 11 }, name));
  });
}

/** One polyline per series over the labels (days), a circle per point. */
export function lineChart(labels, series, { label = "", testid = "line-chart", width = 720, height = 220 } = {}) {
  const root = frame(width, height, label, testid);
  const left = 40, right = 10, top = 24, bottom = 30;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const step = labels.length > 1 ? (width - left - right) / (labels.length - 1) : 0;
  const x = (i) => left + i * step;
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  root.append(svg("line", { x1: left, y1: y(0), x2: width - right, y2: y(0), stroke: "#999" }));
  root.append(svg("text", { x: 2, y: top + 4, "font-size": 10 }, max));
  series.forEach((s, n) => {
    const colour = COLOURS[n % COLOURS.length];
    const line = svg("polyline", {
      points: s.values.map((v, i) => `${x(i)},${y(v)}`).join(" "), fill: "none", stroke: colour, "stroke-width": 2, class: "series",
    });
    line.dataset.series = s.key;
    root.append(line);
    s.values.forEach((v, i) => {
      const point = svg("circle", { cx: x(i), cy: y(v), r: 2.5, fill: colour, class: "point" });
      point.dataset.series = s.key;
      point.dataset.value = String(v);
      point.append(svg("title", {}, `${labels[i]} ${s.name}: ${v}`));
      root.append(point);
    });
  });
  const every = Math.max(1, Math.ceil(labels.length / 8));
  labels.forEach((text, i) => {
    if (i % every === 0) root.append(svg("text", { x: x(i), y: height - 8, "font-size": 10, "text-anchor": "middle" }, text.slice(5)));
  });
  legend(root, series.map((s) => s.name), left, 4);
  return root;
}

/** A label's width in the charts' font (a CJK character is about as wide as the font's size). */
function textWidth(text, size = 10) {
  let width = 0;
  for (const ch of String(text)) width += ch.codePointAt(0) >= 0x2e80 ? size : size * 0.7;
  return width;
}

/** ``text`` cut to ``room`` pixels with an ellipsis (the whole label stays in the bar's title). */
function clipped(text, room, size = 10) {
  if (textWidth(text, size) <= room) return String(text);
  let out = "";
  for (const ch of String(text)) {
    if (textWidth(`${out}${ch}…`, size) > room) break;
    out += ch;
  }
  return `${out}…`;
}

/** Grouped bars: one group per item (its bars centred over its label), one bar per series. When the items' labels would not fit
 * under their groups (many product models), the bars lie down: one row per item, its label
 * (cut with an ellipsis when long, whole in its title) on the left. */
export function barChart(items, seriesNames, { label = "", testid = "bar-chart", width = 720, height = 220 } = {}) {
  const left = 40, top = 24, bottom = 40;
  const group = (width - left - 10) / Math.max(1, items.length);
  if (items.some((item) => textWidth(item.label) > group - 4)) return lyingBars(items, seriesNames, { label, testid, width });
  const root = frame(width, height, label, testid);
  root.dataset.layout = "columns";
  const max = Math.max(1, ...items.flatMap((item) => item.values));
  const bar = Math.max(2, Math.min(28, (group - 8) / Math.max(1, seriesNames.length)));
  const scale = (v) => (height - top - bottom) * (v / max);
  root.append(svg("text", { x: 2, y: top + 4, "font-size": 10 }, max));
  items.forEach((item, g) => {
    item.values.forEach((v, s) => {
      const rect = svg("rect", {
        x: left + g * group + (group - bar * item.values.length) / 2 + s * bar, y: height - bottom - scale(v),
        width: bar - 1, height: scale(v),
        fill: COLOURS[s % COLOURS.length], class: "bar",
      });
      rect.dataset.item = item.label;
      rect.dataset.value = String(v);
      rect.append(svg("title", {}, `${item.label} ${seriesNames[s]}: ${v}`));
      root.append(rect);
    });
    root.append(svg("text", { x: left + g * group + group / 2, y: height - bottom + 14, "font-size": 10, "text-anchor": "middle" }, item.label));
  });
  legend(root, seriesNames, left, 4);
  return root;
}

/** Horizontal bars: a row per item (as tall as its series need), the value at each bar's end. */
function lyingBars(items, seriesNames, { label, testid, width }) {
  const top = 24, thick = 10, gap = 8;
  const room = Math.min(width * 0.35, Math.max(40, ...items.map((item) => textWidth(item.label))));
  const left = room + 8, right = 48;
  const row = thick * Math.max(1, seriesNames.length) + gap;
  const root = frame(width, top + items.length * row + 4, label, testid);
  root.dataset.layout = "rows";
  const max = Math.max(1, ...items.flatMap((item) => item.values));
  const scale = (v) => (width - left - right) * (v / max);
  items.forEach((item, g) => {
    const y = top + g * row;
    const name = svg("text", { x: room, y: y + (row - gap) / 2 + 4, "font-size": 10, "text-anchor": "end", class: "bar-label" },
      clipped(item.label, room));
    name.append(svg("title", {}, item.label));
    root.append(name);
    item.values.forEach((v, s) => {
      const rect = svg("rect", {
        x: left, y: y + s * thick, width: Math.max(0.5, scale(v)), height: thick - 1,
        fill: COLOURS[s % COLOURS.length], class: "bar",
      });
      rect.dataset.item = item.label;
      rect.dataset.value = String(v);
      rect.append(svg("title", {}, `${item.label} ${seriesNames[s]}: ${v}`));
      root.append(rect);
      root.append(svg("text", { x: left + scale(v) + 4, y: y + s * thick + thick - 2, "font-size": 9 }, v));
    });
  });
  legend(root, seriesNames, left, 4);
  return root;
}

/** A weekday x hour grid; each cell's opacity follows its value. */
export function heatMap(cells, weekdayNames, { label = "", testid = "heat-map", width = 720 } = {}) {
  const left = 36, top = 16, size = (width - left - 4) / 24;
  const height = top + size * 7 + 4;
  const root = frame(width, height, label, testid);
  const max = Math.max(1, ...cells.map((c) => c.value));
  for (let h = 0; h < 24; h += 3) root.append(svg("text", { x: left + h * size, y: 11, "font-size": 10 }, h));
  weekdayNames.forEach((name, i) => root.append(svg("text", { x: 2, y: top + i * size + size * 0.7, "font-size": 10 }, name)));
  for (const c of cells) {
    const rect = svg("rect", {
      x: left + c.hour * size, y: top + (c.weekday - 1) * size, width: size - 1, height: size - 1,
      fill: "#dc2626", "fill-opacity": (0.05 + 0.95 * (c.value / max)).toFixed(3), class: "cell",
    });
    rect.dataset.weekday = String(c.weekday);
    rect.dataset.hour = String(c.hour);
    rect.dataset.value = String(c.value);
    rect.append(svg("title", {}, `${weekdayNames[c.weekday - 1]} ${c.hour}:00 — ${c.value}`));
    root.append(rect);
  }
  return root;
}
