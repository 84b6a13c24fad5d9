"""The catalog: agents, skills, tools (HTTP and MCP), secrets and token validation."""
