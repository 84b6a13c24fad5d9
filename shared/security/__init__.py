"""Repository security scans: RepositoryScan resources, scan runs, findings, patches and remediation PRs."""
