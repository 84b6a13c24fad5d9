"""Coding-agent runtimes: ACP-driven CLIs, their git workspace, and model access."""
