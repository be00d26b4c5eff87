"""The phone in the desk: agents' browsers register a WebRTC endpoint with Asterisk.

What others may use: :func:`endpoint_of`, :func:`supervisor_endpoint_of` and
:func:`sip_password` (the lab renders the endpoints with them; live monitoring rings a
supervisor's), :func:`endpoints_conf` and :func:`ice_servers`.
"""

from ctiserver.phone.credentials import endpoint_of, ice_servers, sip_password, supervisor_endpoint_of
from ctiserver.phone.endpoints import endpoints_conf

__all__ = ["endpoint_of", "endpoints_conf", "ice_servers", "sip_password", "supervisor_endpoint_of"]
