// Which servers (nodes) are up, in the supervisor's header: GET /api/nodes every few
// seconds (each node's heartbeat in the shared database, so every node answers the same).
// Server data is inserted with textContent only (el()).

import { api, el, onLangChange, t } from "./common.js";

const POLL_MS = 5000;

/** Show the nodes in `node` until the returned function is called. */
export function watchNodes(node) {
  let stopped = false;
  let timer = null;
  let last = null;
  const render = () => {
    if (!last) return;
    node.hidden = false;
    node.replaceChildren(
      el("span", { className: "muted-light", text: `${t("sup.nodes")}: ` }),
      ...last.nodes.map((n) => el("span", {
        className: `node node-${n.up ? "up" : "down"}`,
        testid: `node-${n.name}`,
        dataset: { up: String(n.up) },
        title: `${n.web} · ${t(n.up ? "sup.node.up" : "sup.node.down")}`,
        text: `${n.up ? "●" : "○"} ${n.name}${n.name === last.this ? ` (${t("sup.node.this")})` : ""} `,
      })),
    );
  };
  const poll = async () => {
    timer = null;
    if (stopped) return;
    const { ok, status, data } = await api("GET", "/api/nodes");
    if (ok) {
      last = data;
      render();
    }
    if (!stopped && status !== 401 && status !== 403) timer = setTimeout(poll, POLL_MS);
  };
  onLangChange(render);
  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
    node.hidden = true;
  };
}
