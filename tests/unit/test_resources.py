"""ctiserver.resources: installed package data first, then the checkout, else a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctiserver import resources
from ctiserver.resources import ResourceMissing
from tests.conftest import REPO


def test_in_the_checkout_every_resource_is_the_checkouts_folder() -> None:
    assert resources.pages_dir() == REPO / "screenpop"
    assert resources.migrations_dir() == REPO / "db"
    assert resources.asterisk_template_dirs() == [REPO / "asterisk-conf", REPO / "dialplans"]
    assert resources.sample_flows_dir() == REPO / "ivr_flows"
    assert resources.flow_schema() == REPO / "ctiserver" / "ivr" / "flow.schema.json"


def test_every_checkout_folder_holds_its_marker_file() -> None:
    for resource in resources.RESOURCES:
        assert (REPO / resource.folder / resource.marker).is_file(), resource


def test_package_data_comes_before_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = tmp_path / "site-packages" / "ctiserver" / "_data"
    (installed / "screenpop").mkdir(parents=True)
    (installed / "screenpop" / "agent.html").write_text("<html></html>", encoding="utf-8")
    monkeypatch.setattr(resources, "PACKAGE_DATA", installed)
    assert resources.pages_dir() == installed / "screenpop"
    # no packaged migrations: the checkout's
    assert resources.migrations_dir() == REPO / "db"


def test_a_folder_without_its_marker_file_does_not_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = tmp_path / "_data"
    (installed / "screenpop").mkdir(parents=True)  # empty, e.g. a half-copied install
    monkeypatch.setattr(resources, "PACKAGE_DATA", installed)
    assert resources.pages_dir() == REPO / "screenpop"


def test_neither_installed_nor_in_a_checkout_says_what_where_and_how_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site-packages"  # no pyproject.toml: not a checkout
    monkeypatch.setattr(resources, "PACKAGE", site / "ctiserver")
    monkeypatch.setattr(resources, "PACKAGE_DATA", site / "ctiserver" / "_data")
    monkeypatch.setattr(resources, "CHECKOUT", site)
    with pytest.raises(ResourceMissing) as caught:
        resources.migrations_dir()
    message = str(caught.value)
    assert "the database migrations (Alembic) not found" in message
    assert str(site / "ctiserver" / "_data" / "db" / "alembic.ini") in message
    assert str(site / "db") not in message  # site-packages is no checkout: not looked at
    assert "pip install ctiserver-*.whl" in message and "pip install -e ." in message


def test_a_missing_flow_schema_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources, "FLOW_SCHEMA", tmp_path / "flow.schema.json")
    with pytest.raises(ResourceMissing, match="JSON Schema not found"):
        resources.flow_schema()
