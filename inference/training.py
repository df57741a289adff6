"""Training on the synthetic description corpus, on CPU, deterministic for a given seed.

The loss is next-token cross entropy on the description tokens only (the prompt is given,
not predicted), plus the indexer's KL loss, which only trains the indexer. Validation loss is
measured on held-out products (unseen brand/category pairs), with dense attention and with
the model's sparse budget, in nats per description token.

By default the corpus is delexicalized (`inference.delex`): prompts and targets carry slot
placeholders instead of the product's values, and the checkpoint's config records
`delexicalized: true` so the engine fills the values back in. A model trained from scratch
gets the vocabulary size of its tokenizer (a delexicalized corpus has few distinct words).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from inference.checkpoint import Checkpoint, load_checkpoint
from inference.corpus import Example, build_examples
from inference.model import KVCache, ModelConfig, SparseLM
from inference.prompts import TEMPLATE_VERSION
from inference.tokenizer import TextTokenizer, train_tokenizer

IGNORE = -100


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (with the seed, it is reproducible)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    steps: int = 1200
    batch_size: int = 32
    learning_rate: float = 3e-3
    warmup_steps: int = 60
    weight_decay: float = 0.05
    train_examples: int = 40_000
    val_examples: int = 256
    eval_every: int = 200
    seed: int = 1234
    threads: int = 2
    open_share: float = 0.0
    delexicalize: bool = True
    wide_share: float = 0.0
    init_from: str | None = None
    time_budget_s: float | None = None


@dataclass(frozen=True)
class Encoded:
    """Token ids of one example and the labels (prompt positions ignored)."""

    ids: list[int]
    labels: list[int]


@dataclass
class StepReport:
    """What the progress display shows after each step."""

    step: int
    loss: float
    tokens_per_s: float
    val_loss: float | None = None


def encode_examples(
    examples: Sequence[Example], tokenizer: TextTokenizer, *, max_len: int
) -> list[Encoded]:
    """Token ids and labels; examples longer than `max_len` tokens are dropped."""
    encoded = []
    for example in examples:
        prompt = tokenizer.encode(example.prompt)
        completion = tokenizer.encode(example.completion)
        if len(prompt) + len(completion) <= max_len:
            encoded.append(Encoded(prompt + completion, [IGNORE] * len(prompt) + completion))
    return encoded


def collate(batch: Sequence[Encoded], pad_id: int) -> tuple[Tensor, Tensor]:
    """Right-padded inputs and shifted labels `[batch, longest - 1]`."""
    longest = max(len(item.ids) for item in batch)
    ids = torch.full((len(batch), longest), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), longest), IGNORE, dtype=torch.long)
    for row, item in enumerate(batch):
        ids[row, : len(item.ids)] = torch.tensor(item.ids)
        labels[row, : len(item.labels)] = torch.tensor(item.labels)
    return ids[:, :-1], labels[:, 1:]


def lm_loss(logits: Tensor, labels: Tensor) -> Tensor:
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE)


@torch.no_grad()
def evaluate_loss(
    model: SparseLM, data: Sequence[Encoded], *, pad_id: int, sparse_top_k: int | None = None
) -> float:
    """Mean nats per labelled token; dense attention, or the sparse path at `sparse_top_k`."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(data), 32):
        ids, labels = collate(data[start : start + 32], pad_id)
        if sparse_top_k is None:
            logits, _ = model(ids)
        else:
            cache = KVCache(model.config, slots=ids.shape[0], max_len=ids.shape[1])
            slots = torch.arange(ids.shape[0])
            logits = model.forward_cached(ids, cache=cache, slots=slots, top_k=sparse_top_k)
        mask = labels != IGNORE
        total += float(F.cross_entropy(logits[mask], labels[mask], reduction="sum"))
        count += int(mask.sum())
    model.train()
    return total / max(count, 1)


def _learning_rate(config: TrainConfig, step: int, elapsed_s: float = 0.0) -> float:
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    if config.time_budget_s:  # the schedule follows whichever runs out first
        progress = max(progress, elapsed_s / config.time_budget_s)
    progress = min(progress, 1.0)
    return config.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def prepare_data(
    config: TrainConfig, tokenizer: TextTokenizer | None = None
) -> tuple[TextTokenizer, list[Encoded], list[Encoded]]:
    """Build the corpus, train the tokenizer on the training split (unless given), encode."""
    train = list(
        build_examples(
            config.train_examples,
            seed=config.seed,
            open_share=config.open_share,
            delexicalize=config.delexicalize,
            wide_share=config.wide_share,
        )
    )
    if tokenizer is None:
        tokenizer = train_tokenizer(
            (ex.prompt + ex.completion for ex in train), vocab_size=config.model.vocab_size
        )
    max_len = config.model.max_seq_len
    held_out = held_out_data(
        tokenizer,
        seed=config.seed,
        count=config.val_examples,
        max_len=max_len,
        open_share=config.open_share,
        delexicalize=config.delexicalize,
        wide_share=config.wide_share,
    )
    return tokenizer, encode_examples(train, tokenizer, max_len=max_len), held_out


def held_out_data(
    tokenizer: TextTokenizer,
    *,
    seed: int,
    count: int,
    max_len: int,
    open_share: float = 0.0,
    delexicalize: bool = False,
    wide_share: float = 0.0,
) -> list[Encoded]:
    """The validation split: held-out (brand, category) pairs and held-out open values."""
    examples = list(
        build_examples(
            count,
            seed=seed,
            held_out=True,
            open_share=open_share,
            delexicalize=delexicalize,
            wide_share=wide_share,
        )
    )
    return encode_examples(examples, tokenizer, max_len=max_len)


def train(
    config: TrainConfig, *, on_step: Callable[[StepReport], None] | None = None
) -> Checkpoint:
    """Train a model from scratch; returns it with metadata (held-out losses, timings)."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    if config.init_from is None:
        tokenizer, train_data, val_data = prepare_data(config)
        shape = replace(
            config.model, vocab_size=tokenizer.vocab_size, delexicalized=config.delexicalize
        )
        config = replace(config, model=shape)
        untrained = SparseLM(config.model)
        model = untrained
    else:  # continue from a checkpoint: its weights, tokenizer and shape
        start = load_checkpoint(Path(config.init_from))
        model, tokenizer = start.model, start.tokenizer
        model.config = replace(model.config, delexicalized=config.delexicalize)
        model.train()
        config = replace(config, model=model.config)
        untrained = SparseLM(model.config)
        tokenizer, train_data, val_data = prepare_data(config, tokenizer)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
        betas=(0.9, 0.95),
    )
    rng = random.Random(config.seed)
    buckets = _length_buckets(train_data, config.batch_size)
    started = time.perf_counter()
    # the loss of an untrained model of this shape: the reference for "training helped"
    initial_val = evaluate_loss(untrained, val_data, pad_id=tokenizer.pad_id)
    start_val = evaluate_loss(model, val_data, pad_id=tokenizer.pad_id)
    val_loss: float | None = None
    steps_done = 0
    for step in range(config.steps):
        tick = time.perf_counter()
        elapsed = tick - started
        if config.time_budget_s is not None and elapsed >= config.time_budget_s:
            break
        ids, labels = collate(_batch(buckets, config.batch_size, rng), tokenizer.pad_id)
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(config, step, elapsed)
        logits, index_loss = model(ids)
        loss = lm_loss(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        (loss + index_loss).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        steps_done = step + 1
        last = step == config.steps - 1
        if last or (step + 1) % config.eval_every == 0:
            val_loss = evaluate_loss(model, val_data, pad_id=tokenizer.pad_id)
        if on_step is not None:
            rate = ids.numel() / max(time.perf_counter() - tick, 1e-9)
            on_step(StepReport(step + 1, float(loss.detach()), rate, val_loss))
    model.eval()
    metadata = _metadata(config, model, tokenizer, val_data, initial_val, started)
    metadata["steps_done"] = steps_done
    metadata["held_out_loss_at_start"] = start_val
    return Checkpoint(model=model, tokenizer=tokenizer, metadata=metadata)


LONG_EXAMPLE = 192  # tokens: wide products (many slots) are batched apart from the rest


def _length_buckets(data: Sequence[Encoded], batch_size: int) -> list[list[Encoded]]:
    """Short and long examples apart, so a long one does not pad a whole batch of short ones.

    With no long examples (or too few for a batch) this is one bucket: the plain random
    batches the shipped checkpoints were trained with.
    """
    long = [item for item in data if len(item.ids) > LONG_EXAMPLE]
    if len(long) < batch_size or len(data) - len(long) < batch_size:
        return [list(data)]
    return [[item for item in data if len(item.ids) <= LONG_EXAMPLE], long]


def _batch(buckets: Sequence[list[Encoded]], size: int, rng: random.Random) -> list[Encoded]:
    """A random batch from one bucket, picked in proportion to the bucket sizes."""
    if len(buckets) == 1:
        return rng.sample(buckets[0], size)
    total = sum(len(bucket) for bucket in buckets)
    pick = rng.random() * total
    for bucket in buckets:
        if pick < len(bucket):
            return rng.sample(bucket, size)
        pick -= len(bucket)
    return rng.sample(buckets[-1], size)


def _metadata(
    config: TrainConfig,
    model: SparseLM,
    tokenizer: TextTokenizer,
    val_data: Sequence[Encoded],
    initial_val: float,
    started: float,
) -> dict[str, object]:
    pad = tokenizer.pad_id
    return {
        "template_version": TEMPLATE_VERSION,
        "parameters": model.parameter_count(),
        "train_config": {k: v for k, v in asdict(config).items() if k != "model"},
        "open_share": config.open_share,
        "delexicalized": config.delexicalize,
        "wide_share": config.wide_share,
        "held_out_examples": len(val_data),
        "held_out_loss_initial": initial_val,
        "held_out_loss_dense": evaluate_loss(model, val_data, pad_id=pad),
        "held_out_loss_sparse": evaluate_loss(
            model, val_data, pad_id=pad, sparse_top_k=model.config.top_k
        ),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
