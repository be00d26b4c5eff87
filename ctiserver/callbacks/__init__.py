"""Missed-call callbacks: abandons, the IVR's requests and the callback key become tasks that
agents (or the dialer) call back.

Other features use nothing of it but the read model: the IVR requests callbacks through the
``CallbackRepository`` the composition root hands it (``callbacks.plugin.repository``).

Read model (read only, exported on purpose): ``Callback`` and ``CallbackAttempt``, the tasks and their attempts,
for the reports' callback figures.

Who sees which callback task: ``may_see_callback`` (docs/visibility.md).
"""

from ctiserver.callbacks.model import may_see_callback
from ctiserver.callbacks.tables import Callback, CallbackAttempt

__all__ = [
    "Callback",
    "CallbackAttempt",
    "may_see_callback",
]
