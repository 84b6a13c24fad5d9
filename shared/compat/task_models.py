"""Which provider answers a task token's model call, and with whose key (docs/compat.md, "Model access
for runtimes").

Model, first that applies:
1. the request's model, when it names something configured (`registry.configured_reference`: a
   `provider/model` of a configured provider, or a bare model that is some provider's configured model);
2. the task's model: its `ai.provider`/`ai.model` over its Agent's `provider`/`model`, recorded when the
   token was minted (skipped when it names a provider this platform does not have);
3. the default provider with its configured model.
So a runtime asking for a model the platform does not offer (Claude Code's `claude-sonnet-4-5` on a
platform configured otherwise) still gets an answer, from the model the task was meant to use.

Key: the platform's, unless the task's Agent brings its own (`spec.runtime.secretRef`, see
`shared.models.agent_credentials.runtime_credential`). Then that Secret's key replaces the configured one and the
provider must be of the credential's vendor: the first of 1-3 of that type, else the first configured
provider of that type (with its configured model); none configured is a 400. The key is read from the
Kubernetes Secret of the task's namespace, kept in memory for a short while, never logged or returned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.auth.ttl_cache import TTLCache
from shared.catalog.secrets import read_secret_value
from shared.errors import Invalid, Unavailable
from shared.llm.registry import configured_reference, providers_of_kind, reference_kind, resolve

if TYPE_CHECKING:
    from shared.auth.principal import Principal
    from shared.llm.base import Provider

# Provider types a credential of each vendor can authenticate to.
VENDOR_KINDS = {"anthropic": frozenset({"anthropic"}), "openai": frozenset({"openai"})}
# A rotated Secret is picked up within this long; reading it on every call would cost an apiserver
# round trip per model call.
CREDENTIAL_CACHE_SECONDS = 30.0

_credentials = TTLCache()


def task_provider(principal: Principal, requested: str | None) -> Provider:
    """The provider for a model call made with a task token (see the module docstring)."""
    references = _references(principal, requested)
    credential = principal.claims.get("credential")
    if not credential:
        return resolve(next(r for r in references if _usable(r, None)))
    kinds = VENDOR_KINDS[credential["vendor"]]
    api_key = credential_value(principal.namespace or "", credential)
    for reference in references + providers_of_kind(credential["vendor"]):
        if _usable(reference, kinds):
            return resolve(reference, api_key=api_key)
    raise Invalid(f'no {credential["vendor"]} provider is configured for the runtime credential of agent '
                  f'"{principal.claims.get("agent")}"')


def _references(principal: Principal, requested: str | None) -> list[str | None]:
    """The candidate references in order; None is the default provider as configured."""
    found = [configured_reference(requested), principal.claims.get("model")]
    return [r for r in found if r] + [None]


def _usable(reference: str | None, kinds: frozenset[str] | None) -> bool:
    try:
        kind = reference_kind(reference)
    except Invalid:  # e.g. an Agent naming a provider this platform does not configure
        return False
    return kinds is None or kind in kinds


def credential_value(namespace: str, credential: dict[str, Any]) -> str:
    """The key in the Agent's Secret; 503 when it cannot be had (the platform's key is never a silent
    stand-in for a credential the Agent asked for)."""
    cache_key = (namespace, credential["secret"], credential["key"])
    hit, value = _credentials.get(cache_key)
    if hit:
        return value
    try:
        value = read_secret_value(namespace, credential["secret"], credential["key"]).strip()
    except LookupError as exc:
        raise Unavailable(f"the agent's runtime credential is unavailable: {exc}") from None
    if not value:
        raise Unavailable(f'the agent\'s runtime credential is unavailable: secret "{credential["secret"]}" '
                          f'has an empty key "{credential["key"]}"')
    _credentials.put(cache_key, value, CREDENTIAL_CACHE_SECONDS)
    return value


def reset_cache() -> None:
    _credentials.clear()
