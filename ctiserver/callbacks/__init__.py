"""Missed-call callbacks: abandons, the IVR's requests and the callback key become tasks that
agents (or the dialer) call back.

Other features use nothing of it but the read model: the IVR requests callbacks through the
``CallbackRepository`` the composition root hands it (``callbacks.plugin.repository``).

Read model (read only, exported on purpose): ``Callback`` and ``CallbackAttempt``, the tasks and their attempts,
for the reports' callback figures.
"""

from ctiserver.callbacks.tables import Callback, CallbackAttempt

__all__ = [
    "Callback",
    "CallbackAttempt",
]
