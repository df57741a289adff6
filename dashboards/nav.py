"""The navigation: each page module declares its `NAV` item; the site lists them in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dashboards.auth import Viewer

PREFIX = "/dashboard"
"""Where the pages live. Routers carry it themselves, so route templates (metrics labels,
access logs) are the full paths."""


def _everyone(viewer: Viewer) -> bool:
    return True


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation, shown to viewers for whom `visible` is true."""

    label: str
    path: str
    visible: Callable[[Viewer], bool] = _everyone
