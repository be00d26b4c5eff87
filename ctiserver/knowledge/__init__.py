"""The knowledge base: articles agents search and read.

Other features use nothing of it; the composition root registers the plugin.
"""

__all__: list[str] = []
