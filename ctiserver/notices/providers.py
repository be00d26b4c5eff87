"""Where SMS go: a provider interface and its implementations.

* :class:`AliyunSms`: Aliyun (阿里云) SMS ``SendSms``, API version 2017-05-25, through its
  documented RPC HTTP API, signed with signature version 1.0 (HMAC-SHA1 over the
  percent-encoded canonical query, keyed with the AccessKey secret and "&");
* :class:`WebhookSms`: a signed POST (HMAC-SHA256 of ``timestamp.body``, the scheme of
  ``[webhooks]``) to the operator's own SMS gateway;
* :class:`LogSms`: the lab's: accepted and written to the log.

A provider answers :class:`Sent`: accepted (with the provider's id), or not (why, and
whether trying again may help).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)

ALIYUN_URL = "https://dysmsapi.aliyuncs.com/"
ALIYUN_VERSION = "2017-05-25"
#: Aliyun answers that trying again cannot mend (a bad number, template or signature name)
ALIYUN_PERMANENT = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS", "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL", "isv.INVALID_PARAMETERS", "isv.PARAM_LENGTH_LIMIT",
    "isv.BLACK_KEY_CONTROL_LIMIT", "isv.MOBILE_COUNT_OVER_LIMIT",
})


@dataclass(frozen=True)
class SmsMessage:
    #: the outbox key: the same for every try of one notice (Aliyun's OutId)
    key: str
    phone: str
    text: str
    #: the provider's template code ("" for the provider's default)
    template_code: str = ""
    #: the names the text was made from, for a provider's own templates
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    accepted: bool
    provider_id: str | None = None
    error: str | None = None
    #: trying again cannot help
    permanent: bool = False


class SmsProvider(Protocol):
    name: str

    async def send(self, http: aiohttp.ClientSession, message: SmsMessage) -> Sent: ...


def percent_encode(text: str) -> str:
    """RFC 3986 percent-encoding as Aliyun's signature wants it (space %20, ``*`` %2A, ``~`` kept)."""
    return quote(text, safe="-_.~")


def aliyun_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    """Aliyun RPC signature 1.0 of ``params`` (every parameter but Signature)."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    mac = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


class AliyunSms:
    name = "aliyun"

    def __init__(
        self, access_key_id: str, secret: str, sign_name: str, template_code: str, url: str = "",
        *, region: str = "cn-hangzhou",
    ) -> None:
        self.access_key_id = access_key_id
        self._secret = secret
        self.sign_name = sign_name
        self.template_code = template_code
        self.url = url or ALIYUN_URL
        self.region = region

    def params(
        self, message: SmsMessage, *, now: dt.datetime | None = None, nonce: str | None = None,
    ) -> dict[str, str]:
        """The signed request's parameters."""
        now = now or dt.datetime.now(dt.UTC)
        params = {
            "AccessKeyId": self.access_key_id, "Action": "SendSms", "Format": "JSON",
            "RegionId": self.region, "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or uuid.uuid4().hex, "SignatureVersion": "1.0",
            "Timestamp": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": ALIYUN_VERSION,
            "PhoneNumbers": message.phone, "SignName": self.sign_name,
            "TemplateCode": message.template_code or self.template_code,
            "TemplateParam": json.dumps({**message.values, "content": message.text}, ensure_ascii=False),
            "OutId": message.key,
        }
        params["Signature"] = aliyun_signature(self._secret, "POST", params)
        return params

    async def send(self, http: aiohttp.ClientSession, message: SmsMessage) -> Sent:
        try:
            async with http.post(self.url, data=self.params(message), allow_redirects=False) as answer:
                status = answer.status
                text = await answer.text()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Sent(False, error=f"{type(exc).__name__}: {exc}"[:300])
        try:
            found = json.loads(text)
        except ValueError:
            return Sent(False, error=f"HTTP {status}: not JSON"[:300])
        code = str(found.get("Code", "")) if isinstance(found, dict) else ""
        if status == 200 and code == "OK":
            return Sent(True, provider_id=str(found.get("BizId") or found.get("RequestId") or ""))
        message_text = str(found.get("Message", "")) if isinstance(found, dict) else ""
        return Sent(False, error=f"HTTP {status} {code}: {message_text}"[:300], permanent=code in ALIYUN_PERMANENT)


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``timestamp + "." + body`` (as ``[webhooks]``)."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookSms:
    """The operator's gateway: POST {key, phone, text, template_code, values}; a 2xx is
    acceptance (its JSON ``id``, if any, the provider's id); 4xx but 408/429 is permanent."""

    name = "webhook"

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self._secret = secret

    async def send(self, http: aiohttp.ClientSession, message: SmsMessage) -> Sent:
        body = json.dumps({
            "key": message.key, "phone": message.phone, "text": message.text,
            "template_code": message.template_code, "values": dict(message.values),
        }, ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8", "X-CTI-Delivery": message.key,
            "X-CTI-Timestamp": timestamp, "X-CTI-Signature": webhook_signature(self._secret, timestamp, body),
        }
        try:
            async with http.post(self.url, data=body, headers=headers, allow_redirects=False) as answer:
                status = answer.status
                text = await answer.text()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Sent(False, error=f"{type(exc).__name__}: {exc}"[:300])
        if 200 <= status < 300:
            try:
                found = json.loads(text) if text else {}
            except ValueError:
                found = {}
            ident = found.get("id") if isinstance(found, dict) else None
            return Sent(True, provider_id=str(ident) if ident is not None else message.key)
        return Sent(False, error=f"HTTP {status}", permanent=400 <= status < 500 and status not in (408, 429))


class LogSms:
    """The lab's provider: every message accepted and logged, none sent."""

    name = "log"

    async def send(self, http: aiohttp.ClientSession, message: SmsMessage) -> Sent:
        log.info("sms (log provider) to %s: %s", message.phone, message.text)
        return Sent(True, provider_id=f"log-{message.key}")
