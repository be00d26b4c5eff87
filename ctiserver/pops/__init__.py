"""Screen pops and customer cards: the agent whose phone rings sees who is calling, with the
card (customer, open tickets, recent calls) that the desk's customer routes also serve.

Other features use nothing of it; the composition root registers the plugin.
"""

__all__: list[str] = []
