"""The operator–LLM contract (`POST /analyze` and friends) over the shared investigation engine."""
