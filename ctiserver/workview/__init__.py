"""The department work view: staff's tickets, pushed live to the department and branch they
belong to.

Other features use nothing of it; the composition root registers the plugin.
"""

__all__: list[str] = []
