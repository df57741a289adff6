"""Errors of the billing domain, each with a stable code the gateway maps to an HTTP status.

Lifecycle refusals are `Conflict`s (409): the request is well formed but the invoice is in
the wrong state. Bad input is `ValidationFailed` (400) naming the field. Nothing changes
when one of these is raised: services raise before they write.
"""

from __future__ import annotations

from liftmeter.errors import Conflict, NotFound, ValidationFailed


class PlanNotFound(NotFound):
    """The merchant has no plan version in effect for the period asked about."""

    code = "plan_not_found"


class PlanOverlap(Conflict):
    """A plan version would overlap (or precede) an existing one, or rewrite a billed period."""

    code = "plan_overlap"


class InvoiceNotFound(NotFound):
    """No such invoice, or it belongs to another merchant (never say which)."""

    code = "invoice_not_found"


class PeriodInFuture(ValidationFailed):
    """The billing period has not started (or, to finalize, has not ended) yet."""

    code = "period_in_future"


class InvoiceEmpty(Conflict):
    """An invoice without lines cannot be finalized."""

    code = "invoice_empty"


class InvoiceNotDraft(Conflict):
    """Only a draft can be finalized or recomputed; finalized invoices are immutable."""

    code = "invoice_not_draft"


class InvoiceNotFinalized(Conflict):
    """Marking paid, voiding and credit notes need a finalized (or paid) invoice."""

    code = "invoice_not_finalized"


class InvoicePaid(Conflict):
    """A paid invoice is voided only once credit notes cover its whole total."""

    code = "invoice_paid"


class CreditExceedsInvoice(ValidationFailed):
    """Credit notes may not credit more than the invoice total."""

    code = "credit_exceeds_invoice"
