"""Webhooks: ticket events posted to the operator's endpoints.

Other features use nothing of it; the composition root registers the plugin.
"""

__all__: list[str] = []
