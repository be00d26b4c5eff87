// The page shell, the same on every page: the header (home link, the page's title, the page's
// own header parts, who is logged in, the language switch, logout), the login form and the
// "not allowed" notice. A page's HTML holds only its own parts:
//
//   <header class="top">...the page's own header parts (may be empty)...</header>
//   <main id="main" hidden>...</main>
//
// and its script calls startPage({ page: "agent", onUser, onLogout }).
// Every text from the server goes in with textContent (el's text), never as HTML.

import {
  $, api, applyI18n, el, fill, loadMeta, setupLangToggle, show, t, whenLoginRequired,
} from "./common.js";

const EVERYONE = ["agent", "supervisor", "admin", "staff"];

/**
 * The pages and who may open each: the roles of the API route the page lives on
 * (`route`: tests/integration/test_page_shell.py holds each to its route's declared roles).
 * `href` is absolute, so that links work from `/`, /ui/ and /ui/admin/.
 */
export const PAGES = [
  { id: "agent", href: "/ui/agent.html", title: "agent.page_title", about: "home.about.agent",
    denied: ["agent.denied_title", "agent.denied"], roles: ["agent", "supervisor", "admin"], route: "GET /api/agent" },
  { id: "supervisor", href: "/ui/supervisor.html", title: "sup.page_title", about: "home.about.supervisor",
    denied: ["sup.denied_title", "sup.denied"], roles: ["supervisor", "admin"], route: "GET /api/wallboard" },
  { id: "reports", href: "/ui/reports.html", title: "rp.page_title", about: "home.about.reports",
    denied: ["sup.denied_title", "sup.denied"], roles: ["supervisor", "admin"], route: "GET /api/reports/days" },
  { id: "department", href: "/ui/department.html", title: "dept.page_title", about: "home.about.department",
    denied: ["dept.denied_title", "dept.denied"], roles: ["staff", "supervisor", "admin"], route: "GET /api/workview" },
  { id: "lookup", href: "/ui/lookup.html", title: "find.page_title", about: "home.about.lookup",
    roles: EVERYONE, route: "GET /api/customers/search" },
  { id: "customers", href: "/ui/admin/customers.html", title: "imp.page_title", about: "home.about.customers",
    denied: ["imp.denied_title", "imp.denied"], roles: ["admin"], route: "POST /api/import/customers" },
  { id: "flows", href: "/ui/admin/flows.html", title: "flows.page_title", about: "home.about.flows",
    denied: ["flows.denied_title", "flows.denied"], roles: ["admin"], route: "GET /api/flows" },
  { id: "users", href: "/ui/admin/users.html", title: "usr.page_title", about: "home.about.users",
    denied: ["usr.denied_title", "usr.denied"], roles: ["admin"], route: "GET /api/users" },
  { id: "audit", href: "/ui/admin/audit.html", title: "aud.page_title", about: "home.about.audit",
    denied: ["usr.denied_title", "aud.denied"], roles: ["admin"], route: "GET /api/audit" },
];

/** The home page (`/`): every logged-in user may open it; it lists the pages above. */
const HOME = { id: "home", href: "/", title: "home.page_title", roles: EVERYONE };

export function pageById(id) {
  const page = id === HOME.id ? HOME : PAGES.find((candidate) => candidate.id === id);
  if (!page) throw new Error(`no page ${id}`);
  return page;
}

/** The pages `role` may open, in the table's order. */
export function pagesFor(role) {
  return PAGES.filter((page) => page.roles.includes(role));
}

function pageLinks(role, testid) {
  return el("ul", { className: "shell-pages", testid }, pagesFor(role).map((page) =>
    el("li", {}, [el("a", { href: page.href, dataset: { page: page.id, i18n: page.title }, text: t(page.title) }),
      page.about ? el("span", { className: "muted", dataset: { i18n: page.about }, text: t(page.about) }) : null])));
}

// ---- the parts the shell adds to the page

function buildHeader(page) {
  let header = document.querySelector("body > header.top");
  if (!header) {
    header = el("header", { className: "top" });
    document.body.prepend(header);
  }
  const own = [...header.childNodes];
  fill(header,
    el("a", { href: "/", className: "shell-home", id: "shell-home", testid: "shell-home", dataset: { i18n: "shell.home" } }),
    el("h1", { id: "shell-title", testid: "shell-title", dataset: { i18n: page.title } }),
    ...own,
    el("span", { className: "spacer" }),
    el("span", { id: "conn", className: "conn", testid: "connection", hidden: true }),
    el("span", { id: "whoami", className: "whoami", testid: "whoami" }),
    el("button", { type: "button", id: "lang-toggle", className: "ghost", testid: "lang-toggle", dataset: { i18n: "lang.other" } }),
    el("button", { type: "button", id: "session-logout", className: "ghost", testid: "session-logout",
      dataset: { i18n: "common.logout" }, hidden: true }),
  );
  header.dataset.testid = "shell-header";
  return header;
}

function buildNotices(header, page) {
  const label = (key) => el("span", { dataset: { i18n: key } });
  const login = el("section", { id: "login", className: "notice", testid: "login", hidden: true }, [
    el("h2", { dataset: { i18n: "common.login.title" } }),
    el("form", { id: "login-form" }, [
      el("label", {}, [label("common.login.username"), el("input", { name: "username", autocomplete: "username", required: true })]),
      el("label", {}, [label("common.login.password"),
        el("input", { name: "password", type: "password", autocomplete: "current-password", required: true })]),
      el("button", { type: "submit", className: "primary", dataset: { i18n: "common.login.submit" } }),
    ]),
    el("p", { id: "login-status", className: "bad-text", role: "status" }),
  ]);
  const [deniedTitle, deniedText] = page.denied || ["shell.denied_title", "shell.denied"];
  const denied = el("section", { id: "denied", className: "notice denied", role: "alert", testid: "denied", hidden: true }, [
    el("h2", { dataset: { i18n: deniedTitle } }),
    el("p", { dataset: { i18n: deniedText } }),
    el("p", { className: "muted", dataset: { i18n: "shell.your_pages" } }),
    el("div", { id: "denied-pages" }),
  ]);
  const loading = el("p", { id: "loading", className: "notice", dataset: { i18n: "common.loading" } });
  header.after(loading, login, denied);
}

// ---- the session

/**
 * Sets up the shell for `page` (an id of PAGES, or "home") and follows the session:
 * `onUser(user)` runs once someone whose role may open the page is logged in (at load
 * when the session cookie is good, else after the login form), after /api/meta has been
 * read; anyone else gets "not allowed" with the pages they may open. `onLogout()` runs
 * when the session ends (logout, or the server saying 401).
 */
export function startPage({ page: pageId, onUser, onLogout = () => {} }) {
  const page = pageById(pageId);
  const header = buildHeader(page);
  buildNotices(header, page);
  document.body.dataset.page = page.id;
  applyI18n();
  setupLangToggle($("lang-toggle"));

  let current = null; // the logged-in user, while there is one
  let started = false; // onUser has run for `current`

  const signedOut = () => {
    const wasStarted = started;
    current = null;
    started = false;
    $("whoami").textContent = "";
    $("session-logout").hidden = true;
    if (wasStarted) onLogout();
    show("login");
  };
  whenLoginRequired(signedOut);

  const begin = async (user) => {
    current = user;
    $("whoami").textContent = user.display_name ? `${user.display_name} (${user.username})` : user.username;
    $("session-logout").hidden = false;
    await loadMeta();
    if (current !== user) return; // logged out meanwhile
    if (!page.roles.includes(user.role)) {
      fill($("denied-pages"), pageLinks(user.role, "denied-pages"));
      applyI18n($("denied"));
      show("denied");
      return;
    }
    started = true;
    show("main");
    await onUser(user);
  };

  const form = $("login-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = new FormData(form);
    const status = $("login-status");
    status.textContent = "";
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const { ok, status: code, data } = await api("POST", "/login",
        { username: fields.get("username"), password: fields.get("password") });
      if (ok && data.user) {
        form.reset();
        await begin(data.user);
      } else {
        // a refused login answers 401, for which api() has shown the login form already
        status.textContent = code === 401 ? t("common.login.failed") : t("common.login.error", { error: data.error });
      }
    } finally {
      button.disabled = false;
    }
  });

  $("session-logout").addEventListener("click", async () => {
    await api("POST", "/logout", {});
    signedOut();
  });

  (async () => {
    const { ok, data } = await api("GET", "/api/me");
    if (ok && data.user) await begin(data.user);
    else show("login");
  })();
}

// ---- the home page's list (used by home.js)

/** Shows the pages `user` may open in `node` (their labels follow the language switch). */
export function listPages(node, user) {
  fill(node, pageLinks(user.role, "home-pages"));
}
