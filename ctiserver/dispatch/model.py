"""Which department and which branch a new ticket goes to, by the rules in the database.

A rule matches a ticket when each of its kind, province and city is null or equal to the
ticket's kind and its customer's province and city. The department is the most specific
matching rule's: a rule naming the kind beats one that does not, then a city beats a
province, a province beats anywhere (rules go kind -> department first). The branch is
the most specific by region (city, then province, then kind) among the matching rules
of that department that name a branch; none if there is none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: int
    kind: str | None
    province: str | None
    city: str | None
    department: str
    branch_id: int | None

    def matches(self, kind: str, province: str | None, city: str | None) -> bool:
        return (
            (self.kind is None or self.kind == kind)
            and (self.province is None or self.province == province)
            and (self.city is None or self.city == city)
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id, "kind": self.kind, "province": self.province, "city": self.city,
            "department": self.department, "branch_id": self.branch_id,
        }


@dataclass(frozen=True)
class Target:
    department: str
    branch_id: int | None
    #: the rule that gave the department, and the one that gave the branch
    rule_id: int
    branch_rule_id: int | None


def match(rules: Iterable[Rule], kind: str, province: str | None, city: str | None) -> Target | None:
    """The department and branch for a ticket; None when no rule matches."""
    found = [rule for rule in rules if rule.matches(kind, province, city)]
    if not found:
        return None
    best = max(found, key=lambda r: (r.kind is not None, r.city is not None, r.province is not None, -r.id))
    branches = [r for r in found if r.department == best.department and r.branch_id is not None]
    if not branches:
        return Target(best.department, None, best.id, None)
    where = max(branches, key=lambda r: (r.city is not None, r.province is not None, r.kind is not None, -r.id))
    return Target(best.department, where.branch_id, best.id, where.id)
