"""Shoal's own version (the installed `shoal` distribution's): the MCP server's `serverInfo`, the
OpenAPI document and the ACP client's `clientInfo` all report this one number."""

from __future__ import annotations

from functools import cache


@cache
def shoal_version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # read once, on first use

    try:
        return version("shoal")
    except PackageNotFoundError:  # a checkout that was never installed
        return "0.0.0"
