"""The department work view: staff's tickets, pushed live to the department and branch they belong to."""
