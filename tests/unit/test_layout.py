"""The layout's rules, checked on every run so they cannot quietly erode:

* no module of ``ctiserver/`` over 400 lines;
* no two classes of ``ctiserver/`` with one name;
* the pure models (each feature's ``model``) import no I/O: no asyncio, aiohttp,
  SQLAlchemy, panoramisk or the web and storage adapters;
* every feature that serves routes registers them through its ``http.register``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "ctiserver"
MAX_LINES = 400
IO_MODULES = ("asyncio", "aiohttp", "sqlalchemy", "panoramisk", "ctiserver.web", "ctiserver.storage")


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(REPO)): n for p in modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_no_two_classes_share_a_name() -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(str(path.relative_to(REPO)))
    assert {name: paths for name, paths in where.items() if len(paths) > 1} == {}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_models_are_pure() -> None:
    model_files = [p for p in modules() if "model" in p.relative_to(PACKAGE).parts[1:2] or p.stem == "model"]
    assert len(model_files) >= 10, "the models were found"
    impure = {
        str(p.relative_to(REPO)): sorted(m for m in imported(p) if m.startswith(IO_MODULES))
        for p in model_files
    }
    assert {path: found for path, found in impure.items() if found} == {}


def test_features_serve_their_routes_through_register() -> None:
    for http in PACKAGE.glob("*/http.py"):
        tree = ast.parse(http.read_text())
        functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert "register" in functions, f"{http.relative_to(REPO)} has no register()"
