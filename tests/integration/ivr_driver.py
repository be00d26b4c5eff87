"""What IVR tests share: times when the sample hotline is open or closed."""

from __future__ import annotations

from datetime import datetime

#: a Wednesday, 10:00 in Shanghai: the sample hotline is open
OPEN_HOURS = datetime.fromisoformat("2026-11-25T10:00:00+08:00")
#: the same day at 23:00 in Shanghai: closed
CLOSED_HOURS = datetime.fromisoformat("2026-11-25T23:00:00+08:00")
