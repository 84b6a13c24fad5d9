"""Repository monitors: GitHub pull-request monitoring configurations, their runs, items and audit events."""
