"""The client's address behind a reverse proxy: ``X-Forwarded-For`` (and ``-Proto``,
``-Host``) believed only from the proxies of ``web.trusted_proxies``.

aiohttp-remotes' ``XForwardedFiltered`` walks the header from the right, skipping trusted
proxies, and takes the first address that is not one; it does not look at who sent the
header. Here it runs only when the peer itself is a trusted proxy: from anywhere else a
forged header changes nothing, and ``request.remote`` stays the peer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from ipaddress import ip_address

from aiohttp import web
from aiohttp_remotes import XForwardedFiltered
from aiohttp_remotes.exceptions import UntrustedIP
from aiohttp_remotes.utils import check_ip, parse_trusted_element

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TrustedProxies(XForwardedFiltered):
    def __init__(self, trusted: Iterable[str]) -> None:
        proxies = list(trusted)
        try:
            super().__init__(set(proxies))
            self._peers = parse_trusted_element(proxies)
        except ValueError as exc:
            raise ValueError(f"web.trusted_proxies: {exc}") from exc

    def trusts(self, peer: str | None) -> bool:
        try:
            check_ip(self._peers, ip_address(peer or ""))
        except (ValueError, UntrustedIP):
            return False
        return True

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.trusts(request.remote):
            return await handler(request)
        return await super().middleware(request, handler)
