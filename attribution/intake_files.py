"""Conversion files: read CSV or Parquet row by row into plain dicts for the intake rules.

Both readers stream: CSV through a text wrapper over the (spooled) file, Parquet in record
batches, so memory holds one batch, not the file. Rows are numbered from 1, the header
not counted. Problems with the whole file (not CSV/Parquet, unknown or missing columns, a
float revenue column, timestamps without a timezone, too many rows) raise `InvalidFile` or
`TooManyRows` before any row is accepted; problems with single rows are left to the rules.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO, Any

from attribution.errors import Rejection
from attribution.intake import FIELDS, REQUIRED
from liftmeter.errors import ValidationFailed

PARQUET_BATCH_ROWS = 10_000
Rows = Iterator[tuple[int, dict[str, Any] | Rejection]]


class InvalidFile(ValidationFailed):
    """The file as a whole cannot be read as conversions."""

    code = "invalid_file"


class TooManyRows(ValidationFailed):
    """The file has more data rows than the configured limit."""

    code = "too_many_rows"

    def __init__(self, limit: int):
        super().__init__(f"more than {limit} rows; split the file", param="file")


def _check_columns(columns: list[str]) -> None:
    unknown = [c for c in columns if c not in FIELDS]
    if unknown:
        raise InvalidFile(
            f"unknown column(s) {', '.join(map(repr, unknown))}; known: {', '.join(FIELDS)}",
            param=unknown[0],
        )
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise InvalidFile(f"missing column(s) {', '.join(missing)}", param=missing[0])
    if len(set(columns)) != len(columns):
        raise InvalidFile("a column appears twice", param="file")


def read_csv(binary: IO[bytes], *, max_rows: int) -> Rows:
    """(row number, row) for each data row of a UTF-8 CSV file with a header; a row with
    the wrong number of fields comes as its `Rejection`."""
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    try:
        reader = csv.reader(text, strict=True)
        header = next(reader, None)
        if header is None:
            raise InvalidFile("the file is empty; a header row is required", param="file")
        columns = [c.strip() for c in header]
        _check_columns(columns)
        for number, values in enumerate(reader, start=1):
            if number > max_rows:
                raise TooManyRows(max_rows)
            if len(values) != len(columns):
                message = f"has {len(values)} fields; the header has {len(columns)}"
                yield number, Rejection(number, "row", "invalid", message)
                continue
            yield number, dict(zip(columns, values, strict=True))
    except UnicodeDecodeError:
        raise InvalidFile("not UTF-8 text", param="file") from None
    except csv.Error as exc:
        raise InvalidFile(f"not valid CSV: {exc}", param="file") from None
    finally:
        text.detach()


def _check_parquet_types(schema: Any) -> None:
    import pyarrow as pa

    for name in schema.names:
        kind = schema.field(name).type
        if name == "revenue" and not (pa.types.is_string(kind) or pa.types.is_decimal(kind)):
            raise InvalidFile(
                f"revenue must be a string or decimal column, not {kind} "
                "(floats cannot hold cents exactly)",
                param="revenue",
            )
        if name == "occurred_at" and pa.types.is_timestamp(kind) and kind.tz is None:
            raise InvalidFile("occurred_at is a timestamp without a timezone", param="occurred_at")


def read_parquet(binary: IO[bytes], *, max_rows: int) -> Rows:
    """(row number, row) for each row of a Parquet file, read in record batches."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(binary)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidFile(f"not a readable Parquet file: {exc}", param="file") from None
    schema = parquet.schema_arrow
    _check_columns(list(schema.names))
    _check_parquet_types(schema)
    if parquet.metadata.num_rows > max_rows:
        raise TooManyRows(max_rows)
    number = 0
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            for row in batch.to_pylist():
                number += 1
                yield number, row
    except (pa.ArrowException, OSError) as exc:
        raise InvalidFile(f"not a readable Parquet file: {exc}", param="file") from None
