// Users (admins): list, add, change role, department, branch, name or password, disable.
// Every change is recorded in the audit log by the server; a new password or role ends the
// user's sessions. Names from the server go in with textContent (el's text), never as HTML.
import { $, api, el, fill, meta, onLangChange, show, t, tOr } from "../common.js";
import { startPage } from "../shell.js";

let users = [];
let departments = {};
let branches = [];

const roleName = (role) => tOr("role", role);
/** A department's vocabulary word; one the pages do not know by its name in the database. */
const departmentName = (code) => {
  if (!code) return t("usr.none");
  const word = tOr("dept", code);
  return word !== code ? word : departments[code] || code;
};
const branchName = (id) => {
  if (id === null || id === undefined) return t("usr.every_branch");
  const branch = branches.find((b) => b.id === id);
  return branch ? branch.name : String(id);
};

function options(select, items, selected) {
  fill(select, ...items.map(([value, text]) => {
    const option = el("option", { value, text });
    option.selected = value === selected;
    return option;
  }));
}

function fillChoices(user = null) {
  options($("role"), meta.roles.map((r) => [r, roleName(r)]), user ? user.role : "agent");
  options($("department"), [["", t("usr.none")], ...Object.keys(departments).map((c) => [c, departmentName(c)])],
    user && user.department ? user.department : "");
  options($("branch"), [["", t("usr.every_branch")], ...branches.map((b) => [String(b.id), b.name])],
    user && user.branch_id !== null ? String(user.branch_id) : "");
}

function renderUsers() {
  fill($("users"), ...users.map((user) => el("tr", { dataset: { username: user.username } }, [
    el("td", { className: "mono", text: user.username }),
    el("td", { text: user.display_name || "" }),
    el("td", { text: roleName(user.role) }),
    el("td", { text: departmentName(user.department) }),
    el("td", { text: branchName(user.branch_id) }),
    el("td", { text: user.disabled ? t("usr.disabled") : t("usr.active") }),
    el("td", {}, [el("button", { type: "button", className: "ghost", text: t("usr.edit"), testid: "user-edit",
      on: { click: () => edit(user) } })]),
  ])));
}

function edit(user) {
  $("user-id").value = user ? String(user.id) : "";
  $("username").value = user ? user.username : "";
  $("username").disabled = Boolean(user);
  $("display-name").value = user ? user.display_name || "" : "";
  $("password").value = "";
  $("password").required = !user;
  $("disabled").checked = Boolean(user && user.disabled);
  $("form-title").textContent = user ? t("usr.edit_title", { username: user.username }) : t("usr.add_title");
  fillChoices(user);
}

async function load() {
  const [listed, dispatch] = await Promise.all([api("GET", "/api/users"), api("GET", "/api/dispatch")]);
  if (listed.status === 403) return show("denied");
  if (dispatch.ok) {
    departments = dispatch.data.departments;
    branches = dispatch.data.branches;
  }
  users = listed.ok ? listed.data.users : [];
  renderUsers();
}

async function save(event) {
  event.preventDefault();
  const status = $("form-status");
  const id = $("user-id").value;
  const branch = $("branch").value;
  const body = {
    display_name: $("display-name").value || null,
    role: $("role").value,
    department: $("department").value || null,
    branch_id: branch ? Number(branch) : null,
  };
  if ($("password").value) body.password = $("password").value;
  let answer;
  if (id) {
    body.disabled = $("disabled").checked;
    answer = await api("PATCH", `/api/users/${id}`, body);
  } else {
    body.username = $("username").value;
    answer = await api("POST", "/api/users", body);
  }
  if (!answer.ok) {
    status.textContent = t("usr.failed", { error: answer.data.error });
    return;
  }
  const user = answer.data.user;
  status.textContent = id
    ? t("usr.saved", { username: user.username, changed: answer.data.changed.join(", ") || t("usr.nothing"),
      ended: answer.data.sessions_ended })
    : t("usr.added", { username: user.username });
  await load();
  edit(users.find((u) => u.id === user.id) || null);
}

async function begin() {
  await load();
  edit(null);
}

function end() {
  users = [];
  renderUsers();
}

function init() {
  onLangChange(() => {
    renderUsers();
    fillChoices(users.find((u) => String(u.id) === $("user-id").value) || null);
  });
  $("user-form").addEventListener("submit", save);
  $("form-reset").addEventListener("click", () => edit(null));
  startPage({ page: "users", onUser: begin, onLogout: end });
}

init();
