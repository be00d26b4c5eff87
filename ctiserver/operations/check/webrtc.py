"""The browser phone's settings: the wss URL and the operator's certificate for it.

Production's Asterisk serves wss with the operator's certificate (http.conf ``tlscertfile``,
``tlsprivatekey``); the same files are named in ``webrtc.cert_file``/``key_file`` so this
check can read them: present, a PEM certificate with its key, valid for two more weeks,
naming the host of ``webrtc.wss_url``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ctiserver.operations.check.results import Result, ok, problem
from ctiserver.settings import Settings

NAME = "browser phone (webrtc)"
MARGIN = dt.timedelta(days=14)


def _names(cert: x509.Certificate) -> set[str]:
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {*(str(ip) for ip in alt.get_values_for_type(x509.IPAddress)), *alt.get_values_for_type(x509.DNSName)}


def _covers(names: set[str], host: str) -> bool:
    try:
        return str(ipaddress.ip_address(host)) in names
    except ValueError:
        pass
    wildcard = "*." + host.partition(".")[2]
    return host in names or wildcard in names


def webrtc_result(settings: Settings, now: dt.datetime | None = None) -> Result:
    webrtc = settings.webrtc
    if not webrtc.enabled:
        return ok(NAME, "off (webrtc.enabled = false): agents use their desk phones")
    url = urlsplit(webrtc.wss_url)
    if url.scheme != "wss" or not url.hostname:
        return problem(NAME, f"webrtc.wss_url is {webrtc.wss_url!r}, not a wss:// URL",
                       "set webrtc.wss_url to Asterisk's secure websocket, e.g. wss://pbx.example.com:8089/ws, "
                       "or webrtc.enabled = false")
    if not webrtc.cert_file or not webrtc.key_file:
        return problem(NAME, "webrtc.cert_file or webrtc.key_file is not set",
                       "name the certificate and key Asterisk's http.conf serves wss with (tlscertfile, tlsprivatekey)")
    try:
        cert = x509.load_pem_x509_certificate(Path(webrtc.cert_file).read_bytes())
        key = serialization.load_pem_private_key(Path(webrtc.key_file).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        return problem(NAME, f"cannot read the certificate or its key: {exc}",
                       "give PEM files readable by ctiserver (the key unencrypted, as Asterisk needs it)")
    if key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
            cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        return problem(NAME, "webrtc.key_file is not the key of webrtc.cert_file", "give the matching key")
    now = now or dt.datetime.now(dt.UTC)
    if cert.not_valid_after_utc < now + MARGIN:
        return problem(NAME, f"the certificate expires {cert.not_valid_after_utc:%Y-%m-%d}",
                       "renew it (browsers refuse an expired wss certificate: no agent could register)")
    if not _covers(_names(cert), url.hostname):
        return problem(NAME, f"the certificate does not name {url.hostname} (it names {sorted(_names(cert))})",
                       "use a certificate for the host in webrtc.wss_url")
    return ok(NAME, f"{webrtc.wss_url}, certificate valid until {cert.not_valid_after_utc:%Y-%m-%d}")
