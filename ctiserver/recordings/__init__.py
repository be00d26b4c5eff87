"""Call recording: every answered queue call and transfer leg recorded by Asterisk's
MixMonitor (started over AMI when an agent's leg connects), indexed once the file is
complete, found and replayed through ``/api/recordings``."""

from ctiserver.recordings.model import Viewer as RecordingViewer
from ctiserver.recordings.model import may_hear

__all__ = ["RecordingViewer", "may_hear"]
