"""Anthropic models on Google Vertex AI through the official SDK's AnthropicVertex client (lazy).

The model is the Vertex model name (e.g. `claude-sonnet-4-5@20250929`), in SHOAL_VERTEX_PROJECT and
SHOAL_VERTEX_REGION. Credentials: SHOAL_VERTEX_ACCESS_TOKEN when set, else Application Default
Credentials through google-auth (a dependency of google-genai). Vertex's URLs
are not Anthropic's, so it is never a same-wire proxy target.
"""

from __future__ import annotations

from typing import Any

from shared.llm.anthropic_provider import AnthropicProvider


class VertexAnthropicProvider(AnthropicProvider):
    kind = "vertex-anthropic"
    wire = "vertex-anthropic"

    def __init__(self, name: str, model: str, *, project: str, region: str, access_token: str | None,
                 base_url: str | None = None, timeout: float = 120.0) -> None:
        super().__init__(name, model, api_key=None, base_url=base_url, timeout=timeout)
        self._project, self._region, self._access_token = project, region, access_token

    def _sdk(self) -> Any:
        if self._client is None:
            import anthropic

            self._client = anthropic.AnthropicVertex(region=self._region, project_id=self._project,
                                                     access_token=self._access_token, base_url=self._base_url,
                                                     timeout=self._timeout, max_retries=2)
        return self._client
