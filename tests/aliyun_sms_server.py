"""A local stand-in for Aliyun SMS's ``SendSms`` endpoint that checks each request as Aliyun
does, written here from Aliyun's published signature algorithm (RPC signature 1.0), not
from the server's code: the parameters but ``Signature``, sorted by name, each name and value
URL-encoded as Java's ``URLEncoder`` does and then ``+`` -> ``%20``, ``*`` -> ``%2A``,
``%7E`` -> ``~``, joined ``k=v&...``; StringToSign = METHOD & ``%2F`` & encode(query);
HMAC-SHA1 keyed with ``secret + "&"``, base64. It also refuses a stale ``Timestamp`` and a
reused ``SignatureNonce`` (replays), and answers ``{"Code": "OK", "BizId": ...}``."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ctiserver.lab.isolated import free_port

REQUIRED = ("AccessKeyId", "Action", "Format", "RegionId", "SignatureMethod", "SignatureNonce",
            "SignatureVersion", "Timestamp", "Version", "PhoneNumbers", "SignName", "TemplateCode")


def java_url_encode(text: str) -> str:
    """``java.net.URLEncoder.encode(text, "UTF-8")``: letters, digits and ``.-*_`` kept,
    space as ``+``, every other byte ``%XX``."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char.isascii() and (char.isalnum() or char in ".-*_"):
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def special_url_encode(text: str) -> str:
    """Aliyun's ``specialUrlEncode`` of its signature documentation."""
    return java_url_encode(text).replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


def expected_signature(secret: str, method: str, params: dict[str, str]) -> str:
    query = "&".join(f"{special_url_encode(k)}={special_url_encode(params[k])}" for k in sorted(params))
    to_sign = method + "&" + special_url_encode("/") + "&" + special_url_encode(query)
    digest = hmac.new((secret + "&").encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass
class Accepted:
    out_id: str
    phone: str
    template_code: str
    params: dict[str, Any]
    biz_id: str


class AliyunSmsServer:
    def __init__(self, access_key_id: str, secret: str) -> None:
        self.access_key_id = access_key_id
        self.secret = secret
        self.accepted: list[Accepted] = []
        self.bad_signatures = 0
        self.refused: list[str] = []
        #: answer this many requests with a throttling code before accepting (retries)
        self.throttle = 0
        self._nonces: set[str] = set()
        self.changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/", self._send_sms)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _refuse(self, code: str, status: int = 400) -> web.Response:
        self.refused.append(code)
        self.changed.set()
        return web.json_response({"Code": code, "Message": code, "RequestId": "r"}, status=status)

    async def _send_sms(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        missing = [k for k in REQUIRED if k not in form]
        if missing or "Signature" not in form:
            return self._refuse("MissingParameter")
        signature = form.pop("Signature")
        if form["AccessKeyId"] != self.access_key_id:
            return self._refuse("InvalidAccessKeyId.NotFound", 404)
        if (form["SignatureMethod"], form["SignatureVersion"], form["Action"], form["Version"]) != (
                "HMAC-SHA1", "1.0", "SendSms", "2017-05-25"):
            return self._refuse("InvalidParameter")
        if not hmac.compare_digest(signature, expected_signature(self.secret, request.method, form)):
            self.bad_signatures += 1
            return self._refuse("SignatureDoesNotMatch")
        sent = dt.datetime.strptime(form["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        if abs((dt.datetime.now(dt.UTC) - sent).total_seconds()) > 900:
            return self._refuse("InvalidTimeStamp.Expired")
        if form["SignatureNonce"] in self._nonces:
            return self._refuse("SignatureNonceUsed")
        self._nonces.add(form["SignatureNonce"])
        if self.throttle > 0:
            self.throttle -= 1
            return self._refuse("isv.BUSINESS_LIMIT_CONTROL", 200)
        biz_id = f"biz-{len(self.accepted) + 1}"
        self.accepted.append(Accepted(
            form.get("OutId", ""), form["PhoneNumbers"], form["TemplateCode"],
            json.loads(form.get("TemplateParam") or "{}"), biz_id,
        ))
        self.changed.set()
        return web.json_response({"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": "r"})

    async def wait_for(self, count: int, timeout: float) -> None:
        """Until ``count`` messages are accepted."""
        async with asyncio.timeout(timeout):
            while True:
                self.changed.clear()
                if len(self.accepted) >= count:
                    return
                await self.changed.wait()

    def out_ids(self) -> list[str]:
        return [a.out_id for a in self.accepted]
