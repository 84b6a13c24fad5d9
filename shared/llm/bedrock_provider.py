"""Anthropic models on AWS Bedrock through the official SDK's AnthropicBedrock client (lazy).

The model is the Bedrock model id (e.g. `anthropic.claude-sonnet-4-5-20250929-v1:0` or an inference
profile); requests are SigV4-signed with the AWS credential chain (env, web identity, instance role)
in AWS_REGION; SHOAL_LLM_BASE_URL (or a named provider's baseURL) replaces the regional endpoint
(a VPC endpoint, tests). Bedrock's URLs are not Anthropic's, so it is never a same-wire proxy target.
"""

from __future__ import annotations

from typing import Any

from shared.llm.anthropic_provider import AnthropicProvider


class BedrockAnthropicProvider(AnthropicProvider):
    kind = "bedrock"
    wire = "bedrock"

    def __init__(self, name: str, model: str, *, region: str, base_url: str | None = None,
                 timeout: float = 120.0) -> None:
        super().__init__(name, model, api_key=None, base_url=base_url, timeout=timeout)
        self._region = region

    def _sdk(self) -> Any:
        if self._client is None:
            import anthropic

            self._client = anthropic.AnthropicBedrock(aws_region=self._region, base_url=self._base_url,
                                                      timeout=self._timeout, max_retries=2)
        return self._client
