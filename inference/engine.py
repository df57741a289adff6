"""Generation engine: a KV-cached decoder loop with continuous micro-batching.

One worker thread owns the model and a slot-based KV cache of `max_batch_size` sequences.
Requests arrive on a queue; when the engine is idle it waits `batch_wait_ms` after the first
arrival to collect more, and while it is decoding new requests join at the next step. Each
new request is prefilled alone; every active request then advances one token per shared
forward pass. Results travel back to the caller's asyncio loop as stream events.

Token counts are exact: `prompt_tokens` is the length of the encoded prompt and
`completion_tokens` the number of tokens sampled (the end token included, as vLLM counts).

A delexicalized checkpoint (`config.delexicalized`, see `inference.delex`) reads and writes
slot placeholders. For a template prompt (`prompts.build_prompt` output) the engine encodes
the delexicalized prompt and relexicalizes what the model writes: stop strings, the number
guard, streamed deltas and the final text all work on the text the client sees, with the
product's own values in it. The token counts stay the tokens the model processed: the
delexicalized prompt and the sampled placeholders, not a re-encoding of the visible text.
Other prompts (free text, token ids) go to the model unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import torch

from inference.checkpoint import Checkpoint
from inference.delex import Slots, delexicalize_prompt, relexicalize_prefix
from inference.errors import InferenceError, InvalidGenerationRequest
from inference.metrics import EngineMetrics, RequestTimings
from inference.model import KVCache
from inference.prompts import DESCRIPTION_TOKEN, PAD_TOKEN, PRODUCT_TOKEN
from inference.sampling import NumberGuard, SamplingParams, find_stop, safe_prefix_length

_IDLE_POLL_S = 0.05


@dataclass(frozen=True)
class Completion:
    """A finished generation. `finish_reason` is `stop` or `length` (OpenAI semantics)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    stop_reason: str | None = None


@dataclass(frozen=True)
class TextDelta:
    """Newly generated text, streamed before the request finishes."""

    text: str


StreamEvent = TextDelta | Completion


@dataclass(frozen=True)
class EncodedPrompt:
    """The token ids the model processes, and the slot table when it was delexicalized."""

    ids: list[int]
    slots: Slots | None = None


@dataclass
class _Request:
    prompt_ids: list[int]
    params: SamplingParams
    slots: Slots | None
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue[StreamEvent | BaseException]
    generator: torch.Generator
    submitted_at: float = field(default_factory=time.perf_counter)
    generated: list[int] = field(default_factory=list)
    slot: int = -1
    streamed_chars: int = 0
    started_at: float = 0.0
    first_token_at: float = 0.0
    cancelled: bool = False

    def push(self, event: StreamEvent | BaseException) -> None:
        with contextlib.suppress(RuntimeError):  # the caller's loop is gone
            self.loop.call_soon_threadsafe(self.events.put_nowait, event)


class GenerationEngine:
    """Serve completions from a checkpoint; thread-safe, asyncio-facing."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        *,
        model_name: str = "liftmeter-sparse-small",
        max_batch_size: int = 8,
        batch_wait_ms: float = 5.0,
        metrics: EngineMetrics | None = None,
    ) -> None:
        self.model = checkpoint.model.eval()
        self.tokenizer = checkpoint.tokenizer
        self.model_name = model_name
        self.context_window = self.model.config.max_seq_len
        self.metrics = metrics
        self._max_batch = max_batch_size
        self._wait_s = batch_wait_ms / 1000.0
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._active: list[_Request] = []
        self._free_slots = list(range(max_batch_size))
        self._cache = KVCache(self.model.config, slots=max_batch_size, max_len=self.context_window)
        self._banned = torch.tensor(
            [self.tokenizer.token_id(t) for t in (PAD_TOKEN, PRODUCT_TOKEN, DESCRIPTION_TOKEN)]
        )
        self._guard = NumberGuard(self._digit_mask())
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self.healthy = True

    def _digit_mask(self) -> torch.Tensor:
        texts = [self.tokenizer.decode([i]) for i in range(self.tokenizer.vocab_size)]
        return torch.tensor([any(ch.isdigit() for ch in text) for text in texts])

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> GenerationEngine:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="generation", daemon=True)
            self._thread.start()
        return self

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- public API ----------------------------------------------------------------------

    @property
    def delexicalized(self) -> bool:
        """Whether the model works on slot placeholders (see the module docstring)."""
        return self.model.config.delexicalized

    def prepare_prompt(self, prompt: str | Sequence[int]) -> EncodedPrompt:
        """What the model will process for `prompt`: ids, and slots when delexicalized."""
        if isinstance(prompt, str):
            delexicalized = delexicalize_prompt(prompt) if self.delexicalized else None
            if delexicalized is None:
                return EncodedPrompt(self.tokenizer.encode(prompt))
            text, slots = delexicalized
            return EncodedPrompt(self.tokenizer.encode(text), slots)
        if any(not 0 <= t < self.tokenizer.vocab_size for t in prompt):
            raise InvalidGenerationRequest("token id out of vocabulary", param="prompt")
        return EncodedPrompt(list(prompt))

    def encode_prompt(self, prompt: str | Sequence[int]) -> list[int]:
        """The prompt's token ids as the model sees them (delexicalized where it applies)."""
        return self.prepare_prompt(prompt).ids

    def check_request(self, prompt_ids: Sequence[int], params: SamplingParams) -> None:
        """Raise `InvalidGenerationRequest` (naming the field) if it cannot be served."""
        window = self.context_window
        if not prompt_ids:
            raise InvalidGenerationRequest("the prompt is empty", param="prompt")
        if len(prompt_ids) >= window:
            raise InvalidGenerationRequest(
                f"This model's maximum context length is {window} tokens. However, your "
                f"prompt has {len(prompt_ids)} tokens.",
                param="prompt",
            )
        if len(prompt_ids) + params.max_tokens > window:
            raise InvalidGenerationRequest(
                f"This model's maximum context length is {window} tokens. However, you requested "
                f"{len(prompt_ids) + params.max_tokens} tokens ({len(prompt_ids)} in the prompt, "
                f"{params.max_tokens} in the completion).",
                param="max_tokens",
            )

    async def stream(
        self, prompt: str | Sequence[int], params: SamplingParams
    ) -> AsyncIterator[StreamEvent]:
        """Text deltas as they are generated, then the `Completion`."""
        if self._thread is None or self._stop_event.is_set():
            raise InferenceError("the generation engine is not running")
        request = self._submit(self.prepare_prompt(prompt), params)
        try:
            while True:
                event = await request.events.get()
                if isinstance(event, BaseException):
                    raise event
                yield event
                if isinstance(event, Completion):
                    return
        finally:
            request.cancelled = True

    async def generate(self, prompt: str | Sequence[int], params: SamplingParams) -> Completion:
        async for event in self.stream(prompt, params):
            if isinstance(event, Completion):
                return event
        raise InferenceError("generation ended without a result")

    def _submit(self, prompt: EncodedPrompt, params: SamplingParams) -> _Request:
        self.check_request(prompt.ids, params)
        generator = torch.Generator()
        generator.manual_seed(params.seed if params.seed is not None else torch.seed())
        request = _Request(
            prompt_ids=prompt.ids,
            params=params,
            slots=prompt.slots,
            loop=asyncio.get_running_loop(),
            events=asyncio.Queue(),
            generator=generator,
        )
        self._queue.put(request)
        return request

    # -- worker thread -------------------------------------------------------------------

    def _run(self) -> None:
        with torch.inference_mode():
            while not self._stop_event.is_set():
                try:
                    self._admit()
                    self._drop_cancelled()
                    if self._active:
                        self._decode_step()
                except Exception as exc:  # noqa: BLE001 - fail the batch, keep serving
                    self._fail_active(exc)
                self._report_load()
        stopped = InferenceError("the generation engine stopped")
        self._fail_active(stopped)
        while True:
            try:
                self._queue.get_nowait().push(stopped)
            except queue.Empty:
                break

    def _admit(self) -> None:
        capacity = self._max_batch - len(self._active)
        arrivals: list[_Request] = []
        if capacity and not self._active:
            try:
                arrivals.append(self._queue.get(timeout=_IDLE_POLL_S))
            except queue.Empty:
                return
            deadline = time.perf_counter() + self._wait_s
            while len(arrivals) < capacity and (remaining := deadline - time.perf_counter()) > 0:
                try:
                    arrivals.append(self._queue.get(timeout=remaining))
                except queue.Empty:
                    break
        while len(arrivals) < capacity:
            try:
                arrivals.append(self._queue.get_nowait())
            except queue.Empty:
                break
        for request in arrivals:
            self._prefill(request)

    def _prefill(self, request: _Request) -> None:
        if request.cancelled:
            return
        request.started_at = time.perf_counter()
        request.slot = self._free_slots.pop()
        self._cache.reset(request.slot)
        self._active.append(request)
        ids = torch.tensor([request.prompt_ids])
        logits = self.model.forward_cached(
            ids, cache=self._cache, slots=torch.tensor([request.slot])
        )
        self._advance(request, logits[0, -1])

    def _decode_step(self) -> None:
        batch = list(self._active)
        tokens = torch.tensor([[request.generated[-1]] for request in batch])
        slots = torch.tensor([request.slot for request in batch])
        logits = self.model.forward_cached(tokens, cache=self._cache, slots=slots)
        for row, request in enumerate(batch):
            self._advance(request, logits[row, -1])

    def _visible(self, request: _Request, ids: list[int]) -> str:
        """The text the client sees for generated `ids`: relexicalized when delexicalized.

        An incomplete placeholder at the end is held back; when generation stops there (the
        token limit), it is dropped, so a truncated text is a prefix of the full one.
        """
        text = self.tokenizer.decode(ids)
        if request.slots is None:
            return text
        return relexicalize_prefix(text, request.slots)

    def _advance(self, request: _Request, logits: torch.Tensor) -> None:
        logits = logits.float().index_fill(0, self._banned, -torch.inf)
        token = self._guard.sample(
            logits,
            request.params,
            request.generator,
            text=self._visible(request, request.generated),
            render=lambda t: self._visible(request, [*request.generated, t]),
            # a placeholder token can write a number: check every token, not just digits
            check_all=request.slots is not None,
        )
        request.generated.append(token)
        if len(request.generated) == 1:
            request.first_token_at = time.perf_counter()
        ended = token == self.tokenizer.end_id
        full = len(request.generated) >= request.params.max_tokens
        text = self._visible(request, request.generated)
        hit = find_stop(text, request.params.stop)
        if hit is not None:
            self._finish(request, text[: hit[0]], "stop", hit[1])
        elif ended:
            self._finish(request, text, "stop", None)
        elif full:
            self._finish(request, text, "length", None)
        else:
            self._stream_delta(request, text[: safe_prefix_length(text, request.params.stop)])

    def _stream_delta(self, request: _Request, text: str) -> None:
        # Multi-byte characters decode as U+FFFD until complete; hold them back.
        text = text.rstrip("\ufffd")
        if len(text) > request.streamed_chars:
            request.push(TextDelta(text[request.streamed_chars :]))
            request.streamed_chars = len(text)

    def _finish(self, request: _Request, text: str, reason: str, stop: str | None) -> None:
        if len(text) > request.streamed_chars:
            request.push(TextDelta(text[request.streamed_chars :]))
        completion = Completion(
            text=text,
            prompt_tokens=len(request.prompt_ids),
            completion_tokens=len(request.generated),
            finish_reason=reason,
            stop_reason=stop,
        )
        request.push(completion)
        self._release(request)
        if self.metrics is not None:
            self.metrics.observe_request(_timings(request, completion))

    def _release(self, request: _Request) -> None:
        self._active.remove(request)
        self._free_slots.append(request.slot)

    def _drop_cancelled(self) -> None:
        for request in [r for r in self._active if r.cancelled]:
            self._release(request)

    def _fail_active(self, exc: BaseException) -> None:
        error = (
            exc if isinstance(exc, InferenceError) else InferenceError(f"generation failed: {exc}")
        )
        for request in list(self._active):
            request.push(error)
            self._release(request)

    def _report_load(self) -> None:
        if self.metrics is not None:
            running = len(self._active)
            self.metrics.set_load(
                running=running, waiting=self._queue.qsize(), kv_usage=running / self._max_batch
            )


def _timings(request: _Request, completion: Completion) -> RequestTimings:
    now = time.perf_counter()
    return RequestTimings(
        queue_s=request.started_at - request.submitted_at,
        prefill_s=request.first_token_at - request.started_at,
        decode_s=now - request.first_token_at,
        first_token_s=request.first_token_at - request.submitted_at,
        e2e_s=now - request.submitted_at,
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        finish_reason=completion.finish_reason,
    )
