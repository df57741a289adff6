"""The audit log records actions and refuses every attempt to change them."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from liftmeter.audit import list_audit, record_audit
from liftmeter.db import build_engine, session_factory

from support import make_settings


def test_audit_rows_are_recorded_and_listed_newest_first(db_url: str) -> None:
    sessions = session_factory(build_engine(make_settings(db_url).database))
    with sessions.begin() as session:
        record_audit(session, actor="key_1", action="finalize", subject_type="invoice",
                     subject_id="inv_1", merchant_id="m1", reason="month end",
                     details={"total": "12.30"})
        record_audit(session, actor="key_1", action="mark_paid", subject_type="invoice",
                     subject_id="inv_1", merchant_id="m1")
    with sessions() as session:
        rows = list_audit(session, subject_type="invoice", subject_id="inv_1")
        assert [row.action for row in rows] == ["mark_paid", "finalize"]
        assert rows[1].details == {"total": "12.30"}
        assert rows[1].reason == "month end"


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET reason = 'rewritten'",
    "DELETE FROM audit_log",
])
def test_audit_rows_cannot_be_changed_or_deleted(db_url: str, statement: str) -> None:
    sessions = session_factory(build_engine(make_settings(db_url).database))
    with sessions.begin() as session:
        record_audit(session, actor="key_1", action="void", subject_type="invoice",
                     subject_id="inv_2", reason="duplicate")
    refused = pytest.raises(DBAPIError, match="cannot be changed or deleted")
    with refused, sessions.begin() as session:
        session.execute(text(statement))
    with sessions() as session:
        assert [row.reason for row in list_audit(session)] == ["duplicate"]
