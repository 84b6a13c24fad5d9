"""GitHub: webhook verification and delivery handling, label triggers (and, later, the REST client)."""
