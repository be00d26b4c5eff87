"""The wallboard: live figures of queues and agents pushed to supervisors.

Other features use nothing of it; the composition root registers the plugin.
"""

__all__: list[str] = []
