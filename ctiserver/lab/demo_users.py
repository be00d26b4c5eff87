"""Every user the lab makes and what each is for: printed by ``ctiserver lab`` and shown in
the README's table (tests/unit/test_demo_users.py keeps the two equal)."""

from __future__ import annotations

from dataclasses import dataclass

from ctiserver.lab.demo import AGENTS, STAFF
from ctiserver.lab.demo_dispatch import BRANCHES, DEPARTMENT_STAFF, MANAGER

#: what a department's staff handle
DEPARTMENT_WORK = {
    "repair": "repair tickets",
    "complaint": "complaint tickets",
    "installation": "installation, moving and removal tickets",
    "support": "inquiry tickets",
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    name: str
    role: str
    #: what the user is for, in a few words
    purpose: str


def demo_users() -> list[DemoUser]:
    """The lab's users, in the order it makes them."""
    users = [DemoUser(f"agent{ext}", name, "agent", f"agent desk, extension {ext}, queues {skills.replace(',', ', ')}")
             for ext, name, skills in AGENTS]
    purposes = {"supervisor": "live view, reports, recordings, callbacks",
                "admin": "everything: users, flows, imports, audit log"}
    users += [DemoUser(username, name, role, purposes.get(role, role)) for username, role, name in STAFF]
    users.append(DemoUser(MANAGER[0], MANAGER[1], "staff", "repair, manager of the Guangdong branch (escalations)"))
    users += [DemoUser(engineer, name, "staff", f"repair engineer, {branch}")
              for branch, _province, _city, engineer, name in BRANCHES]
    users += [DemoUser(username, name, "staff", f"{department} department: {DEPARTMENT_WORK[department]}, every branch")
              for username, name, department in DEPARTMENT_STAFF]
    return users


def users_table() -> str:
    """The table as the lab prints it and the README shows it (Markdown)."""
    lines = ["| user | name | role | for |", "|---|---|---|---|"]
    lines += [f"| `{u.username}` | {u.name} | {u.role} | {u.purpose} |" for u in demo_users()]
    return "\n".join(lines)
