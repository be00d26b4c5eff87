"""Imports and exports: customers from spreadsheets, calls, tickets and customers to CSV.

Other features use nothing of it; the composition root and the commands use its plugin and
commands.
"""

__all__: list[str] = []
