"""Byte-level BPE tokenizer, trained on the corpus and saved with each checkpoint.

Byte-level means any text encodes (no unknown tokens); BPE merges make frequent words and
slot values (brands, units) one or two tokens, which is what lets a small model copy them.
The prompt's special tokens (`inference.prompts.SPECIAL_TOKENS`) are single ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from inference.prompts import END_TOKEN, PAD_TOKEN, SPECIAL_TOKENS

TOKENIZER_FILE = "tokenizer.json"


class TextTokenizer:
    """Thin typed wrapper over a `tokenizers.Tokenizer` with the liftmeter special tokens."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self.pad_id = self.token_id(PAD_TOKEN)
        self.end_id = self.token_id(END_TOKEN)

    def token_id(self, token: str) -> int:
        """Id of a whole token (a special token); raises if the vocabulary lacks it."""
        token_id = self._tokenizer.token_to_id(token)
        if token_id is None:
            raise ValueError(f"tokenizer lacks the special token {token}")
        return int(token_id)

    @property
    def vocab_size(self) -> int:
        return int(self._tokenizer.get_vocab_size())

    def encode(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text).ids)

    def decode(self, ids: Iterable[int]) -> str:
        return str(self._tokenizer.decode(list(ids), skip_special_tokens=True))

    def save(self, directory: Path) -> Path:
        path = directory / TOKENIZER_FILE
        self._tokenizer.save(str(path))
        return path

    @classmethod
    def load(cls, directory: Path) -> TextTokenizer:
        return cls(Tokenizer.from_file(str(directory / TOKENIZER_FILE)))


def train_tokenizer(texts: Iterable[str], *, vocab_size: int = 2048) -> TextTokenizer:
    """Train a byte-level BPE with the special tokens first (pad is id 0)."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return TextTokenizer(tokenizer)
