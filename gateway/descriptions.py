"""The description call: idempotency, masking, cache, quota, generation, risk, durable event.

One call runs in these steps, with two short database transactions and none held open
while the model runs:

1. **Mask** personal data in the product payload and build the prompt with the shared
   template (`inference.prompts`); look the request up in the exact **cache**.
2. **Claim and reserve** (transaction 1): insert the call row (`status=pending`) and
   reserve prompt + max_tokens against the key's per-minute limits and check the call's
   worst case against the monthly spend cap of the merchant's plan (`gateway.spend`). With an
   `Idempotency-Key`, the row's unique `(merchant_id, idempotency_key)` makes concurrent
   duplicates meet in the database: the loser reserves nothing and waits for the winner's
   stored response (or gets 409 if the body differs), so the model runs and the merchant
   is billed once. Over a limit, the transaction rolls back and nothing is claimed.
3. **Generate** through the configured backend (in-process model or an OpenAI-compatible
   server such as vLLM), unless the cache hit, and **screen** the output with the risk model.
4. **Finish** (transaction 2): store the outcome and response on the call row, settle the
   token reservation, add a billable call to the month's spend counters, keep the
   description (unless blocked) and write the `CallCompleted`
   event to the outbox. The response is sent only after that commit, so every answered
   call has a durable event.

A failure in step 3 releases the claim (the same key may be retried) and the reservation.
A blocked output is not returned and not billed (`status=blocked`, `text=null`).

An output with the verdict `review` is returned to the merchant as before (text,
`description_id`, `risk.verdict="review"`) plus a `review_id`: the finish transaction also
queues a review item (`billing.review.service.enqueue_review`), so the call, its event and
its queue item commit together. The description is kept but not shown to shoppers
(`gateway.variants.latest_description`) until a reviewer approves the item; a rejected
one stays withheld.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from billing.review.service import enqueue_review
from billing.risk.terms import merchant_terms
from gateway import quota
from gateway.cache import ResponseCache, cache_key
from gateway.masking import mask_value
from gateway.models import ApiKey, CallRecord, Description
from gateway.schemas import DescriptionRequest
from gateway.spend import SPEND_VERDICTS, check_spend_cap, record_spend
from inference.client import GenerationRequest, InferenceBackend
from inference.prompts import TEMPLATE_VERSION, ProductInput, build_prompt
from liftmeter.db import insert_ignoring_conflicts
from liftmeter.errors import Conflict
from liftmeter.events import CallCompleted
from liftmeter.ids import new_id
from liftmeter.outbox import enqueue_events
from liftmeter.settings import Settings
from liftmeter.web import Principal

PENDING: Final = "pending"
SUCCEEDED: Final = "succeeded"
BLOCKED: Final = "blocked"
STALE_CLAIM = timedelta(minutes=5)


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"


@dataclass(frozen=True)
class CallOutcome:
    body: dict[str, Any]
    replayed: bool = False


@dataclass
class CallContext:
    """Everything a description call needs from the app."""

    settings: Settings
    sessions: sessionmaker[Session]
    backend: InferenceBackend
    risk: Any
    cache: ResponseCache
    metrics: Any


def request_fingerprint(body: DescriptionRequest) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim_and_reserve(
    ctx: CallContext,
    *,
    call_id: str,
    principal: Principal,
    key: ApiKey,
    idempotency_key: str | None,
    fingerprint: str,
    product_id: str,
    tokens: int,
    max_tokens: int,
) -> tuple[CallRecord | None, quota.Reservation | None, list[str]]:
    """Insert the pending call row, reserve quota and read the merchant's forbidden terms in
    one transaction; or return the row that already holds the idempotency key."""
    row = {
        "id": call_id,
        "merchant_id": principal.merchant_id,
        "api_key_id": key.id,
        "idempotency_key": idempotency_key,
        "request_sha256": fingerprint,
        "product_id": product_id,
        "status": PENDING,
        "cache_hit": False,
        "created_at": datetime.now(UTC),
    }
    table = CallRecord.__table__
    with ctx.sessions.begin() as session:
        inserted = session.execute(
            insert_ignoring_conflicts(session, table, [row], returning=[table.c.id])
        ).first()
        if inserted is None:
            existing = session.scalars(
                select(CallRecord).where(
                    CallRecord.merchant_id == principal.merchant_id,
                    CallRecord.idempotency_key == idempotency_key,
                )
            ).one()
            if existing.status != PENDING or _age(existing) <= STALE_CLAIM:
                session.expunge(existing)
                return existing, None, []
            # The process that claimed it died mid-call: take the claim over.
            session.delete(existing)
            session.flush()
            session.execute(insert_ignoring_conflicts(session, table, [row]))
        reservation = quota.reserve(session, key, tokens, ctx.settings.gateway)
        if principal.merchant_id is not None:
            check_spend_cap(
                session,
                merchant_id=principal.merchant_id,
                now=datetime.now(UTC),
                cache_hit=tokens == 0,
                prompt_tokens=max(tokens - max_tokens, 0),
                completion_tokens=max_tokens if tokens else 0,
            )
        terms = merchant_terms(session, key.merchant_id) if key.merchant_id else []
    return None, reservation, terms


def _age(record: CallRecord) -> timedelta:
    created = record.created_at
    if created.tzinfo is None:  # SQLite returns naive UTC
        created = created.replace(tzinfo=UTC)
    return datetime.now(UTC) - created


def _release(sessions: sessionmaker[Session], call_id: str, reservation: quota.Reservation) -> None:
    with sessions.begin() as session:
        session.execute(
            delete(CallRecord).where(CallRecord.id == call_id, CallRecord.status == PENDING)
        )
        quota.settle(session, reservation, 0)


async def _await_stored(ctx: CallContext, existing: CallRecord, fingerprint: str) -> CallOutcome:
    """Return the stored response of a duplicate, waiting while the original is running."""
    deadline = time.monotonic() + ctx.settings.gateway.idempotency_wait_s
    record: CallRecord | None = existing
    while True:
        if record is None:
            raise IdempotencyInProgress(
                "the original request failed; retry it", param="Idempotency-Key"
            )
        if record.request_sha256 != fingerprint:
            raise IdempotencyConflict(
                "this Idempotency-Key was used with a different body", param="Idempotency-Key"
            )
        if record.status != PENDING and record.response_json:
            return CallOutcome(json.loads(record.response_json), replayed=True)
        if time.monotonic() >= deadline:
            raise IdempotencyInProgress(
                "a request with this Idempotency-Key is still running", param="Idempotency-Key"
            )
        await asyncio.sleep(0.05)
        record = await asyncio.to_thread(_reload, ctx.sessions, existing.id)


def _reload(sessions: sessionmaker[Session], call_id: str) -> CallRecord | None:
    with sessions() as session:
        record = session.get(CallRecord, call_id)
        if record is not None:
            session.expunge(record)
        return record


def _estimate_prompt_tokens(prompt: str) -> int:
    # Byte-level BPE never produces more tokens than UTF-8 bytes; /3 is a safe middle for
    # reservation only (the settled count comes from the backend).
    return len(prompt.encode()) // 3 + 1


def _masked_product(product: ProductInput) -> tuple[ProductInput, Counter[str]]:
    counts: Counter[str] = Counter()
    data = mask_value(product.model_dump(mode="json"), counts)
    return ProductInput.model_validate(data), counts


@dataclass
class _Generated:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    risk: dict[str, Any]
    cache_hit: bool
    usage: dict[str, Any]


async def describe(
    ctx: CallContext,
    *,
    principal: Principal,
    key: ApiKey,
    body: DescriptionRequest,
    idempotency_key: str | None,
) -> CallOutcome:
    """Run one description call (see the module docstring)."""
    product, masked = _masked_product(body.product)
    prompt = build_prompt(product, body.style)
    max_tokens = body.max_tokens or ctx.settings.gateway.default_max_tokens
    ck = cache_key(
        merchant_id=principal.merchant_id,
        product=product.model_dump(mode="json"),
        style=body.style,
        model=ctx.backend.model,
        revision=getattr(ctx.backend, "revision", None),
        template=TEMPLATE_VERSION,
        max_tokens=max_tokens,
    )
    cached = ctx.cache.get(ck)
    fingerprint = request_fingerprint(body)
    call_id = new_id("call")
    tokens = 0 if cached else _estimate_prompt_tokens(prompt) + max_tokens
    existing, reservation, terms = await asyncio.to_thread(
        _claim_and_reserve,
        ctx,
        call_id=call_id,
        principal=principal,
        key=key,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        product_id=product.id,
        tokens=tokens,
        max_tokens=max_tokens,
    )
    if existing is not None:
        return await _await_stored(ctx, existing, fingerprint)
    assert reservation is not None
    ctx.metrics.cache.labels("hit" if cached else "miss").inc()
    started = time.perf_counter()
    try:
        if cached is not None:
            result = _Generated(
                text=cached["text"],
                model=cached["model"],
                prompt_tokens=0,
                completion_tokens=0,
                risk=cached["risk"],
                cache_hit=True,
                usage=cached["usage"],
            )
        else:
            result = await _generate(ctx, prompt, max_tokens, body, product, terms)
    except BaseException:
        await asyncio.to_thread(_release, ctx.sessions, call_id, reservation)
        raise
    latency_ms = (time.perf_counter() - started) * 1000
    outcome = await asyncio.to_thread(
        _finish,
        ctx,
        call_id=call_id,
        principal=principal,
        key=key,
        product=product,
        result=result,
        latency_ms=latency_ms,
        idempotency_key=idempotency_key,
        masked=masked,
        reservation=reservation,
    )
    if not result.cache_hit and result.risk["verdict"] == "pass":
        ctx.cache.put(
            ck,
            {
                "text": result.text,
                "model": result.model,
                "risk": result.risk,
                "usage": result.usage,
            },
        )
    return outcome


async def _generate(
    ctx: CallContext,
    prompt: str,
    max_tokens: int,
    body: DescriptionRequest,
    product: ProductInput,
    merchant_terms: list[str],
) -> _Generated:
    started = time.perf_counter()
    generated = await ctx.backend.generate(
        GenerationRequest(
            prompt=prompt,
            max_tokens=max_tokens,
            temperature=body.temperature,
            seed=body.seed,
            stop=("\n\n",),
        )
    )
    ctx.metrics.generation.observe(time.perf_counter() - started)
    verdict = await asyncio.to_thread(
        ctx.risk.score, generated.text, category=product.category, merchant_terms=merchant_terms
    )
    ctx.metrics.verdicts.labels(verdict.verdict).inc()
    prompt_tokens = generated.prompt_tokens or 0
    completion_tokens = generated.completion_tokens or 0
    ctx.metrics.tokens.labels("prompt").inc(prompt_tokens)
    ctx.metrics.tokens.labels("completion").inc(completion_tokens)
    usage = {
        "prompt_tokens": generated.prompt_tokens,
        "completion_tokens": generated.completion_tokens,
        "total_tokens": generated.total_tokens,
    }
    risk = {
        "verdict": verdict.verdict,
        "score": round(float(verdict.score), 4),
        "reasons": list(verdict.reasons),
        "model_version": verdict.model_version,
    }
    return _Generated(
        text=generated.text.strip(),
        model=generated.model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        risk=risk,
        cache_hit=False,
        usage=usage,
    )


def _finish(
    ctx: CallContext,
    *,
    call_id: str,
    principal: Principal,
    key: ApiKey,
    product: ProductInput,
    result: _Generated,
    latency_ms: float,
    idempotency_key: str | None,
    masked: Counter[str],
    reservation: quota.Reservation,
) -> CallOutcome:
    blocked = result.risk["verdict"] == "block"
    description_id = None if blocked else new_id("desc")
    review_id = new_id("rev") if result.risk["verdict"] == "review" else None
    body = {
        "call_id": call_id,
        "description_id": description_id,
        "product_id": product.id,
        "text": None if blocked else result.text,
        "risk": result.risk,
        "usage": result.usage,
        "model": result.model,
        "cached": result.cache_hit,
        "masked": {k: v for k, v in sorted(masked.items()) if v},
        "review_id": review_id,
    }
    merchant_id = principal.merchant_id
    assert merchant_id is not None
    event = CallCompleted(
        merchant_id=merchant_id,
        occurred_at=datetime.now(UTC),
        call_id=call_id,
        description_id=description_id or f"blocked:{call_id}",
        product_id=product.id,
        api_key_id=key.id,
        model=result.model,
        backend=ctx.settings.inference.backend,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cached_tokens=None,
        latency_ms=round(latency_ms, 3),
        cache_hit=result.cache_hit,
        risk_verdict=result.risk["verdict"],
        risk_score=result.risk["score"],
        status=BLOCKED if blocked else SUCCEEDED,
        idempotency_key=idempotency_key,
    )
    with ctx.sessions.begin() as session:
        record = session.get(CallRecord, call_id)
        assert record is not None
        record.status = event.status
        record.description_id = description_id
        record.response_json = json.dumps(body)
        record.model = result.model
        record.prompt_tokens = result.prompt_tokens
        record.completion_tokens = result.completion_tokens
        record.latency_ms = latency_ms
        record.cache_hit = result.cache_hit
        record.risk_verdict = result.risk["verdict"]
        record.risk_score = result.risk["score"]
        record.risk_reasons = ",".join(result.risk["reasons"])[:1000]
        record.risk_model_version = result.risk["model_version"]
        record.event_id = event.event_id
        record.completed_at = datetime.now(UTC)
        if description_id is not None:
            session.add(
                Description(
                    id=description_id,
                    merchant_id=merchant_id,
                    product_id=product.id,
                    call_id=call_id,
                    text=result.text,
                    model=result.model,
                    template_version=TEMPLATE_VERSION,
                    risk_verdict=result.risk["verdict"],
                )
            )
        if review_id is not None and description_id is not None:
            enqueue_review(
                session,
                item_id=review_id,
                call_id=call_id,
                description_id=description_id,
                merchant_id=merchant_id,
                product_id=product.id,
                text=result.text,
                category=product.category,
                score=result.risk["score"],
                reasons=result.risk["reasons"],
                model_version=result.risk["model_version"],
            )
        quota.settle(session, reservation, result.prompt_tokens + result.completion_tokens)
        if event.risk_verdict in SPEND_VERDICTS and event.status == SUCCEEDED:
            record_spend(
                session,
                merchant_id=merchant_id,
                at=event.occurred_at,
                cache_hit=result.cache_hit,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
            )
        enqueue_events(session, [event])
    return CallOutcome(body)
