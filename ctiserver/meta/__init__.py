"""The contact center's words for the pages: ``GET /api/meta`` (roles, levels, ticket kinds and
their fields, statuses and moves, pause reasons, queues, the hotline).

Other features use nothing of it; the test pages' fake server reads ``meta_body``.
"""

from ctiserver.meta.http import meta_body

__all__ = ["meta_body"]
