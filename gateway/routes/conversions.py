"""Conversions routes: report views, add-to-carts and purchases, one by one or as files.

`POST /v1/conversions` takes one conversion object or `{"conversions": [...]}`;
`POST /v1/conversions/upload` takes a CSV or Parquet file, as a multipart field named
`file` or as the raw body (`text/csv`, `application/vnd.apache.parquet`). The file is
spooled (in memory up to 1 MiB, then to disk) and never kept beyond the size limit, which
the middleware and the reader here both enforce; rows are then read in a stream. The
rules are in `attribution.intake`; recording is in `gateway.conversions`.
"""

from __future__ import annotations

import tempfile
from typing import IO, Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from attribution.errors import rejection_dict
from attribution.intake_files import read_csv, read_parquet
from gateway import conversions
from gateway.auth import merchant_of
from gateway.errors import PayloadTooLarge, UnsupportedMediaType
from gateway.middleware import BodyTooLarge
from gateway.schemas import ConversionIntakeOut, DuplicateRow, RejectedRow
from liftmeter.errors import ValidationFailed
from liftmeter.web import Principal, Scope, require, sessions

router = APIRouter(prefix="/v1", tags=["conversions"])
Reporter = Annotated[Principal, Depends(require(Scope.CONVERSIONS_WRITE))]
Sessions = Annotated[sessionmaker[Session], Depends(sessions)]
BestEffort = Annotated[
    bool, Query(description="Record the valid rows even when some are rejected.")
]
MAX_JSON_CONVERSIONS = 10_000
CSV_TYPES = frozenset({"text/csv", "application/csv"})
PARQUET_TYPES = frozenset(
    {"application/vnd.apache.parquet", "application/x-parquet", "application/parquet"}
)
SPOOL_IN_MEMORY_BYTES = 1_048_576


def _out(result: conversions.ConversionIntake, position_name: str) -> ConversionIntakeOut:
    listed = conversions.MAX_LISTED
    duplicates = [
        DuplicateRow(**{position_name: c.position}, order_id=c.order_id or "", kind=c.kind)
        for c in result.duplicates[:listed]
    ]
    rejected = [
        RejectedRow.model_validate(rejection_dict(r, position_name))
        for r in result.rejected[:listed]
    ]
    return ConversionIntakeOut(
        rows=result.rows,
        accepted=result.accepted,
        duplicate_count=len(result.duplicates),
        duplicates=duplicates,
        rejected_count=len(result.rejected),
        rejected=rejected,
        truncated=max(len(result.duplicates), len(result.rejected)) > listed,
    )


def _rows_of(payload: Any) -> list[Any]:
    if isinstance(payload, dict) and "conversions" in payload:
        batch = payload["conversions"]
        if set(payload) != {"conversions"}:
            extra = sorted(set(payload) - {"conversions"})[0]
            raise ValidationFailed("unknown field next to 'conversions'", param=extra)
        if not isinstance(batch, list) or not batch:
            raise ValidationFailed("must be a non-empty array", param="conversions")
        if len(batch) > MAX_JSON_CONVERSIONS:
            raise ValidationFailed(
                f"at most {MAX_JSON_CONVERSIONS} per request; upload a file for more",
                param="conversions",
            )
        return batch
    if isinstance(payload, dict):
        return [payload]
    raise ValidationFailed('send a conversion object or {"conversions": [...]}', param="body")


@router.post(
    "/conversions",
    response_model=ConversionIntakeOut,
    summary="Report one conversion or a batch",
    responses={400: {"description": "`rows_rejected`: nothing recorded; `error.rejected`."}},
)
def post_conversions(
    payload: Annotated[
        Any,
        Body(
            examples=[
                {
                    "kind": "purchase",
                    "visitor_id": "v-123",
                    "product_id": "sku-9",
                    "order_id": "o-77",
                    "revenue": "19.99",
                    "currency": "USD",
                    "occurred_at": "2026-11-28T12:00:00Z",
                }
            ]
        ),
    ],
    caller: Reporter,
    factory: Sessions,
    best_effort: BestEffort = False,
) -> ConversionIntakeOut:
    merchant_id = merchant_of(caller)
    rows = _rows_of(payload)
    checked = conversions.check_rows(factory, merchant_id, enumerate(rows))
    with factory.begin() as session:
        result = conversions.record_conversions(
            session, merchant_id, checked, best_effort=best_effort, position_name="index"
        )
    return _out(result, "index")


def _format_of(content_type: str | None, filename: str | None) -> str:
    kind = (content_type or "").split(";")[0].strip().lower()
    name = (filename or "").lower()
    if kind in CSV_TYPES or (kind in ("", "application/octet-stream") and name.endswith(".csv")):
        return "csv"
    if kind in PARQUET_TYPES or (
        kind in ("", "application/octet-stream") and name.endswith(".parquet")
    ):
        return "parquet"
    raise UnsupportedMediaType(
        "send text/csv or application/vnd.apache.parquet (raw body or a multipart 'file')",
        param="file",
    )


async def _spool_body(request: Request, limit: int) -> IO[bytes]:
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            spool.write(chunk)
    except BodyTooLarge:
        spool.close()
        raise PayloadTooLarge(f"request body exceeds {limit} bytes") from None
    spool.seek(0)
    return spool


async def _receive_file(request: Request, limit: int) -> tuple[str, IO[bytes]]:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        fmt = _format_of(content_type, None)
        return fmt, await _spool_body(request, limit)
    try:
        form = await request.form(max_files=1, max_fields=8)
    except BodyTooLarge:
        raise PayloadTooLarge(f"request body exceeds {limit} bytes") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed("send the file in a multipart field named 'file'", param="file")
    return _format_of(upload.content_type, upload.filename), upload.file


def _ingest_file(
    factory: sessionmaker[Session],
    merchant_id: str,
    fmt: str,
    file: IO[bytes],
    *,
    max_rows: int,
    best_effort: bool,
) -> conversions.ConversionIntake:
    reader = read_csv if fmt == "csv" else read_parquet
    checked = conversions.check_rows(factory, merchant_id, reader(file, max_rows=max_rows))
    with factory.begin() as session:
        return conversions.record_conversions(
            session, merchant_id, checked, best_effort=best_effort, position_name="row"
        )


@router.post(
    "/conversions/upload",
    response_model=ConversionIntakeOut,
    summary="Upload conversions as CSV or Parquet",
    responses={
        400: {
            "description": "`rows_rejected` (nothing recorded), `invalid_file`, `too_many_rows`."
        },
        413: {"description": "`body_too_large`: over the upload size limit."},
        415: {"description": "`unsupported_media_type`: not CSV or Parquet."},
    },
)
async def upload_conversions(
    request: Request, caller: Reporter, factory: Sessions, best_effort: BestEffort = False
) -> ConversionIntakeOut:
    merchant_id = merchant_of(caller)
    limits = request.app.state.settings.gateway
    fmt, file = await _receive_file(request, limits.max_upload_bytes)
    try:
        result = await run_in_threadpool(
            _ingest_file,
            factory,
            merchant_id,
            fmt,
            file,
            max_rows=limits.max_upload_rows,
            best_effort=best_effort,
        )
    finally:
        file.close()
    return _out(result, "row")
