"""What may be exported (a module of its own: the command line lists them without importing
the exports, their database and Excel libraries)."""

EXPORTS = ("customers", "tickets", "calls")
