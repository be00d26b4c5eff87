"""Issue 8: the server runs from an installed wheel, not only from a checkout.

Builds the wheel from a copy of the checkout's sources, installs it with its
dependencies into a fresh venv, and from a directory outside the checkout runs the
installed ``ctiserver``: the flow schema, the migrations, the pages and the Asterisk
templates must all come from the installed package data. The venv borrows this test's
dependencies and ``pip check`` proves the wheel's declared ones are met.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ctiserver import resources
from tests.conftest import REPO, require

pytestmark = pytest.mark.integration

#: what pip says when it cannot reach an index: a missing prerequisite, not a broken wheel
OFFLINE = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "No matching distribution found",
    "Could not find a version that satisfies",
)

#: what the installed package resolves, printed as JSON by the installed Python
PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from ctiserver import resources
    from ctiserver.lab.asterisk import AsteriskLayout, render_config
    from ctiserver.lab.provision import AsteriskInstall
    from ctiserver.settings import load_settings

    install = AsteriskInstall(root=Path("/"), binary="asterisk", modules_dir="/m", data_dir="/d")
    etc = render_config(load_settings(), install, AsteriskLayout(base=sys.argv[1]))
    print(json.dumps({
        "package": str(resources.PACKAGE),
        "pages": str(resources.pages_dir()),
        "migrations": str(resources.migrations_dir()),
        "templates": [str(d) for d in resources.asterisk_template_dirs()],
        "sample_flows": str(resources.sample_flows_dir()),
        "flow_schema": str(resources.flow_schema()),
        "rendered": sorted(p.name for p in etc.iterdir()),
    }))
    """
)


def run(
    args: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (the test's own python, pip and ctiserver)
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def pip(args: list[str | Path], cwd: Path, env: dict[str, str], python: str | Path) -> None:
    done = run([python, "-m", "pip", "--disable-pip-version-check", *args], cwd, env)
    if done.returncode != 0:
        output = done.stdout + done.stderr
        require(
            not any(sign in output for sign in OFFLINE),
            f"pip could not reach a package index for pip {args[0]} (offline?):\n{output[-2000:]}",
        )
        pytest.fail(f"pip {' '.join(map(str, args))} failed:\n{output[-4000:]}")


def copy_sources(target: Path) -> None:
    """What the wheel is built from, without build/ or *.egg-info leftovers of the checkout."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, target / name)
    for folder in ["ctiserver", *(r.folder for r in resources.RESOURCES)]:
        shutil.copytree(REPO / folder, target / folder, ignore=ignore)


def outside_checkout(path: str | Path, venv: Path) -> Path:
    resolved = Path(path).resolve()
    assert not resolved.is_relative_to(REPO), f"{resolved} is in the checkout {REPO}"
    assert resolved.is_relative_to(venv.resolve()), f"{resolved} is not in the venv {venv}"
    return resolved


def test_the_installed_wheel_finds_its_pages_migrations_templates_and_schema(
    tmp_path: Path,
) -> None:
    venv_ok = run([sys.executable, "-c", "import ensurepip, venv"], tmp_path, dict(os.environ))
    require(
        venv_ok.returncode == 0,
        f"python -m venv needs ensurepip (apt install python3-venv): {venv_ok.stderr}",
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CTISERVER_")
        and key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    src, dist, venv, elsewhere = (tmp_path / n for n in ("src", "dist", "venv", "elsewhere"))
    for directory in (src, dist, elsewhere):
        directory.mkdir()

    copy_sources(src)
    # the build system's requirements are the test extras' (pyproject.toml): no isolated build
    # environment to make for each run
    pip(["wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, src], tmp_path, env, sys.executable)
    wheels = sorted(dist.glob("ctiserver-*.whl"))
    assert len(wheels) == 1, wheels

    created = run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path, env)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    # The dependencies are the ones this test runs on (their directory on the new venv's path,
    # its own .pth files, such as the checkout's editable install, not read); the wheel goes in
    # on its own, then `pip check` proves what the wheel declares is all there. Installing the
    # dependencies again cost a minute of the suite for what pip check shows.
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path, env)
    ours = run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path, env)
    (Path(site.stdout.strip()) / "dependencies.pth").write_text(ours.stdout.strip() + "\n", encoding="utf-8")
    pip(["--python", python, "install", "-q", "--no-deps", wheels[0]], tmp_path, env, sys.executable)
    pip(["--python", python, "check"], tmp_path, env, sys.executable)
    ctiserver = venv / "bin" / "ctiserver"

    # the flow schema, from a directory that is not the checkout
    schema = run([ctiserver, "flows", "schema"], elsewhere, env)
    assert schema.returncode == 0, schema.stderr
    assert "$defs" in json.loads(schema.stdout)

    # the migrations
    database = elsewhere / "var" / "cti.sqlite3"
    db_env = {**env, "CTISERVER_DATABASE__URL": f"sqlite+aiosqlite:///{database}"}
    upgraded = run([ctiserver, "db", "upgrade"], elsewhere, db_env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database schema is up to date" in upgraded.stdout
    with sqlite3.connect(database) as connection:
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert {"alembic_version", "users", "calls"} <= tables, tables

    # the pages, the Asterisk templates (rendered), the sample flows: all from the venv
    probe = run([python, "-c", PROBE, elsewhere / "asterisk"], elsewhere, env)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    package = outside_checkout(found["package"], venv)
    assert package.parent.name == "site-packages"
    assert (outside_checkout(found["pages"], venv) / "agent.html").is_file()
    assert (outside_checkout(found["pages"], venv) / "admin" / "flows.html").is_file()
    migrations = outside_checkout(found["migrations"], venv)
    assert (migrations / "alembic.ini").is_file()
    assert sorted((migrations / "migrations" / "versions").glob("0001_*.py"))
    conf, dialplans = (outside_checkout(d, venv) for d in found["templates"])
    assert (conf / "pjsip.conf.j2").is_file() and (dialplans / "extensions.conf.j2").is_file()
    assert {"asterisk.conf", "pjsip.conf", "manager.conf", "extensions.conf"} <= set(
        found["rendered"]
    )
    assert (outside_checkout(found["sample_flows"], venv) / "hotline.yaml").is_file()
    assert outside_checkout(found["flow_schema"], venv).is_file()

    # an install that lost its package data says what is missing and how to fix it
    shutil.rmtree(migrations)
    broken = run([ctiserver, "db", "upgrade"], elsewhere, db_env)
    assert broken.returncode == 2, broken.stdout + broken.stderr
    assert "the database migrations (Alembic) not found" in broken.stderr
    assert "reinstall ctiserver" in broken.stderr
    assert "Traceback" not in broken.stderr
