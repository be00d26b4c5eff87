"""Reports: hourly and daily totals of the statistics, business reports over tickets,
customers and dispatch (read through those features' read models), CSAT.

Other features use nothing of it; the composition root and the commands use its plugin and
commands.
"""

__all__: list[str] = []
