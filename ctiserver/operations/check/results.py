"""What every check gives: one :class:`Result`, OK, or PROBLEM with a one-line fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        if self.ok:
            return [f"OK       {self.name}: {self.detail}"]
        return [f"PROBLEM  {self.name}: {self.detail}", f"         fix: {self.fix}"]


def ok(name: str, detail: str) -> Result:
    return Result(name, True, detail)


def problem(name: str, detail: str, fix: str) -> Result:
    return Result(name, False, detail, fix)
