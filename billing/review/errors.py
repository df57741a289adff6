"""Errors of the review queue, each with a stable code the gateway maps to an HTTP status."""

from __future__ import annotations

from liftmeter.errors import Conflict, NotFound, ValidationFailed


class ReviewItemNotFound(NotFound):
    """No such item, or it belongs to another merchant (never say which)."""

    code = "review_item_not_found"


class ReviewAlreadyDecided(Conflict):
    """The item was approved or rejected before; decisions are final."""

    code = "review_already_decided"


class ReviewNoteRequired(ValidationFailed):
    """A rejection must say why: the note is what the merchant and the next model read."""

    code = "review_note_required"
