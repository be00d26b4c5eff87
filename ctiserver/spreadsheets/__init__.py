"""Imports and exports: customers from spreadsheets (CSV or Excel workbooks), calls,
tickets and customers to CSV or Excel workbooks.

Other features may use:

* ``workbook_bytes``, ``XLSX_MEDIA_TYPE``: a small table as an Excel workbook (text cells
  never formulas), as the reports serve theirs with ``format=xlsx``.

The composition root and the commands use its plugin and commands.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ctiserver.spreadsheets.workbooks import MEDIA_TYPE as XLSX_MEDIA_TYPE
    from ctiserver.spreadsheets.workbooks import workbook_bytes

__all__ = ["XLSX_MEDIA_TYPE", "workbook_bytes"]


def __getattr__(name: str) -> Any:
    """The face's names imported on first use: the command line (which imports this package
    for its commands) starts without the Excel library."""
    if name not in __all__:  # (a submodule not imported yet, too: the import system then imports it)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    workbooks = importlib.import_module("ctiserver.spreadsheets.workbooks")
    return {"XLSX_MEDIA_TYPE": workbooks.MEDIA_TYPE, "workbook_bytes": workbooks.workbook_bytes}[name]
