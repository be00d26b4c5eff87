"""Every IVR variable a call has (the engine's own and those the shipped flows set) has a label
in both languages of the pages (screenpop/i18n.js ``var.*``), so that the pop shows no
variable by its code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ctiserver.ivr.engine.runner import BUILT_IN_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
I18N = (ROOT / "screenpop" / "i18n.js").read_text(encoding="utf-8")


def labels(lang: str) -> dict[str, str]:
    zh, en = I18N[I18N.index("  zh: {"):I18N.index("  en: {")], I18N[I18N.index("  en: {"):]
    return dict(re.findall(r'"var\.([a-z_]+)": "([^"]*)"', zh if lang == "zh" else en))


def flow_variables() -> set[str]:
    """The variables the shipped flows set: an input's ``var``, a node's ``vars``."""
    names: set[str] = set()
    for path in (ROOT / "ivr_flows").glob("*.yaml"):
        for node in (yaml.safe_load(path.read_text(encoding="utf-8")).get("nodes") or {}).values():
            if isinstance(node.get("var"), str):
                names.add(node["var"])
            names.update((node.get("vars") or {}).keys())
    return names


def test_every_variable_has_a_label_in_both_languages() -> None:
    wanted = set(BUILT_IN_VARIABLES) | flow_variables()
    assert "product_key" in wanted and "customer_id" in wanted  # the scan finds both kinds
    zh, en = labels("zh"), labels("en")
    assert wanted - set(zh) == set() and wanted - set(en) == set()
    assert all(re.search("[\u4e00-\u9fff]", zh[name]) for name in wanted), "a Chinese label for each"
