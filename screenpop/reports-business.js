// The reports page's business figures (tickets by kind, status and department, complaint
// rate by product model and region, fault rate, repair turnaround, CSAT by agent): the
// section and the hook are here for the figures that come with the tickets rework.
// `renderBusiness(section, filters)` gets the page's filters ({from, to, queue, agent});
// until then it says the figures are not available. Text only (textContent).

import { el, fill, t } from "./common.js";

export function renderBusiness(section, _filters) {
  fill(section, el("p", { className: "muted", testid: "business-pending", text: t("rp.business_pending") }));
}
