"""HTTP side of ctiserver: JSON API, live websocket feed, pages."""

from ctiserver.web.app import create_app

__all__ = ["create_app"]
