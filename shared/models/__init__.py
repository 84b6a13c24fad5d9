"""Pydantic models per domain, free of storage concerns."""
