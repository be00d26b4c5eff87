"""Call recording: every answered queue call and transfer leg recorded by Asterisk's
MixMonitor (started by the dialplan when an agent's leg connects; after an attended
transfer, over AMI on the caller's leg), indexed once the file is
complete, found and replayed through ``/api/recordings``.

Other features may use who hears which recording: ``may_hear`` and ``RecordingViewer``
(docs/visibility.md); the composition root and the commands use its plugin and commands.
"""

from ctiserver.recordings.model import Viewer as RecordingViewer
from ctiserver.recordings.model import may_hear

__all__ = [
    "RecordingViewer",
    "may_hear",
]
