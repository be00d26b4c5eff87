"""The webhooks' pure parts: the signature a receiver verifies, the back-off, the next step
after the cursor, the body (the gaps in event ids are the feed's: test_ticket_feed.py)."""

from __future__ import annotations

import hashlib
import hmac
import json

from ctiserver.webhooks.model import DeliveryStep, backoff, body, delivery_id, next_step, signature, verify


def test_the_signature_is_the_hmac_sha256_of_timestamp_dot_body() -> None:
    raw = '{"a":"张伟"}'.encode()
    expected = hmac.new(b"s3cret", b"1700000000." + raw, hashlib.sha256).hexdigest()
    assert signature("s3cret", "1700000000", raw) == f"sha256={expected}"


def test_verify_takes_the_right_signature_and_refuses_the_others() -> None:
    raw = b'{"x":1}'
    header = signature("key", "1000", raw)
    assert verify("key", "1000", raw, header, now=1000)
    assert not verify("other key", "1000", raw, header, now=1000)
    assert not verify("key", "1000", b'{"x":2}', header, now=1000), "body changed"
    assert not verify("key", "1001", raw, header, now=1000), "timestamp changed"
    assert not verify("key", "1000", raw, header, now=1000 + 301), "too old: a replay"
    assert verify("key", "1000", raw, header, now=1000 + 299)
    assert not verify("key", "soon", raw, header, now=1000)


def test_backoff_doubles_up_to_the_cap_with_half_of_it_jittered() -> None:
    assert backoff(0, 1.0, 300.0, 0.5) == 0.0
    no_jitter = [backoff(n, 1.0, 300.0, 0.0) for n in range(1, 12)]
    full_jitter = [backoff(n, 1.0, 300.0, 0.999999) for n in range(1, 12)]
    assert no_jitter[:4] == [0.5, 1.0, 2.0, 4.0]
    assert [round(d) for d in full_jitter[:4]] == [1, 2, 4, 8]
    assert max(full_jitter) <= 300.0 and no_jitter[-1] == 150.0
    assert backoff(10_000, 2.0, 60.0, 0.0) == 30.0, "no overflow after many failures"


def test_delivery_ids_are_stable_per_endpoint_and_event() -> None:
    assert delivery_id("erp", 42) == delivery_id("erp", 42) == "erp-42"
    assert delivery_id("sms", 42) != delivery_id("erp", 42)


def test_the_next_step_sends_the_first_event_of_a_kind_taken_or_passes_the_others() -> None:
    kinds = {"created", "closed"}
    assert next_step([(5, "note"), (6, "created"), (7, "closed")], kinds) == DeliveryStep(6, None)
    assert next_step([(5, "note"), (6, "assigned")], kinds) == DeliveryStep(None, 6)
    assert next_step([], kinds) == DeliveryStep(None, None)


def test_the_body_has_every_documented_key_null_where_the_schema_has_none() -> None:
    import datetime as dt

    at = dt.datetime(2026, 11, 22, 8, 30, tzinfo=dt.UTC)
    raw = body("erp", {"id": 7, "kind": "created", "at": at, "status": "open", "note": "<b>张</b>"},
               {"id": 3, "number": "R20261122-0001", "department": "repair"})
    document = json.loads(raw)
    assert document["delivery"] == "erp-7" and document["endpoint"] == "erp"
    assert document["event"] == {
        "id": 7, "kind": "created", "at": "2026-11-22T08:30:00.000+00:00", "from_status": None,
        "status": "open", "actor": None, "user_id": None, "note": "<b>张</b>", "payload": None,
    }
    assert document["ticket"]["number"] == "R20261122-0001" and document["ticket"]["branch"] is None
    assert "张" in raw.decode(), "UTF-8, not escaped"
