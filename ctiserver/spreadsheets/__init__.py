"""Imports and exports: customers from spreadsheets (CSV or Excel workbooks), calls,
tickets and customers to CSV or Excel workbooks.

Other features may use:

* ``workbook_bytes``, ``XLSX_MEDIA_TYPE``: a small table as an Excel workbook (text cells
  never formulas), as the reports serve theirs with ``format=xlsx``.

The composition root and the commands use its plugin and commands.
"""

from ctiserver.spreadsheets.workbooks import MEDIA_TYPE as XLSX_MEDIA_TYPE
from ctiserver.spreadsheets.workbooks import workbook_bytes

__all__ = ["XLSX_MEDIA_TYPE", "workbook_bytes"]
