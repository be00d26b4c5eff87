"""``ctiserver serve`` never runs on the source's default secrets: a default AMI secret
refuses the start; a default session secret is replaced by a generated one kept 0600, so
a cookie minted with the default secret (anyone can read it in the source) is refused."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ctiserver.production import UnsafeSettings, production_settings
from ctiserver.settings import Settings, WebSettings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.store import UserRepository
from ctiserver.web.auth import COOKIE_NAME
from tests.support.web_fakes import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.web_app import build_app

ROOT = Path(__file__).resolve().parents[2]


def operator_settings(tmp_path: Path, **web: object) -> Settings:
    return Settings().replace(
        ami={"secret": "an operator's secret"},
        web={"secrets_file": str(tmp_path / "secrets.toml"), **web},
        database={"url": f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"},
    )


def test_a_default_ami_secret_refuses_to_serve() -> None:
    with pytest.raises(UnsafeSettings, match="CTISERVER_AMI__SECRET"):
        production_settings(Settings())


def test_an_sms_provider_with_the_default_secret_refuses_to_serve(tmp_path: Path) -> None:
    settings = operator_settings(tmp_path).replace(sms={"enabled": True, "provider": "aliyun"})
    with pytest.raises(UnsafeSettings, match=r"\[sms\] provider aliyun"):
        production_settings(settings)
    # the lab's log provider sends nothing: no secret needed
    production_settings(settings.replace(sms={"provider": "log"}))


def test_serve_command_refuses_default_secrets(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTISERVER_")}
    env["CTISERVER_DATABASE__URL"] = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "ctiserver", "serve"], cwd=tmp_path, env=env | {"PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "refusing to serve" in result.stderr and "[ami] secret" in result.stderr


def test_a_default_session_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = production_settings(operator_settings(tmp_path))
    secret = settings.web.session_secret
    assert secret != WebSettings().session_secret and len(secret) >= 48
    secrets_file = tmp_path / "secrets.toml"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert production_settings(operator_settings(tmp_path)).web.session_secret == secret
    secrets_file.chmod(0o644)
    with pytest.raises(UnsafeSettings, match="chmod 600"):
        production_settings(operator_settings(tmp_path))


def test_a_secret_the_operator_set_is_kept(tmp_path: Path) -> None:
    settings = production_settings(operator_settings(tmp_path, session_secret="the operator's passphrase"))
    assert settings.web.session_secret == "the operator's passphrase"
    assert not (tmp_path / "secrets.toml").exists()


async def me_with_cookie(settings: Settings, db: Database, cookie: str) -> int:
    app = build_app(settings, db=db, calls=FakeTracker(), ami=FakeAmi(), users=UserRepository(db, FAST_HASHER))
    async with TestClient(TestServer(app)) as client:
        client.session.cookie_jar.update_cookies({COOKIE_NAME: cookie})
        return (await client.get("/api/me")).status


async def test_sessions_are_keyed_under_the_secret_serve_runs_on(tmp_path: Path) -> None:
    """The sessions' keys in the database are HMACs under the session secret: a session
    opened under the source's default secret is no session where serve runs."""
    settings = operator_settings(tmp_path)
    await upgrade_schema(settings.database.url)
    db = Database(settings.database.url)
    await UserRepository(db, FAST_HASHER).add("admin", "a long password", "admin")
    app = build_app(settings, db=db, calls=FakeTracker(), ami=FakeAmi(), users=UserRepository(db, FAST_HASHER))
    try:
        async with TestClient(TestServer(app)) as client:
            response = await client.post("/login", json={"username": "admin", "password": "a long password"})
            cookie = response.cookies[COOKIE_NAME].value
        assert await me_with_cookie(settings, db, cookie) == 200
        assert await me_with_cookie(production_settings(settings), db, cookie) == 401
    finally:
        await db.close()


async def test_cookies_are_secure_when_served_over_tls(tmp_path: Path) -> None:
    settings = operator_settings(tmp_path, secure_cookies=True)
    await upgrade_schema(settings.database.url)
    db = Database(settings.database.url)
    await UserRepository(db, FAST_HASHER).add("agent1001", "pw", "agent")
    app = build_app(settings, db=db, calls=FakeTracker(), ami=FakeAmi(), users=UserRepository(db, FAST_HASHER))
    try:
        async with TestClient(TestServer(app)) as client:
            response = await client.post("/login", json={"username": "agent1001", "password": "pw"})
            cookie = response.cookies[COOKIE_NAME]
            assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
    finally:
        await db.close()
