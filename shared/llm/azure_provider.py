"""Azure OpenAI through the official SDK's AzureOpenAI client (imported lazily).

The model is the Azure *deployment* name; the endpoint is the resource's `https://<name>.openai.azure.com`
(SHOAL_LLM_BASE_URL, or a named provider's baseURL); the key is AZURE_OPENAI_API_KEY (or the named
provider's apiKeyEnv); the API version SHOAL_AZURE_OPENAI_API_VERSION. Azure's URLs are not
OpenAI's, so it is never a same-wire proxy target (`wire` differs).
"""

from __future__ import annotations

from typing import Any

from shared.llm.openai_provider import OpenAIProvider


class AzureOpenAIProvider(OpenAIProvider):
    wire = "azure-openai"

    def __init__(self, name: str, model: str, *, api_key: str | None, base_url: str | None, api_version: str,
                 timeout: float = 120.0) -> None:
        super().__init__(name, model, api_key=api_key, base_url=base_url, kind="azure-openai", timeout=timeout)
        self._api_version = api_version

    def _sdk(self) -> Any:
        if self._client is None:
            import openai  # lazy: ~0.8 s of import

            self._client = openai.AzureOpenAI(api_key=self._api_key, azure_endpoint=self._base_url,
                                              api_version=self._api_version, timeout=self._timeout, max_retries=2)
        return self._client
