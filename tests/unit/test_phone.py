"""The phone in the desk: each agent's WebRTC credentials, their own alone, never in a page."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ctiserver.lab.certificates import lab_certificate
from ctiserver.operations.check.webrtc import webrtc_result
from ctiserver.phone import endpoint_of, endpoints_conf, ice_servers, sip_password, supervisor_endpoint_of
from ctiserver.phone.credentials import wss_url
from ctiserver.phone.http import SETTINGS_KEY
from ctiserver.production import UnsafeSettings, production_settings
from ctiserver.resources import pages_dir
from ctiserver.settings import Settings
from tests.unit.test_desk_api import DeskEnv, desk_env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[DeskEnv]:
    async with desk_env(tmp_path) as desk:
        yield desk


def test_the_check_wants_a_wss_url_and_a_matching_certificate(tmp_path: Path) -> None:
    settings = Settings()
    assert webrtc_result(settings).ok  # off unless the operator turns it on
    on = settings.replace(webrtc={"enabled": True})
    result = webrtc_result(on)
    assert not result.ok and "wss://" in result.fix
    made = lab_certificate(tmp_path, ("pbx.example.com",))
    good = on.replace(webrtc={"wss_url": "wss://pbx.example.com:8089/ws", "cert_file": str(made.cert_file),
                              "key_file": str(made.key_file)})
    assert webrtc_result(good).ok, webrtc_result(good)
    other_host = good.replace(webrtc={"wss_url": "wss://other.example.com/ws"})
    assert "does not name other.example.com" in webrtc_result(other_host).detail
    wrong_key = good.replace(webrtc={"key_file": str(made.cert_file)})
    assert not webrtc_result(wrong_key).ok
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=360)
    assert "expires" in webrtc_result(good, now=later).detail


def test_each_endpoint_has_its_own_password_and_the_secret_rotates_them() -> None:
    settings = Settings()
    one, two = sip_password(settings, "web1001"), sip_password(settings, "web1002")
    assert one != two and len(one) == 24
    rotated = settings.replace(asterisk={"phone_secret": "another secret"})
    assert sip_password(rotated, "web1001") != one
    assert endpoint_of(settings, "1001") == "web1001"
    assert wss_url(settings) == "wss://127.0.0.1:8089/ws"
    assert wss_url(settings.replace(webrtc={"wss_url": "wss://pbx.example.com/ws"})) == "wss://pbx.example.com/ws"


def test_ice_servers_from_settings_carry_turn_credentials() -> None:
    settings = Settings().replace(webrtc={"ice_servers": ("stun:stun.example.com:3478",
                                                          "turn:agent:p%40ss@turn.example.com:3478")})
    assert ice_servers(settings) == [
        {"urls": "stun:stun.example.com:3478"},
        {"urls": "turn:turn.example.com:3478", "username": "agent", "credential": "p@ss"},
    ]


async def test_an_agent_gets_their_own_endpoint_never_cached(env: DeskEnv) -> None:
    await env.login("agent1001")
    response = await env.client.get("/api/phone")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    phone = (await response.json())["phone"]
    settings = env.app[SETTINGS_KEY]
    assert phone["enabled"] is True
    assert phone["endpoint"] == "web1001"
    assert phone["uri"] == "sip:web1001@127.0.0.1"
    assert phone["password"] == sip_password(settings, "web1001")
    assert phone["wss_url"] == "wss://127.0.0.1:8089/ws"


async def test_another_agents_session_is_refused_their_credentials(env: DeskEnv) -> None:
    await env.login("agent1002")
    status, body = await env.call("GET", "/api/phone")
    assert status == 200 and body["phone"]["endpoint"] == "web1002"
    assert body["phone"]["password"] != sip_password(Settings(), "web1001")
    # the route takes no endpoint: asking for another's is not a thing one can ask
    status, body = await env.call("GET", "/api/phone?endpoint=web1001")
    assert status == 200
    assert body["phone"]["endpoint"] == "web1002"
    await env.client.post("/logout")
    assert await env.call("GET", "/api/phone") == (401, {"error": "login required"})
    await env.login("agent1003")  # an agent user with no agent: no phone
    assert await env.call("GET", "/api/phone") == (404, {"error": "no agent for this user"})


async def test_a_supervisor_without_an_agent_gets_their_own_monitoring_endpoint(env: DeskEnv) -> None:
    """Live monitoring rings a supervisor's browser phone when they give no desk phone."""
    await env.login("admin")
    status, body = await env.call("GET", "/api/phone")
    admin = f"websup{env.user_ids['admin']}"
    assert status == 200 and body["phone"]["endpoint"] == admin
    assert body["phone"]["password"] == sip_password(env.app[SETTINGS_KEY], admin)
    assert supervisor_endpoint_of(Settings(), env.user_ids["admin"]) == admin
    conf = endpoints_conf(Settings(), ["1001"], [env.user_ids["admin"]])
    assert f"[{admin}]" in conf and "[web1001]" in conf and "remove_unavailable = yes" in conf


def served_pages() -> list[str]:
    root = Path(pages_dir())
    return [page.relative_to(root).as_posix() for page in sorted(root.rglob("*"))
            if page.suffix in (".html", ".js", ".css")]


async def test_no_page_carries_a_password(env: DeskEnv) -> None:
    await env.login("agent1001")
    status, body = await env.call("GET", "/api/phone")
    assert status == 200
    password = body["phone"]["password"]
    for page in served_pages():
        response = await env.client.get(f"/ui/{page}")
        assert response.status == 200
        assert password not in await response.text(), page


async def test_hangup_ends_only_the_agents_own_call(env: DeskEnv) -> None:
    await env.login("agent1001")
    assert await env.call("POST", "/api/agent/hangup") == (409, {"error": "you have no call to hang up"})
    env.desk.agents[env.user_ids["agent1001"]]["state"] = "on_call"
    status, body = await env.call("POST", "/api/agent/hangup")
    assert status == 200 and body["agent"]["extension"] == "1001"
    assert env.desk.actions[-1] == ("hangup", env.user_ids["agent1001"])


def test_serve_refuses_the_browser_phone_on_the_default_phone_secret() -> None:
    settings = Settings().replace(ami={"secret": "an operator's AMI secret"}, webrtc={"enabled": True},
                                  web={"session_secret": "an operator's session secret"})
    with pytest.raises(UnsafeSettings, match="phone_secret"):
        production_settings(settings)
    production_settings(settings.replace(asterisk={"phone_secret": "an operator's phone secret"}))
    production_settings(settings.replace(webrtc={"enabled": False}))
