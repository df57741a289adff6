"""Rendering pages: the Jinja2 environment, the navigation, the merchant picker.

Templates live in `dashboards/templates/` and extend `base.html` (navigation, merchant
picker, sign-out form). Autoescaping is on for every template. Pages are never cached by
the browser (`Cache-Control: no-store`) and may not be framed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboards.auth import CSRF_FIELD, Viewer, state_of
from liftmeter.models import Merchant
from liftmeter.money import quantize

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Scripts only from the pages' own origin: plotly.min.js and dashboards.js. Figures
    # travel as JSON in non-executable <script type="application/json"> blocks.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


@dataclass(frozen=True)
class MerchantPicker:
    """The merchants a staff viewer may pick, and the one picked (None: all)."""

    merchants: list[tuple[str, str]]
    selected: str | None


def merchant_picker(
    session: Session, viewer: Viewer, selected: str | None
) -> MerchantPicker | None:
    """The picker for staff viewers; merchants see only their own data and get none."""
    if not viewer.is_staff:
        return None
    rows = session.execute(select(Merchant.id, Merchant.name).order_by(Merchant.name, Merchant.id))
    return MerchantPicker([(r.id, r.name) for r in rows], selected)


def format_amount(value: Decimal | float | None, places: int = 2) -> str:
    """A number with thousands separators, or an em dash when there is none."""
    if value is None:
        return "—"
    return f"{value:,.{places}f}"


def format_money(value: Decimal | None, currency: str) -> str:
    """An amount in `currency`'s minor unit (USD 2 places, JPY 0) with thousands separators."""
    if value is None:
        return "—"
    return format(quantize(Decimal(value), currency), ",f")


def format_percent(value: float | None, places: int = 1) -> str:
    return "—" if value is None else f"{value * 100:+.{places}f} %"


def build_templates() -> Environment:
    env = Environment(
        loader=PackageLoader("dashboards", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["amount"] = format_amount
    env.filters["percent"] = format_percent
    env.filters["money"] = format_money
    env.filters["count"] = lambda value: "—" if value is None else f"{int(value):,}"
    env.filters["when"] = lambda moment: (
        "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")
    )
    env.filters["day"] = lambda moment: "—" if moment is None else moment.strftime("%Y-%m-%d")
    return env


def render(
    request: Request,
    template: str,
    *,
    viewer: Viewer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render `template` with the navigation, the viewer and its CSRF token."""
    state = state_of(request)
    nav = [item for item in state.nav if viewer is not None and item.visible(viewer)]
    html = state.templates.get_template(template).render(
        viewer=viewer,
        nav=nav,
        path=request.url.path,
        csrf_field=CSRF_FIELD,
        csrf_token=viewer.csrf_token if viewer else None,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
