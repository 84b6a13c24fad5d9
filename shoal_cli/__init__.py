"""The `shoal` command line: kubectl-style access to a Shoal platform, and Shoal as an MCP server.

Nothing under `functions/` or `shared/` imports this package: Click, Rich and the YAML/OIDC helpers it
pulls in are the CLI's alone, so the functions' cold start does not move.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("shoal")
except PackageNotFoundError:  # a checkout that was never installed
    __version__ = "0.0.0"
