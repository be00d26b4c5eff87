"""``GET /api/phone``: the logged-in agent's own WebRTC credentials, never another's.

The route takes no parameter: the endpoint is the one of the agent whose ``user_id`` is
the session's user (or, for a supervisor with no agent, the one named by their own user
id), so another agent's session can only ever get its own. The answer is
never cached (``no-store``) and the pages never carry it in their source.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from ctiserver.phone.credentials import endpoint_of, ice_servers, sip_password, supervisor_endpoint_of, wss_url
from ctiserver.phone.schemas import BrowserPhone, BrowserPhoneAnswer, IceServer
from ctiserver.settings import Settings
from ctiserver.vocabulary import DESK_ROLES, SUPERVISOR_ROLES
from ctiserver.web.contract import route
from ctiserver.web.handling import ApiError
from ctiserver.web.keys import AGENT_LOOKUP_KEY, USER_KEY

SETTINGS_KEY = web.AppKey("phone_settings", Settings)
NO_AGENT = "no agent for this user"


def phone_view(settings: Settings, endpoint: str) -> BrowserPhone:
    if not settings.webrtc.enabled:
        return BrowserPhone(enabled=False, wss_url="", endpoint="", uri="", password="", ice_servers=[])
    url = wss_url(settings)
    host = urlsplit(url).hostname or "127.0.0.1"
    return BrowserPhone(
        enabled=True, wss_url=url, endpoint=endpoint, uri=f"sip:{endpoint}@{host}",
        password=sip_password(settings, endpoint),
        ice_servers=[IceServer(**server) for server in ice_servers(settings)],
    )


async def get_phone(request: web.Request) -> web.StreamResponse:
    """The user's own WebRTC endpoint and its SIP password: their agent's, else a supervisor's
    own (live monitoring rings it); 404 for an agent user with no agent."""
    settings = request.app[SETTINGS_KEY]
    user = request[USER_KEY]
    agent = await request.app[AGENT_LOOKUP_KEY].agent(user.id)
    if agent is not None:
        endpoint = endpoint_of(settings, agent["extension"])
    elif user.role in SUPERVISOR_ROLES:
        endpoint = supervisor_endpoint_of(settings, user.id)
    else:
        raise ApiError(404, NO_AGENT)
    answer = BrowserPhoneAnswer(phone=phone_view(settings, endpoint))
    return web.json_response(answer.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


def register(app: web.Application, settings: Settings) -> None:
    app[SETTINGS_KEY] = settings
    route(app, "GET", "/api/phone", get_phone, summary="The user's own browser phone (WebRTC endpoint)",
          roles=DESK_ROLES, answer=BrowserPhoneAnswer, errors={404: NO_AGENT})
