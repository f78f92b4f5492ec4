"""``LLMAnswerGenerator``: grounded answers from the provider router, with cache, A/B prompts and fallback.

When every provider fails before the first token, the injected fallback generator (the extractive one)
answers, after a one-line notice, so the user never sees an error for a provider outage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing

import structlog

from bot.analytics.variants import VariantStates
from bot.config import Settings
from bot.generation import (
    AnswerGenerator,
    GenerationDone,
    GenerationEvent,
    GenerationRequest,
    Notice,
    TextDelta,
    source_count,
    source_number,
)
from bot.grounding import cited_passages, is_abstention
from bot.prompting import PromptLibrary, Variant, choose_variant
from providers import metrics
from providers.base import ChatRequest, LLMProvider, ProviderError, StreamInterrupted, TokenDelta
from providers.cache import AnswerCache, CachedAnswer, CacheStore, MemoryCacheStore, cache_key
from providers.factory import build_router

log = structlog.get_logger(__name__)

NOTICES: dict[str, dict[str, str]] = {
    "fallback": {
        "en": "The language model is unavailable right now, so this answer is quoted from the documentation.",
        "ru": "Языковая модель сейчас недоступна, поэтому ответ составлен из цитат документации.",
    },
    "partial": {
        "en": "The answer was cut off by a language model failure and may be incomplete.",
        "ru": "Ответ прервался из-за сбоя языковой модели и может быть неполным.",
    },
}


class LLMAnswerGenerator:
    """An ``AnswerGenerator`` over an ``LLMProvider`` (normally the router)."""

    name = "llm"

    def __init__(
        self,
        router: LLMProvider,
        fallback: AnswerGenerator,
        *,
        prompts: PromptLibrary | None = None,
        variants: Sequence[Variant] = (Variant("control", 1.0),),
        cache: AnswerCache | None = None,
        history_turns: int = 6,
        max_tokens: int | None = None,
        variant_states: VariantStates | None = None,
    ) -> None:
        self.router = router
        self.fallback = fallback
        self.prompts = prompts or PromptLibrary()
        self.variants = tuple(variants)
        self.cache = cache
        self.history_turns = history_turns
        self.max_tokens = max_tokens
        self.variant_states = variant_states  # stopped / promoted from the analytics page

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        fallback: AnswerGenerator,
        *,
        cache_store: CacheStore | None = None,
        variant_states: VariantStates | None = None,
    ) -> LLMAnswerGenerator | None:
        """The generator over ``settings.providers``, or ``None`` when no provider has credentials.

        ``cache_store`` is the shared store (the SQL ``answer_cache``); without it the cache is per process.
        """
        providers = settings.providers
        router = build_router(providers)
        if router is None:
            return None
        cache = None
        if providers.cache.enabled:
            store = cache_store if cache_store is not None else MemoryCacheStore()
            cache = AnswerCache(store, ttl=providers.cache.ttl, lru_size=providers.cache.lru_size)
        return cls(
            router,
            fallback,
            prompts=PromptLibrary(providers.prompts_dir),
            variants=[Variant(v.name, v.weight) for v in providers.variants],
            cache=cache,
            history_turns=settings.answer.history_turns,
            variant_states=variant_states,
        )

    async def aclose(self) -> None:
        await self.router.aclose()

    async def generate(self, request: GenerationRequest) -> AsyncIterator[GenerationEvent]:
        if not request.passages:  # nothing to ground on: the extractive generator abstains for free
            async for event in self.fallback.generate(request):
                yield event
            return
        variants = (
            await self.variant_states.effective(self.variants) if self.variant_states else self.variants
        )
        variant = choose_variant(request.conversation_key or request.question, variants)
        metrics.prompt_variants.labels(variant).inc()
        key = self._key(request, variant)
        versions = _doc_versions(request)
        if self.cache is not None and key is not None:
            hit = await self.cache.get(key, versions)
            if hit is not None:
                yield TextDelta(hit.text)
                yield GenerationDone(hit.provider, variant, hit.cited, hit.abstained)
                return

        parts: list[str] = []
        provider = self.router.name
        chat = ChatRequest(
            self.prompts.messages(request, variant, history_turns=self.history_turns), self.max_tokens
        )
        try:
            async with aclosing(self.router.stream(chat)) as events:
                async for event in events:
                    if isinstance(event, TokenDelta):
                        parts.append(event.text)
                        yield TextDelta(event.text)
                    else:
                        provider = event.provider
        except StreamInterrupted as exc:
            metrics.generation_fallbacks.labels("partial").inc()
            yield Notice(NOTICES["partial"][request.lang])
            text = "".join(parts)
            yield GenerationDone(exc.provider, variant, cited_passages(text, source_count(request.passages)))
            return
        except ProviderError as exc:
            metrics.generation_fallbacks.labels("all_failed").inc()
            log.warning("answer.llm_fallback", reason=str(exc), fallback=self.fallback.name)
            yield Notice(NOTICES["fallback"][request.lang])
            async for fallback_event in self.fallback.generate(request):
                yield fallback_event
            return

        text = "".join(parts)
        cited = cited_passages(text, source_count(request.passages))
        abstained = is_abstention(text, self.prompts.abstain_sentence(request.lang, variant))
        if self.cache is not None and key is not None and text:
            docs = {source_number(p, i): p.doc_id for i, p in enumerate(request.passages)}
            cited_versions = {docs[n]: versions[docs[n]] for n in cited if n in docs}
            answer = CachedAnswer(text, provider, variant, cited, abstained, cited_versions)
            await self.cache.put(key, answer, model=self.router.model)
        yield GenerationDone(provider, variant, cited, abstained)

    def _key(self, request: GenerationRequest, variant: str) -> str | None:
        if self.cache is None or request.history:  # a follow-up depends on its thread: not shared
            return None
        return cache_key(
            question=request.question,
            chunks=[(p.chunk_id, p.version) for p in request.passages],
            prompt=f"{variant}:{request.role}:{request.lang}",
            model=self.router.model,
        )


def _doc_versions(request: GenerationRequest) -> dict[str, int]:
    versions: dict[str, int] = {}
    for passage in request.passages:
        versions[passage.doc_id] = max(versions.get(passage.doc_id, passage.version), passage.version)
    return versions
