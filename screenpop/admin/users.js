// Users (admins): list, add, change role, department, branch, name or password, disable.
// Every change is recorded in the audit log by the server; a new password or role ends the
// user's sessions. Names from the server go in with textContent (el's text), never as HTML.
import { $, api, applyI18n, el, fill, meta, onLangChange, setupLangToggle, show, startSession, t } from "../common.js";
import { STRINGS } from "../i18n.js";

Object.assign(STRINGS.zh, {
  "usr.page_title": "用户管理",
  "usr.title": "用户管理",
  "usr.denied_title": "仅限管理员",
  "usr.denied": "只有管理员可以管理用户。",
  "usr.list_title": "用户",
  "usr.username": "用户名",
  "usr.display_name": "姓名",
  "usr.role": "角色",
  "usr.department": "部门",
  "usr.branch": "网点",
  "usr.state": "状态",
  "usr.password": "密码",
  "usr.disabled": "停用",
  "usr.active": "正常",
  "usr.none": "（无）",
  "usr.every_branch": "（全部网点）",
  "usr.edit": "编辑",
  "usr.save": "保存",
  "usr.new": "新用户",
  "usr.add_title": "添加用户",
  "usr.edit_title": "编辑用户 {username}",
  "usr.hint": "部门与网点用于部门人员（工程师）；修改密码或角色、停用账号会让该用户的所有会话失效。所有修改都记录在审计日志中。",
  "usr.added": "已添加用户 {username}",
  "usr.saved": "已保存 {username}：{changed}；结束会话 {ended} 个",
  "usr.nothing": "没有修改",
  "usr.failed": "失败：{error}",
  "usr.role.agent": "坐席",
  "usr.role.supervisor": "班长",
  "usr.role.admin": "管理员",
  "usr.role.staff": "部门人员",
});
Object.assign(STRINGS.en, {
  "usr.page_title": "Users",
  "usr.title": "Users",
  "usr.denied_title": "Admins only",
  "usr.denied": "Only administrators can manage users.",
  "usr.list_title": "Users",
  "usr.username": "User name",
  "usr.display_name": "Name",
  "usr.role": "Role",
  "usr.department": "Department",
  "usr.branch": "Branch",
  "usr.state": "State",
  "usr.password": "Password",
  "usr.disabled": "Disabled",
  "usr.active": "Active",
  "usr.none": "(none)",
  "usr.every_branch": "(every branch)",
  "usr.edit": "Edit",
  "usr.save": "Save",
  "usr.new": "New user",
  "usr.add_title": "Add a user",
  "usr.edit_title": "Edit user {username}",
  "usr.hint": "Department and branch are for department staff (engineers); a new password or role, or disabling the account, ends the user's sessions. Every change is recorded in the audit log.",
  "usr.added": "User {username} added",
  "usr.saved": "{username} saved: {changed}; {ended} session(s) ended",
  "usr.nothing": "nothing changed",
  "usr.failed": "Failed: {error}",
  "usr.role.agent": "Agent",
  "usr.role.supervisor": "Supervisor",
  "usr.role.admin": "Admin",
  "usr.role.staff": "Department staff",
});

let users = [];
let departments = {};
let branches = [];

const roleName = (role) => t(`usr.role.${role}`);
const departmentName = (code) => (code ? departments[code] || code : t("usr.none"));
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
    el("td", { text: user.username }),
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

async function begin(user) {
  $("whoami").textContent = user.display_name || user.username;
  $("session-logout").hidden = false;
  if (user.role !== "admin") return show("denied");
  show("main");
  await load();
  edit(null);
}

function end() {
  $("whoami").textContent = "";
  $("session-logout").hidden = true;
  users = [];
  renderUsers();
}

function init() {
  applyI18n();
  setupLangToggle($("lang-toggle"));
  onLangChange(() => {
    renderUsers();
    fillChoices(users.find((u) => String(u.id) === $("user-id").value) || null);
  });
  $("user-form").addEventListener("submit", save);
  $("form-reset").addEventListener("click", () => edit(null));
  startSession({ onUser: begin, onLogout: end });
}

init();
