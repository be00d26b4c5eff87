"""The lab demos at any hour on its own copy of the flows; ``serve`` keeps real hours (issue 9)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ctiserver.cli import _parser
from ctiserver.lab.isolated import isolated_settings
from ctiserver.lab.runner import copy_flows, lab_ivr
from ctiserver.settings import Settings, load_settings
from tests.conftest import REPO

HOTLINE = REPO / "ivr_flows" / "hotline.yaml"


def test_defaults_lab_open_serve_real_hours() -> None:
    settings = Settings()
    assert settings.ivr.hours == "flow"  # what serve runs with
    assert settings.lab.hours == "open"
    assert settings.lab.flows_dir == "var/ivr_flows"
    assert load_settings(None, {"CTISERVER_LAB__HOURS": "flow"}).lab.hours == "flow"


def test_real_hours_flag() -> None:
    assert _parser().parse_args(["lab"]).real_hours is False
    assert _parser().parse_args(["lab", "--real-hours"]).real_hours is True


def test_the_lab_serves_its_own_copy_of_the_flows_open_at_any_hour(tmp_path: Path) -> None:
    source = tmp_path / "ivr_flows"
    (source / "sounds").mkdir(parents=True)
    (source / "hotline.yaml").write_text(HOTLINE.read_text(encoding="utf-8"), encoding="utf-8")
    (source / "sounds" / "welcome.wav").write_bytes(b"RIFF")
    settings = Settings().replace(
        ivr={"flows_dir": str(source)}, lab={"flows_dir": str(tmp_path / "var" / "ivr_flows")}
    )
    ivr = lab_ivr(settings)
    copy = tmp_path / "var" / "ivr_flows"
    assert ivr == {"flows_dir": str(copy), "hours": "open"}
    assert (copy / "hotline.yaml").read_bytes() == HOTLINE.read_bytes()
    assert (copy / "sounds" / "welcome.wav").read_bytes() == b"RIFF"

    # a flow published in the lab changed its copy; the next start copies afresh,
    # and a flow file gone from the source is gone from the copy
    (copy / "hotline.yaml").write_text("edited in the lab", encoding="utf-8")
    (copy / "old.yaml").write_text("flow: old", encoding="utf-8")
    assert lab_ivr(settings.replace(lab={"hours": "flow"}))["hours"] == "flow"
    assert (copy / "hotline.yaml").read_bytes() == HOTLINE.read_bytes()
    assert not (copy / "old.yaml").exists()
    assert (source / "hotline.yaml").read_bytes() == HOTLINE.read_bytes()


def test_the_copy_is_never_the_flows_themselves(tmp_path: Path) -> None:
    (tmp_path / "hotline.yaml").write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match="must not be the flows themselves"):
        copy_flows(tmp_path, tmp_path / ".")
    assert (tmp_path / "hotline.yaml").read_text(encoding="utf-8") == "x"


def test_an_unknown_lab_hours_is_refused(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path, flow="flow: x").replace(lab={"hours": "closed"})
    with pytest.raises(ValueError, match=r"lab\.hours must be one of flow, open"):
        lab_ivr(settings)


def test_isolated_labs_copy_into_their_own_directory(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path, flow="flow: x")
    assert Path(settings.lab.flows_dir) == tmp_path / "lab-flows"


def test_serve_refuses_hours_open(tmp_path: Path) -> None:
    env = {**os.environ, "CTISERVER_IVR__HOURS": "open", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "ctiserver", "serve"], capture_output=True, text=True, env=env,
        cwd=tmp_path, timeout=60,
    )
    assert done.returncode == 2
    assert "ivr.hours = 'open' is for the lab; serve always applies the flows' hours" in done.stderr
