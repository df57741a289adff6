"""Money: `Decimal` amounts with an ISO 4217 currency, rounded once, half-up.

`quantize(amount, currency)` is the one rounding helper in liftmeter. It rounds to the
currency's minor unit with ROUND_HALF_UP (0.005 USD → 0.01 USD), the convention of
invoices and tax authorities, and is applied once per invoice line; totals are sums of
rounded lines. Floats never hold money.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from liftmeter.errors import ValidationFailed

# ISO 4217 minor units of the currencies liftmeter bills in.
MINOR_UNITS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CHF": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "BRL": 2,
    "MXN": 2,
    "INR": 2,
    "CNY": 2,
    "SGD": 2,
    "HKD": 2,
    "ZAR": 2,
    "ILS": 2,
    "TRY": 2,
    "JPY": 0,
    "KRW": 0,
    "CLP": 0,
    "ISK": 0,
    "VND": 0,
    "KWD": 3,
    "BHD": 3,
    "JOD": 3,
    "OMR": 3,
    "TND": 3,
}

ROUNDING = ROUND_HALF_UP


def check_currency(currency: str) -> str:
    """Return `currency` if liftmeter knows its minor unit, else raise `ValidationFailed`."""
    if currency not in MINOR_UNITS:
        raise ValidationFailed(f"unknown currency {currency!r}", param="currency")
    return currency


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency`, e.g. Decimal('0.01') for USD, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-MINOR_UNITS[check_currency(currency)])


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round `amount` half-up to the minor unit of `currency`."""
    return amount.quantize(minor_unit(currency), rounding=ROUNDING)


def parse_amount(value: str | int | Decimal, *, param: str = "amount") -> Decimal:
    """Parse a decimal string exactly; reject floats, NaN and infinities."""
    if isinstance(value, float | bool):
        raise ValidationFailed("must be a decimal string, not a float", param=param)
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError):
        raise ValidationFailed(f"not a decimal number: {value!r}", param=param) from None
    if not amount.is_finite():
        raise ValidationFailed("must be a finite number", param=param)
    return amount
