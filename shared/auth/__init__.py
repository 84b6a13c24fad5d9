"""Principals and how requests resolve to them."""

from shared.auth.principal import Principal
from shared.auth.resolver import authenticate

__all__ = ["Principal", "authenticate"]
