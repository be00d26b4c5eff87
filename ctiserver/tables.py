"""Every feature's tables in one metadata: what the migrations describe and tests create."""

from __future__ import annotations

from ctiserver.agents import tables as agents_tables  # noqa: F401
from ctiserver.audit import tables as audit_tables  # noqa: F401
from ctiserver.callbacks import tables as callbacks_tables  # noqa: F401
from ctiserver.calls import tables as calls_tables  # noqa: F401
from ctiserver.customers import tables as customers_tables  # noqa: F401
from ctiserver.dispatch import tables as dispatch_tables  # noqa: F401
from ctiserver.ivr import tables as ivr_tables  # noqa: F401
from ctiserver.knowledge import tables as knowledge_tables  # noqa: F401
from ctiserver.recordings import tables as recordings_tables  # noqa: F401
from ctiserver.reports import tables as reports_tables  # noqa: F401
from ctiserver.stats import tables as stats_tables  # noqa: F401
from ctiserver.storage import dialler_leases as dialler_leases_tables  # noqa: F401
from ctiserver.storage import nodes as nodes_tables  # noqa: F401
from ctiserver.storage.base import Base
from ctiserver.tickets import tables as tickets_tables  # noqa: F401
from ctiserver.users import tables as users_tables  # noqa: F401
from ctiserver.visits import tables as visits_tables  # noqa: F401
from ctiserver.webhooks import tables as webhooks_tables  # noqa: F401

metadata = Base.metadata
