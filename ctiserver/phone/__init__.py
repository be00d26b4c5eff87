"""The phone in the desk: agents' browsers register a WebRTC endpoint with Asterisk.

What others may use: :func:`endpoint_of` and :func:`sip_password` (the lab renders the
endpoints with them) and :func:`ice_servers`.
"""

from ctiserver.phone.credentials import endpoint_of, ice_servers, sip_password

__all__ = ["endpoint_of", "ice_servers", "sip_password"]
