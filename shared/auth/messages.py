"""The 401 message every token authenticator answers with (Orka's wording)."""

INVALID = "invalid token"
