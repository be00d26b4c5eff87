"""The audit log: who changed what and when, readable by admins (``GET /api/audit``)."""
