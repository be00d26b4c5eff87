"""The ticket's pure model: kinds and their fields, the workflow, the SLA clock."""
