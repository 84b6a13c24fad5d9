"""Durable memories, reviewable memory proposals and session records."""
