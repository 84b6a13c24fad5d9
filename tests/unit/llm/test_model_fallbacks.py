"""An Agent's model fallbacks (shared.llm.fallback): the real openai and anthropic SDKs against
scripted wire servers; a provider outage moves to the next model, a refused request does not."""

from __future__ import annotations

import pytest

from shared.llm.anthropic_provider import AnthropicProvider
from shared.llm.base import Message, ProviderError
from shared.llm.fallback import fallback_references, is_outage, with_fallbacks
from shared.llm.openai_provider import OpenAIProvider
from tests.support.llm_wire import ScriptedLLM
from tests.support.servers import refusing_port

# the SDKs retry 429/5xx twice themselves (after `retry-after-ms`: 1 ms here): an outage is three
# failed answers in a row
FAST = {"retry-after-ms": "1"}
DOWN = [{"error": {"status": 503, "type": "server_error", "message": "overloaded", "headers": FAST}}] * 3
LIMITED = [{"error": {"status": 429, "type": "rate_limit_error", "message": "slow down", "headers": FAST}}] * 3
REFUSED = [{"error": {"status": 400, "type": "invalid_request_error", "message": "bad request"}}]
USER = [Message(role="user", content="hi")]


def primary(server, url=None):
    return OpenAIProvider("default", "gpt-primary", api_key="sk", base_url=url or server.url + "/v1", timeout=5)


def backups(**servers):
    """A resolver for references `<name>/<model>` to Anthropic providers on the given servers."""
    def resolve(reference: str):
        name, model = reference.split("/", 1)
        return AnthropicProvider(name, model or "claude-default", api_key="sk-ant", base_url=servers[name].url,
                                 timeout=5)
    return resolve


def test_references_of_orka_fallback_entries():
    assert fallback_references([{"providerRef": "backup", "model": "m"}, {"providerRef": "other"}, {"model": "x"},
                                "junk"]) == ["backup/m", "other/"]
    assert fallback_references(None) == []
    assert [is_outage(ProviderError("x", status=s)) for s in (429, 500, 503, 400, 401, 404, 413)] == [
        True, True, True, False, False, False, False]
    assert is_outage(ProviderError("unreachable", retryable=True))


def test_without_fallbacks_the_provider_is_used_as_is():
    with ScriptedLLM() as server:
        provider = primary(server)
        assert with_fallbacks(provider, []) is provider and with_fallbacks(provider, None) is provider


@pytest.mark.parametrize("outage", [DOWN, LIMITED], ids=["503", "429"])
def test_an_outage_moves_to_the_next_fallback_in_order(outage):
    with ScriptedLLM(list(outage)) as main, ScriptedLLM(list(outage)) as first, \
            ScriptedLLM([{"text": "from second"}]) as second:
        provider = with_fallbacks(primary(main), [{"providerRef": "first", "model": "claude-a"},
                                                  {"providerRef": "second", "model": "claude-b"}],
                                  backups(first=first, second=second))
        assert (provider.name, provider.model) == ("default", "gpt-primary")
        completion = provider.complete(USER, max_tokens=64)
        assert completion.text == "from second"
        assert (provider.name, provider.kind, provider.model) == ("second", "anthropic", "claude-b")
        assert provider.answered == ["second/claude-b"] and provider.fell_back
        assert len(main.requests) == len(first.requests) == 3
        assert second.requests[0]["json"]["model"] == "claude-b" and second.requests[0]["json"]["max_tokens"] == 64


def test_a_refused_request_is_not_retried_elsewhere():
    with ScriptedLLM(list(REFUSED)) as main, ScriptedLLM([{"text": "never"}]) as backup:
        provider = with_fallbacks(primary(main), [{"providerRef": "backup"}], backups(backup=backup))
        with pytest.raises(ProviderError) as exc:
            provider.complete(USER)
        assert exc.value.status == 400 and backup.requests == []
        assert provider.answered == [] and not provider.fell_back


def test_every_model_down_raises_the_last_outage():
    with ScriptedLLM(list(DOWN)) as main, ScriptedLLM(list(LIMITED)) as backup:
        provider = with_fallbacks(primary(main), [{"providerRef": "backup"}], backups(backup=backup))
        with pytest.raises(ProviderError) as exc:
            provider.complete(USER)
        assert exc.value.status == 429 and len(backup.requests) == 3


def test_an_unreachable_primary_and_an_unconfigured_fallback_are_skipped():
    from shared.errors import Invalid

    with refusing_port() as port, ScriptedLLM([{"text": "backup here"}]) as backup:
        url = f"http://127.0.0.1:{port}/v1"  # nothing listens: connection refused
        resolve = backups(backup=backup)

        def resolver(reference):
            if reference.startswith("gone/"):
                raise Invalid('failed to resolve provider: unknown provider "gone"')
            return resolve(reference)

        provider = with_fallbacks(primary(None, url), [{"providerRef": "gone"}, {"providerRef": "backup"}], resolver)
        assert provider.complete(USER).text == "backup here"
        assert provider.answered == ["backup/claude-default"]


def test_a_stream_falls_back_before_its_first_event_and_then_answers_from_the_fallback():
    with ScriptedLLM(list(DOWN)) as main, ScriptedLLM([{"text": "streamed from backup"}, {"text": "again"}]) as backup:
        provider = with_fallbacks(primary(main), [{"providerRef": "backup", "model": "claude-s"}],
                                  backups(backup=backup))
        events = list(provider.stream(USER))
        assert "".join(e.text for e in events if e.kind == "text_delta") == "streamed from backup"
        assert events[-1].completion.text == "streamed from backup" and provider.answered == ["backup/claude-s"]
        # the next call starts with the primary again (it may be back)
        main.script = [{"text": "primary is back"}]
        assert provider.complete(USER).text == "primary is back"
        assert provider.answered == ["backup/claude-s", "default/gpt-primary"]
        assert (provider.name, provider.model) == ("default", "gpt-primary") and provider.fell_back
