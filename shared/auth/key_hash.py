"""How stored secrets are hashed (API keys, task tokens): SHA-256, as an HMAC with
SHOAL_API_KEY_PEPPER when one is set; only the hash is ever stored."""

from __future__ import annotations

import hashlib
import hmac

from shared.config import get_settings


def hash_key(key: str) -> str:
    pepper = get_settings().api_key_pepper
    if pepper:
        return hmac.new(pepper.encode(), key.encode(), hashlib.sha256).hexdigest()
    return hashlib.sha256(key.encode()).hexdigest()
