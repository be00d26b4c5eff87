"""Spreadsheets: customers imported from CSV, customers, tickets and calls exported to CSV."""

from __future__ import annotations

from ctiserver.core import Core
from ctiserver.spreadsheets import http
from ctiserver.spreadsheets.exports import CsvExports
from ctiserver.spreadsheets.store import CustomerImport

#: the largest file the admin page uploads (the command reads larger ones)
MAX_UPLOAD = 8 * 1024 * 1024


def register(core: Core) -> None:
    hotline = core.settings.hotline
    http.register(core.app, http.Spreadsheets(
        CustomerImport(core.db), CsvExports(core.db, hotline.timezone), hotline.region, MAX_UPLOAD
    ))
