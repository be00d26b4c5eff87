"""Webhook endpoints in the settings file, and what ``serve`` and the plugin refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctiserver.operations.check.settings import secrets_result
from ctiserver.production import UnsafeSettings, production_settings
from ctiserver.settings import DEFAULT_WEBHOOK_KINDS, WebhookEndpoint, load_settings
from ctiserver.webhooks.plugin import check_endpoints

TOML = """\
[ami]
secret = "an operator's long AMI secret"

[tickets]
feed_interval = 0.5

[[webhooks.endpoints]]
name = "erp"
url = "https://erp.example.com/cti/events"
secret = "a long random shared secret"
kinds = ["created", "closed"]
backoff_max = 60

[[webhooks.endpoints]]
name = "sms"
url = "http://10.0.0.5:8080/hook"
"""


def test_endpoints_are_read_from_the_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "ctiserver.toml"
    path.write_text(TOML)
    settings = load_settings(path, environ={})
    erp, sms = settings.webhooks.endpoints
    assert settings.tickets.feed_interval == 0.5
    assert (erp.name, erp.kinds, erp.backoff_max, erp.start) == ("erp", ("created", "closed"), 60.0, "now")
    assert sms.kinds == DEFAULT_WEBHOOK_KINDS


def test_serve_and_check_refuse_an_endpoint_with_an_empty_or_default_secret(tmp_path: Path) -> None:
    path = tmp_path / "ctiserver.toml"
    path.write_text(TOML)
    settings = load_settings(path, environ={}).replace(web={"secrets_file": str(tmp_path / "s.toml")})
    with pytest.raises(UnsafeSettings, match="sms"):
        production_settings(settings)
    assert "sms" in secrets_result(settings).detail
    blank = settings.replace(webhooks={"endpoints": (WebhookEndpoint("erp", "https://erp.example.com", secret=" "),)})
    with pytest.raises(UnsafeSettings, match="erp"):
        production_settings(blank)
    fine = settings.replace(webhooks={"endpoints": settings.webhooks.endpoints[:1]})
    assert production_settings(fine).webhooks.endpoints[0].name == "erp"


@pytest.mark.parametrize(("endpoint", "problem"), [
    (WebhookEndpoint("erp/../x", "https://e.example"), "name"),
    (WebhookEndpoint("erp", "file:///etc/passwd"), "http"),
    (WebhookEndpoint("erp", "https://e.example", start="yesterday"), "start"),
    (WebhookEndpoint("erp", "https://e.example", kinds=()), "kinds"),
    (WebhookEndpoint("erp", "https://e.example", backoff_min=5, backoff_max=1), "back-off"),
])
def test_the_plugin_refuses_endpoints_that_cannot_work(endpoint: WebhookEndpoint, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_endpoints([endpoint])


def test_two_endpoints_may_not_share_a_name() -> None:
    with pytest.raises(ValueError, match="twice"):
        check_endpoints([WebhookEndpoint("erp", "https://a.example"), WebhookEndpoint("erp", "https://b.example")])
