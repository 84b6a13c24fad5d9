"""Cluster-install tooling: the AWS IAM policy generated from the table definitions, and rendering the
`deploy/` overlays for a given image. Not imported by any function."""
