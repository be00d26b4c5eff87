"""The audit log: who changed what and when, readable by admins (``GET /api/audit``).

Other features use nothing of it directly: they record through the web layer
(``ctiserver.web.auditing``); the composition root registers the plugin.
"""

__all__: list[str] = []
