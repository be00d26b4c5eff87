"""SMS notices, pure: which notices an event owes, their keys and texts (sandboxed
templates), quiet hours, the back-off, inbound parsing and trust, and Aliyun's signature
against the example its documentation publishes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from zoneinfo import ZoneInfo

import pytest
from jinja2.exceptions import SecurityError

from ctiserver.notices.inbound import InboundRefused, parse, trusted
from ctiserver.notices.model import (
    TemplateRefused,
    asks_opt_out,
    backoff,
    check_template,
    clock,
    notices_for,
    outbox_key,
    quiet_until,
    render,
    window_text,
)
from ctiserver.notices.providers import AliyunSms, SmsMessage, aliyun_signature, percent_encode
from ctiserver.notices.templates import Templates
from ctiserver.settings import SmsSettings, SmsTemplate

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALL = SmsSettings().notices


def test_each_event_owes_the_notices_of_its_templates() -> None:
    assert [n.name for n in notices_for("scheduled", ALL)] == ["customer_accepted", "engineer_task"]
    assert [n.name for n in notices_for("completed", ALL)] == ["customer_completed"]
    assert [n.name for n in notices_for("return_visit", ALL)] == ["customer_survey"]
    assert notices_for("note", ALL) == []
    assert [n.name for n in notices_for("scheduled", ("engineer_task",))] == ["engineer_task"]
    assert outbox_key(42, "customer", "customer_accepted") == "42:customer:customer_accepted"


def test_default_texts_in_both_languages_say_what_the_issue_asks() -> None:
    values = {
        "number": "R20261206-0001", "customer": "张三", "phone": "13800138000", "address": "北京市朝阳区1号",
        "product": "洗衣机 XQB", "fault": "漏水", "engineer": "李师傅", "window": "12月7日 09:00-11:00",
    }
    templates = Templates()
    accepted = render(templates.get("customer_accepted", "zh").text, values)
    assert "R20261206-0001" in accepted and "李师傅" in accepted and "12月7日 09:00-11:00" in accepted
    task = render(templates.get("engineer_task", "en").text, values)
    for value in ("张三", "13800138000", "北京市朝阳区1号", "洗衣机 XQB", "漏水", "09:00-11:00"):
        assert value in task
    assert "R20261206-0001" in render(templates.get("customer_survey", "en").text, values)


def test_templates_run_in_the_sandbox_and_bad_ones_are_refused() -> None:
    with pytest.raises(SecurityError):
        render("{{ number.__class__.__mro__ }}", {"number": "x"})
    with pytest.raises(TemplateRefused, match="unknown notice"):
        check_template("nope", "zh", "x")
    with pytest.raises(TemplateRefused, match="language"):
        check_template("customer_completed", "fr", "x")
    with pytest.raises(TemplateRefused, match="customer_completed"):
        Templates([SmsTemplate("customer_completed", "zh", "{% if %}")])
    mine = Templates([SmsTemplate("customer_completed", "en", "Done: {{ number }}", provider_code="SMS_1")])
    assert render(mine.get("customer_completed", "en").text, {"number": "T1"}) == "Done: T1"
    assert mine.get("customer_completed", "en").provider_code == "SMS_1"


def test_the_window_is_told_in_the_hotlines_zone() -> None:
    start = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)
    assert window_text(start, start + dt.timedelta(hours=2), SHANGHAI, "zh") == "12月7日 09:00-11:00"
    assert window_text(start, None, SHANGHAI, "en") == "07 Dec 09:00"
    assert window_text(None, None, SHANGHAI, "zh") == "待定"


def test_quiet_hours_hold_until_the_morning_across_midnight() -> None:
    start, end = clock("21:00"), clock("08:00")
    evening = dt.datetime(2026, 12, 6, 22, 30, tzinfo=SHANGHAI)
    assert quiet_until(evening, SHANGHAI, start, end) == dt.datetime(2026, 12, 7, 8, 0, tzinfo=SHANGHAI)
    night = dt.datetime(2026, 12, 7, 3, 0, tzinfo=SHANGHAI)
    assert quiet_until(night, SHANGHAI, start, end) == dt.datetime(2026, 12, 7, 8, 0, tzinfo=SHANGHAI)
    assert quiet_until(dt.datetime(2026, 12, 7, 8, 0, tzinfo=SHANGHAI), SHANGHAI, start, end) is None
    assert quiet_until(dt.datetime(2026, 12, 7, 12, 0, tzinfo=SHANGHAI), SHANGHAI, start, end) is None
    # a window inside one day, and none at all
    assert quiet_until(dt.datetime(2026, 12, 7, 12, 30, tzinfo=SHANGHAI), SHANGHAI, clock("12:00"),
                       clock("13:00")) == dt.datetime(2026, 12, 7, 13, 0, tzinfo=SHANGHAI)
    assert quiet_until(evening, SHANGHAI, start, start) is None
    with pytest.raises(ValueError):
        clock("25:00")


def test_backoff_doubles_up_to_the_ceiling() -> None:
    assert [backoff(n, 5, 60) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]
    assert backoff(1, 5, 60, jitter=0.99) < 5.5


def test_inbound_pushes_are_parsed_and_trusted_only_when_signed() -> None:
    body = json.dumps([{"phone_number": "13800138000", "content": "洗衣机又漏水了", "sequence_id": 7,
                        "send_time": "2026-12-06 10:00:00", "dest_code": "1234"}]).encode()
    [message] = parse(body)
    assert (message.message_id, message.phone, message.text) == ("7", "13800138000", "洗衣机又漏水了")
    with pytest.raises(InboundRefused):
        parse(b"[{\"content\": \"x\"}]")
    with pytest.raises(InboundRefused):
        parse(b"not json")
    secret = "an inbound secret"
    signed = "sha256=" + hmac.new(secret.encode(), b"1000." + body, hashlib.sha256).hexdigest()
    assert trusted(secret, timestamp="1000", signature=signed, token=None, body=body, now=1100)
    assert not trusted(secret, timestamp="1000", signature=signed, token=None, body=body + b" ", now=1100)
    assert not trusted(secret, timestamp="1000", signature=signed, token=None, body=body, now=2000)
    assert trusted(secret, timestamp=None, signature=None, token=secret, body=body, now=0)
    assert not trusted(secret, timestamp=None, signature=None, token="guess", body=body, now=0)
    assert not trusted("", timestamp=None, signature=None, token="", body=body, now=0)
    assert asks_opt_out(" t ") and asks_opt_out("退订") and not asks_opt_out("谢谢")


def test_aliyun_signature_matches_the_documented_example() -> None:
    """The example of Aliyun SMS's signature documentation (HTTP GET, AccessKey testId / testSecret)."""
    params = {
        "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
        "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
    }
    assert aliyun_signature("testSecret", "GET", params) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert percent_encode("a b*~/") == "a%20b%2A~%2F"


def test_an_aliyun_request_carries_every_documented_parameter() -> None:
    provider = AliyunSms("id", "secret", "售后服务", "SMS_1")
    params = provider.params(SmsMessage("9:customer:customer_completed", "13800138000", "完工"),
                             now=dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC), nonce="n1")
    assert params["Timestamp"] == "2026-12-06T02:00:00Z"
    assert params["OutId"] == "9:customer:customer_completed"
    assert json.loads(params["TemplateParam"]) == {"content": "完工"}
    signature = params.pop("Signature")
    assert signature == aliyun_signature("secret", "POST", params)
