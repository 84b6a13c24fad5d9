"""The OpenAI- and Anthropic-compatible endpoints (`/openai/v1`, `/anthropic/v1`).

Each vendor dialect parses its wire format into the one message model (`*_wire.py`), the engine
(`engine.py`) runs either the platform's tools server-side through the one agent loop or a
transparent proxy call, and the dialect renders the neutral result back in its own shape.
"""
