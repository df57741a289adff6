"""The billing period: a calendar month in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from liftmeter.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month in UTC: [start, end)."""

    start: datetime
    end: datetime

    @classmethod
    def parse(cls, text: str) -> Period:
        try:
            year, month = (int(p) for p in text.split("-"))
            start = datetime(year, month, 1, tzinfo=UTC)
        except ValueError:
            raise ValidationFailed(f"must be YYYY-MM, got {text!r}", param="period") from None
        return cls.of(start)

    @classmethod
    def of(cls, moment: datetime) -> Period:
        start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=32)).replace(day=1)
        return cls(start, end)

    @property
    def label(self) -> str:
        return f"{self.start.year:04d}-{self.start.month:02d}"
