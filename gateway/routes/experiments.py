"""Experiments routes: holdout experiments, the variant a shopper sees, and exposures.

Writes need `descriptions:write` (the key that runs the storefront integration), reads
`usage:read`. Another merchant's experiment id is a 404, never a 403. `GET /v1/variants`
and `POST /v1/exposures` record exposures through the outbox in the request's transaction.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.orm import Session, sessionmaker

from attribution import experiments as service
from attribution.errors import rejection_dict
from attribution.experiments import as_utc, warnings_of
from attribution.models import Experiment
from gateway import variants
from gateway.auth import merchant_of
from gateway.schemas import (
    ExperimentCreate,
    ExperimentOut,
    ExposureBatch,
    ExposureIntakeOut,
    RejectedRow,
    VariantOut,
)
from liftmeter.web import Principal, Scope, db_session, require, sessions

router = APIRouter(prefix="/v1", tags=["experiments"])
Writer = Annotated[Principal, Depends(require(Scope.DESCRIPTIONS_WRITE))]
Reader = Annotated[Principal, Depends(require(Scope.USAGE_READ))]
Sessions = Annotated[sessionmaker[Session], Depends(sessions)]
ReadSession = Annotated[Session, Depends(db_session)]


def experiment_out(experiment: Experiment, warnings: list[str] | None = None) -> ExperimentOut:
    return ExperimentOut(
        id=experiment.id,
        merchant_id=experiment.merchant_id,
        name=experiment.name,
        holdout_share=str(Decimal(experiment.holdout_share).quantize(Decimal("0.0001"))),
        unit_type=experiment.unit_type,  # type: ignore[arg-type]
        starts_at=as_utc(experiment.starts_at),
        ends_at=as_utc(experiment.ends_at) if experiment.ends_at else None,
        status=experiment.status,  # type: ignore[arg-type]
        created_at=as_utc(experiment.created_at),
        warnings=warnings_of(experiment) if warnings is None else warnings,
    )


@router.post(
    "/experiments",
    status_code=status.HTTP_201_CREATED,
    response_model=ExperimentOut,
    summary="Start a holdout experiment (one active per merchant)",
    responses={409: {"description": "Another experiment is already active."}},
)
def create_experiment(body: ExperimentCreate, caller: Writer, factory: Sessions) -> ExperimentOut:
    merchant_id = merchant_of(caller)
    with factory.begin() as session:
        created = service.create_experiment(
            session,
            merchant_id=merchant_id,
            name=body.name,
            holdout_share=body.holdout_share,
            unit_type=body.unit_type,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
        )
        return experiment_out(created.experiment, created.warnings)


@router.get(
    "/experiments",
    response_model=list[ExperimentOut],
    summary="List experiments, newest first (a merchant sees its own)",
)
def list_experiments(
    caller: Reader, session: ReadSession, merchant_id: str | None = None
) -> list[ExperimentOut]:
    scope = caller.merchant_scope(merchant_id)
    return [experiment_out(e) for e in service.list_experiments(session, merchant_id=scope)]


@router.get("/experiments/{experiment_id}", response_model=ExperimentOut, summary="One experiment")
def get_experiment(experiment_id: str, caller: Reader, session: ReadSession) -> ExperimentOut:
    scope = caller.merchant_scope()
    return experiment_out(service.get_experiment(session, experiment_id, merchant_id=scope))


@router.post(
    "/experiments/{experiment_id}/stop",
    response_model=ExperimentOut,
    summary="Stop an experiment (idempotent); its window closes now",
)
def stop_experiment(experiment_id: str, caller: Writer, factory: Sessions) -> ExperimentOut:
    merchant_id = merchant_of(caller)
    with factory.begin() as session:
        stopped = service.stop_experiment(session, experiment_id, merchant_id=merchant_id)
        return experiment_out(stopped)


@router.get(
    "/variants",
    response_model=VariantOut,
    summary="Which description to show a shopper; records the exposure",
    responses={404: {"description": "`no_active_experiment`: nothing to assign."}},
)
def get_variant(
    caller: Writer,
    factory: Sessions,
    product_id: Annotated[str, Query(min_length=1, max_length=128)],
    visitor_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> VariantOut:
    merchant_id = merchant_of(caller)
    with factory.begin() as session:
        v = variants.choose_variant(
            session, merchant_id=merchant_id, product_id=product_id, visitor_id=visitor_id
        )
        return VariantOut(
            experiment_id=v.experiment.id,
            arm=v.arm.value,
            unit_type=v.experiment.unit_type,  # type: ignore[arg-type]
            unit_id=v.unit_id,
            show="generated" if v.description else "original",
            description_id=v.description.id if v.description else None,
            text=v.description.text if v.description else None,
            reason=v.reason,
            exposure_id=v.exposure.event_id,
        )


@router.post(
    "/exposures",
    response_model=ExposureIntakeOut,
    summary="Report exposures a storefront assigned with the published hash",
    responses={400: {"description": "`rows_rejected`: nothing recorded; `error.rejected`."}},
)
def post_exposures(
    body: ExposureBatch,
    caller: Writer,
    factory: Sessions,
    best_effort: Annotated[bool, Query(description="Record the valid rows anyway.")] = False,
) -> ExposureIntakeOut:
    merchant_id = merchant_of(caller)
    with factory.begin() as session:
        result = variants.record_exposures(
            session, body.exposures, merchant_id=merchant_id, best_effort=best_effort
        )
    rejected = [RejectedRow.model_validate(rejection_dict(r, "index")) for r in result.rejected]
    return ExposureIntakeOut(accepted=result.accepted, rejected=rejected)
