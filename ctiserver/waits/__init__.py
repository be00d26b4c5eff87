"""A fair wait: callers in a queue told their position and the server's estimate of their
wait (from the queue's recent answers and the agents available: docs/fair-wait.md), in their
language, as they join and periodically.

Other features use nothing of it; the composition root registers the plugin.
"""

__all__: list[str] = []
