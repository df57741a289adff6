"""Audit log page (finance and admin): who did what, when and why, newest first.

`GET /dashboard/audit?merchant_id=…&subject_type=…&subject_id=…` reads
`liftmeter.audit.list_audit`; rows are append-only, so the page only lists them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from dashboards.auth import ViewerDep
from dashboards.nav import PREFIX, NavItem
from dashboards.templating import merchant_picker, render
from liftmeter.audit import list_audit
from liftmeter.web import Scope, db_session

router = APIRouter(prefix=PREFIX)
NAV = NavItem("Audit log", "/dashboard/audit", lambda viewer: viewer.is_finance)
PAGE_SIZE = 200


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    viewer: ViewerDep,
    session: Annotated[Session, Depends(db_session)],
    merchant_id: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
) -> HTMLResponse:
    viewer.require(Scope.FINANCE)
    merchant = viewer.merchant_scope(merchant_id)
    entries = list_audit(
        session,
        merchant_id=merchant,
        subject_type=subject_type or None,
        subject_id=subject_id or None,
        limit=PAGE_SIZE,
    )
    return render(
        request,
        "audit.html",
        viewer=viewer,
        title="Audit log",
        picker=merchant_picker(session, viewer, merchant),
        entries=entries,
        subject_type=subject_type or "",
        subject_id=subject_id or "",
        page_size=PAGE_SIZE,
    )
