"""The layout's rules, checked on every run so they cannot quietly erode:

* no module of ``ctiserver/`` over 400 lines;
* no two classes of ``ctiserver/`` with one name;
* the pure models (each feature's ``model``) import no I/O: no asyncio, aiohttp,
  SQLAlchemy, panoramisk or the web and storage adapters;
* every feature that serves routes registers them through its ``http.register``;
* the dependency rule, read from the real import graph (every ``import`` in ``ctiserver/``):
  a feature uses another only through its face (its package ``__init__.py``) or its pure
  ``model``, never its tables, store, plugin or routes, nor (through its face) its ORM table
  classes: what another feature reads comes from read models (frozen values the face's
  services return); the uses from before this rule are listed in ``TABLE_DEBT``, which may
  only shrink; no two features depend on each other,
  however long the loop; the infrastructure (the shared kernel) imports no feature. Tests of
  the rule itself feed the checker small made-up trees, so it is shown to fail;
* the migrations stand alone: none imports ``ctiserver``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

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


# ---- the dependency rule

#: the shared kernel: adapters and words every feature uses; it imports no feature
#: (``calendar`` is the business calendar: weekly hours, holidays, make-up working days;
#: ``logs`` the log format and the call id; ``observing`` the node's metrics and health)
INFRASTRUCTURE = frozenset({
    "core", "web", "storage", "telephony", "settings", "listeners", "resources", "vocabulary",
    "supervision", "calendar", "logs", "observing",
})
#: the composition layer, which may import any feature: the composition root (``server``),
#: the commands (``cli``, ``operations``), the schema's aggregate for migrations (``tables``),
#: the lab, the production checks and the package's own entry points
COMPOSITION = frozenset({
    "server", "cli", "tables", "lab", "operations", "production", "__init__", "__main__",
})
#: what another feature may import besides the face: its pure model (plain classes and events)
PUBLIC_PARTS = frozenset({"model"})


def units(root: Path) -> dict[str, str]:
    """Each top-level part of the package: ``"feature"``, ``"infrastructure"`` or ``"composition"``.

    A new package is a feature unless it is named above: the strict default."""
    found = {p.stem if p.is_file() else p.name: p for p in root.iterdir()
             if (p.is_file() and p.suffix == ".py") or (p.is_dir() and (p / "__init__.py").exists())}
    return {
        name: "infrastructure" if name in INFRASTRUCTURE else "composition" if name in COMPOSITION else "feature"
        for name in found
    }


def imports_of(path: Path, root: Path) -> Iterator[str]:
    """Every module ``path`` imports, absolute (relative imports resolved), and for
    ``from package import name`` also ``package.name`` when that is a module of the package."""
    package = root.name
    here = [package, *path.relative_to(root).with_suffix("").parts]
    if here[-1] == "__init__":
        here.pop()
    else:
        here.pop()  # a module's relative imports start from its package
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here[: len(here) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            for alias in node.names:
                target = root.parent.joinpath(*base.split("."), alias.name)
                if target.with_suffix(".py").exists() or (target / "__init__.py").exists():
                    yield f"{base}.{alias.name}"


def table_classes(root: Path) -> dict[str, set[str]]:
    """Each feature's ORM table classes: the classes of its modules that name a ``__tablename__``."""
    kinds = units(root)
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(root.rglob("*.py")):
        feature = path.relative_to(root).parts[0].removesuffix(".py")
        if kinds.get(feature) != "feature":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(item, (ast.Assign, ast.AnnAssign)) and "__tablename__" in ast.unparse(item)
                for item in node.body
            ):
                found[feature].add(node.name)
    return found


def table_uses(path: Path, root: Path, tables: dict[str, set[str]]) -> Iterator[str]:
    """Another feature's table classes that ``path`` uses, as ``ctiserver.feature.Class``: imported
    by name from any of its modules (its face too), or read as an attribute of it imported whole."""
    package = root.name
    source = path.relative_to(root).parts[0].removesuffix(".py")
    aliases: dict[str, str] = {}
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == package and len(parts) == 1:  # from ctiserver import customers
                for alias in node.names:
                    if alias.name in tables and alias.name != source:
                        aliases[alias.asname or alias.name] = alias.name
            elif parts[0] == package and parts[1] in tables and parts[1] != source:
                yield from (f"{package}.{parts[1]}.{a.name}" for a in node.names if a.name in tables[parts[1]])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == package and len(parts) == 2 and parts[1] in tables and parts[1] != source:
                    aliases[alias.asname or alias.name] = parts[1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            named = ast.unparse(node.value)
            feature = aliases.get(named)
            if feature is not None and node.attr in tables[feature]:
                yield f"{package}.{feature}.{node.attr}"


def dependency_problems(root: Path, debt: frozenset[tuple[str, str]] = frozenset()) -> list[str]:
    """What breaks the dependency rule in the package at ``root`` (``.../ctiserver``); ``debt``:
    the (module, table class) uses of another feature's tables still allowed."""
    kinds = units(root)
    package = root.name
    problems: list[str] = []
    graph: dict[str, set[str]] = defaultdict(set)
    tables = table_classes(root)
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        source = rel.parts[0].removesuffix(".py")
        if kinds[source] == "feature":
            problems.extend(
                f"{rel.as_posix()} uses {used}: another feature's table (read it through a read model of its face)"
                for used in sorted(set(table_uses(path, root, tables))) if (rel.as_posix(), used) not in debt
            )
        for module in imports_of(path, root):
            parts = module.split(".")
            if parts[0] != package or len(parts) < 2 or kinds.get(parts[1]) != "feature" or parts[1] == source:
                continue
            target = parts[1]
            if kinds[source] == "infrastructure":
                problems.append(f"{rel.as_posix()} imports {module}: the infrastructure imports no feature")
            elif kinds[source] == "feature":
                graph[source].add(target)
                if len(parts) > 2 and parts[2] not in PUBLIC_PARTS:
                    problems.append(
                        f"{rel.as_posix()} imports {module}: another feature's {parts[2]} "
                        f"(use its face, {package}.{target})"
                    )
    problems.extend(f"features depend on each other: {' -> '.join(loop)}" for loop in cycles(graph))
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One loop through each group of features that depend on each other (Tarjan's components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_loop(graph, group) for group in groups]


def _loop(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """A path from the group's first feature back to itself, within the group."""
    start, members = group[0], set(group)
    paths = [[start]]
    while paths:
        path = paths.pop(0)
        for nxt in sorted(graph.get(path[-1], set()) & members):
            if nxt == start:
                return [*path, start]
            if nxt not in path:
                paths.append([*path, nxt])
    return group


#: the uses of another feature's ORM table classes from before the rule (module, class): the
#: debt, paid by giving these modules read models; a new use fails, and so does an entry
#: no longer needed (strike it)
TABLE_DEBT = frozenset({
    ("agents/tables.py", "ctiserver.users.User"),
    ("callbacks/tables.py", "ctiserver.customers.Customer"),
    ("calls/store.py", "ctiserver.customers.CustomerPhone"),
    ("calls/tables.py", "ctiserver.customers.Customer"),
    ("dispatch/store.py", "ctiserver.users.User"),
    ("dispatch/tables.py", "ctiserver.users.User"),
    ("ivr/services.py", "ctiserver.customers.Product"),
    ("ivr/tables.py", "ctiserver.customers.Customer"),
    ("pops/cards.py", "ctiserver.calls.CallRow"),
    ("pops/cards.py", "ctiserver.customers.Customer"),
    ("pops/cards.py", "ctiserver.customers.CustomerPhone"),
    ("pops/cards.py", "ctiserver.customers.Product"),
    ("pops/cards.py", "ctiserver.tickets.Ticket"),
    ("pops/search.py", "ctiserver.customers.Customer"),
    ("pops/search.py", "ctiserver.customers.CustomerPhone"),
    ("pops/search.py", "ctiserver.customers.Product"),
    ("pops/search.py", "ctiserver.tickets.Ticket"),
    ("recordings/store.py", "ctiserver.customers.Customer"),
    ("recordings/store.py", "ctiserver.customers.CustomerPhone"),
    ("recordings/store.py", "ctiserver.tickets.Ticket"),
    ("reports/business.py", "ctiserver.calls.CallRow"),
    ("reports/business.py", "ctiserver.customers.Customer"),
    ("reports/business.py", "ctiserver.customers.Product"),
    ("reports/business.py", "ctiserver.dispatch.Branch"),
    ("reports/business.py", "ctiserver.tickets.Ticket"),
    ("reports/business.py", "ctiserver.tickets.TicketEvent"),
    ("reports/queries.py", "ctiserver.callbacks.Callback"),
    ("reports/queries.py", "ctiserver.callbacks.CallbackAttempt"),
    ("reports/satisfaction.py", "ctiserver.calls.CallRow"),
    ("reports/satisfaction.py", "ctiserver.customers.Customer"),
    ("reports/satisfaction.py", "ctiserver.customers.Product"),
    ("reports/satisfaction.py", "ctiserver.dispatch.Branch"),
    ("reports/satisfaction.py", "ctiserver.ivr.CallSurvey"),
    ("reports/satisfaction.py", "ctiserver.tickets.Ticket"),
    ("reports/satisfaction.py", "ctiserver.visits.Visit"),
    ("reports/store.py", "ctiserver.stats.StatsRecordRow"),
    ("reports/tables.py", "ctiserver.calls.CallRow"),
    ("reports/tables.py", "ctiserver.ivr.CallSurvey"),
    ("reports/tables.py", "ctiserver.tickets.Ticket"),
    ("reports/tables.py", "ctiserver.tickets.TicketEvent"),
    ("reports/tables.py", "ctiserver.visits.Visit"),
    ("spreadsheets/exports.py", "ctiserver.calls.CallRow"),
    ("spreadsheets/exports.py", "ctiserver.customers.Customer"),
    ("spreadsheets/exports.py", "ctiserver.customers.CustomerPhone"),
    ("spreadsheets/exports.py", "ctiserver.customers.Product"),
    ("spreadsheets/exports.py", "ctiserver.tickets.Ticket"),
    ("spreadsheets/store.py", "ctiserver.customers.Customer"),
    ("spreadsheets/store.py", "ctiserver.customers.CustomerPhone"),
    ("spreadsheets/store.py", "ctiserver.customers.Product"),
    ("spreadsheets/store.py", "ctiserver.customers.ProductModel"),
    ("tickets/changes.py", "ctiserver.dispatch.Branch"),
    ("tickets/changes.py", "ctiserver.dispatch.Department"),
    ("tickets/changes.py", "ctiserver.users.User"),
    ("tickets/escalation.py", "ctiserver.dispatch.Branch"),
    ("tickets/listing.py", "ctiserver.calls.CallRow"),
    ("tickets/parties.py", "ctiserver.customers.Customer"),
    ("tickets/parties.py", "ctiserver.customers.CustomerPhone"),
    ("tickets/parties.py", "ctiserver.customers.Product"),
    ("tickets/store.py", "ctiserver.agents.AgentRow"),
    ("tickets/store.py", "ctiserver.customers.Customer"),
    ("tickets/store.py", "ctiserver.users.User"),
    ("tickets/tables.py", "ctiserver.customers.Customer"),
    ("tickets/tables.py", "ctiserver.customers.Product"),
    ("tickets/tables.py", "ctiserver.users.User"),
    ("visits/service.py", "ctiserver.calls.CallRow"),
    ("visits/service.py", "ctiserver.customers.CustomerPhone"),
    ("visits/service.py", "ctiserver.ivr.IvrRun"),
    ("visits/store.py", "ctiserver.customers.Customer"),
    ("visits/store.py", "ctiserver.tickets.Ticket"),
    ("visits/surveys.py", "ctiserver.calls.CallRow"),
    ("visits/surveys.py", "ctiserver.ivr.CallSurvey"),
    ("visits/surveys.py", "ctiserver.tickets.Ticket"),
    ("visits/tables.py", "ctiserver.customers.Customer"),
    ("visits/tables.py", "ctiserver.users.User"),
    ("visits/visibility.py", "ctiserver.tickets.Ticket"),
    ("workview/store.py", "ctiserver.tickets.Ticket"),
    ("workview/store.py", "ctiserver.users.User"),
})


def test_the_real_tree_keeps_the_dependency_rule() -> None:
    kinds = units(PACKAGE)
    features = {name for name, kind in kinds.items() if kind == "feature"}
    assert {"agents", "calls", "customers", "ivr", "tickets", "users", "visits"} <= features
    assert {"core", "web", "storage", "telephony"} <= {n for n, k in kinds.items() if k == "infrastructure"}
    assert dependency_problems(PACKAGE, TABLE_DEBT) == []


def test_the_table_debt_only_shrinks() -> None:
    """Every listed use is still there: one paid is struck from the list, so it cannot come back."""
    tables = table_classes(PACKAGE)
    used = {(p.relative_to(PACKAGE).as_posix(), u) for p in modules() for u in table_uses(p, PACKAGE, tables)}
    assert len(TABLE_DEBT) <= 77  # 84 before the notices' 7 were paid: lower this as more are
    assert sorted(TABLE_DEBT - used) == []


def test_notices_read_no_other_features_tables() -> None:
    """The SMS notices read tickets, customers and users through their faces' read models only."""
    tables = table_classes(PACKAGE)
    assert {"Ticket", "TicketEvent"} <= tables["tickets"] and "Customer" in tables["customers"]
    notices = (PACKAGE / "notices").rglob("*.py")
    assert {u for p in notices for u in table_uses(p, PACKAGE, tables)} == set()
    assert not any(module.startswith("notices/") for module, _ in TABLE_DEBT)


def test_the_checker_reads_the_real_import_graph() -> None:
    """It sees the imports that are allowed: faces and models of other features."""
    seen = {m for p in (PACKAGE / "tickets").rglob("*.py") for m in imports_of(p, PACKAGE)}
    assert {"ctiserver.customers", "ctiserver.dispatch", "ctiserver.users"} <= seen
    assert "ctiserver.tickets.model.workflow" in seen  # its own, relative or not


def test_every_face_says_what_other_features_may_use() -> None:
    for name, kind in sorted(units(PACKAGE).items()):
        if kind != "feature":
            continue
        face = PACKAGE / name / "__init__.py"
        tree = ast.parse(face.read_text())
        assert ast.get_docstring(tree), f"{name}/__init__.py has no docstring"
        declared = [node for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                    and "__all__" in ast.unparse(node.targets[0] if isinstance(node, ast.Assign) else node.target)]
        assert declared, f"{name}/__init__.py has no __all__"


def _tree(root: Path, files: dict[str, str]) -> Path:
    package = root / "ctiserver"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for directory in [package, *(p for p in package.rglob("*") if p.is_dir())]:
        (directory / "__init__.py").touch()
    return package


#: a made-up package that keeps the rule
CLEAN = {
    "core.py": "import asyncio\n",
    "server.py": "from ctiserver.orders import plugin\nfrom ctiserver.stock import plugin as stock\n",
    "stock/__init__.py": "from ctiserver.stock.store import StockRepository\n__all__ = ['StockRepository']\n",
    "stock/store.py": "from ctiserver.stock.tables import Item\n",
    "stock/tables.py": "from ctiserver import core\n\n\nclass Item(core.Base):\n    __tablename__ = 'items'\n",
    "stock/model.py": "LEVELS = ()\n",
    "orders/store.py": "from ctiserver.stock import StockRepository\nfrom ctiserver.stock.model import LEVELS\n",
    "orders/plugin.py": "from . import store\n",
}


def test_the_rule_accepts_a_tree_that_keeps_it(tmp_path: Path) -> None:
    assert dependency_problems(_tree(tmp_path, CLEAN)) == []


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        # a feature reaching into another's tables, store, plugin or routes
        ({"orders/store.py": "from ctiserver.stock.tables import Item\n"},
         "orders/store.py imports ctiserver.stock.tables: another feature's tables (use its face, ctiserver.stock)"),
        ({"orders/store.py": "from ctiserver.stock import store\n"},
         "orders/store.py imports ctiserver.stock.store: another feature's store"),
        ({"orders/views.py": "import ctiserver.stock.plugin\n"},
         "orders/views.py imports ctiserver.stock.plugin: another feature's plugin"),
        # a feature using another's ORM table classes, even through its face, in any spelling
        ({"stock/__init__.py": "from ctiserver.stock.tables import Item\n__all__ = ['Item']\n",
          "orders/store.py": "from ctiserver.stock import Item\n"},
         "orders/store.py uses ctiserver.stock.Item: another feature's table"),
        ({"orders/store.py": "from ctiserver import stock\nROWS = stock.Item\n"},
         "orders/store.py uses ctiserver.stock.Item: another feature's table"),
        ({"orders/store.py": "import ctiserver.stock as s\nROWS = s.Item\n"},
         "orders/store.py uses ctiserver.stock.Item: another feature's table"),
        # two features importing each other, even through their faces, even the long way round
        ({"stock/store.py": "from ctiserver.orders import OrderRepository\n"},
         "features depend on each other: orders -> stock -> orders"),
        ({"billing/__init__.py": "from ctiserver.orders import x\n",
          "stock/store.py": "from ctiserver.billing import y\n"},
         "features depend on each other: billing -> orders -> stock -> billing"),
        # the infrastructure importing a feature, in any way
        ({"core.py": "from ctiserver.stock.model import LEVELS\n"},
         "core.py imports ctiserver.stock.model: the infrastructure imports no feature"),
        ({"web/app.py": "from ..orders import plugin\n"},
         "web/app.py imports ctiserver.orders: the infrastructure imports no feature"),
    ],
)
def test_the_rule_reports_what_breaks_it(tmp_path: Path, changed: dict[str, str], problem: str) -> None:
    problems = dependency_problems(_tree(tmp_path, {**CLEAN, **changed}))
    assert any(found.startswith(problem) for found in problems), problems


def test_the_composition_layer_may_import_any_feature(tmp_path: Path) -> None:
    package = _tree(tmp_path, {**CLEAN, "cli.py": "from ctiserver.stock.tables import Item\n"})
    assert dependency_problems(package) == []


def test_no_migration_imports_the_application() -> None:
    """A migration means forever what it meant when written: it carries what it needs."""
    versions = sorted((REPO / "db" / "migrations" / "versions").glob("*.py"))
    assert len(versions) >= 16
    found = {
        path.name: sorted(m for m in imported(path) if m == "ctiserver" or m.startswith("ctiserver."))
        for path in versions
    }
    assert {name: modules for name, modules in found.items() if modules} == {}


def test_the_readme_layout_names_every_package() -> None:
    """A newcomer finds every part of ``ctiserver/`` in the README's layout tables."""
    readme = (REPO / "README.md").read_text()
    parts = [f"ctiserver/{p.name}/" if p.is_dir() else f"ctiserver/{p.name}" for p in PACKAGE.iterdir()
             if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and not p.name.startswith("__"))]
    assert len(parts) > 30
    assert [part for part in sorted(parts) if part not in readme] == []
