// The reports' cells that are the contact center's words (a queue, a ticket's kind, status or
// department...), said in the page's language; the spreadsheets say them alike
// (ctiserver/reports/labels.py WORD_COLUMNS, cell_words), so that a CSV is the table shown.
import { t, tOr } from "./common.js";

/** column -> the vocabulary's prefix (i18n.js VOCABULARY). */
export const WORD_COLUMNS = {
  queue: "queue", kind: "type", status: "tstatus", department: "dept", about: "tchoice", by: "rpb.by",
};
/** The total row's key. */
export const ALL = "(all)";

/** A row's cells as the page shows them: `header` holds the columns' codes. */
export function sayRow(header, row) {
  const by = header.indexOf("by");
  return row.map((value, i) => {
    const column = header[i];
    let prefix = WORD_COLUMNS[column];
    if (column === "key") prefix = by >= 0 && row[by] === "department" ? "dept" : "";
    if (prefix === undefined) return value;
    if (value === ALL) return t("rp.all");
    if (value === "" && column !== "by") return t("rpb.none");
    return prefix && typeof value === "string" ? tOr(prefix, value) : value;
  });
}
