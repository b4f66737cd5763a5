"""Value helpers of every adapter's record parser: typed reads that raise RecordError.

A record that fails any of them is skipped and counted by `parse_records`, never stored.
Framework-free.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

from apps.providers.adapters.contract import (
    MAX_RECORDED_ERRORS,
    PRICE_QUANTUM,
    AdapterError,
    FetchResult,
    ProviderOffer,
    RecordError,
    SkippedElement,
    count_reason,
)


def require(record: Mapping[str, Any], key: str) -> Any:
    """``record[key]``, with a RecordError naming the field when it is absent or null."""
    if not isinstance(record, Mapping):
        raise RecordError(f"expected an object, got {type(record).__name__}")
    value = record.get(key)
    if value is None:
        raise RecordError(f"missing field {key!r}")
    return value


def to_decimal(value: Any, label: str = "price") -> Decimal:
    """A money amount from a JSON number or numeric string, rounded to 4 places."""
    if isinstance(value, bool) or value is None:
        raise RecordError(f"{label} is not a number: {value!r}")
    try:
        # str() first: Decimal(0.1) would carry the binary float's full expansion.
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise RecordError(f"{label} is not a number: {value!r}") from exc
    if not amount.is_finite():
        raise RecordError(f"{label} is not finite: {value!r}")
    return amount.quantize(PRICE_QUANTUM, ROUND_HALF_UP)


def to_float(value: Any, label: str) -> float:
    """A finite float from a JSON number or numeric string."""
    if isinstance(value, bool) or value is None:
        raise RecordError(f"{label} is not a number: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"{label} is not a number: {value!r}") from exc
    if not math.isfinite(number):
        raise RecordError(f"{label} is not finite: {value!r}")
    return number


def to_optional_float(value: Any, label: str) -> float | None:
    """`to_float`, or None for a missing value."""
    return None if value is None else to_float(value, label)


def to_int(value: Any, label: str) -> int:
    """An integer from a JSON number that has no fractional part."""
    number = to_float(value, label)
    if not number.is_integer():
        raise RecordError(f"{label} is not a whole number: {value!r}")
    return int(number)


def round_gb(value: float, places: int = 2) -> float:
    """GB figures are rounded so float noise from unit conversions does not reach the DB."""
    return round(value, places)


def cents_to_dollars(value: Any, label: str) -> Decimal:
    """A price in cents as dollars (Decimal); RecordError naming `label` when unreadable."""
    return to_decimal(to_decimal(value, label) / 100, label)


def parse_records(
    records: Iterable[Any],
    parse: Callable[[Any], Iterable[ProviderOffer | SkippedElement]],
    *,
    record_id: Callable[[Any], str] | None = None,
) -> FetchResult:
    """Apply ``parse`` to each raw record; skip and count the ones that fail.

    ``parse`` may return several offers for one record (one per region, say) and
    ``SkippedElement``s for the elements of its lists that are not offers; those are counted
    in ``elements_skipped``. A failing record counts in ``skipped``, and both count in
    ``skip_reasons`` by reason. A record whose parse fails half-way contributes no offer. Only
    the exceptions that mean "this record is malformed" are caught; anything else is a bug and
    propagates.
    """
    offers: list[ProviderOffer] = []
    errors: list[str] = []
    reasons: Counter[str] = Counter()
    skipped = elements = 0
    for record in records:
        try:
            parsed = list(parse(record))
        except (RecordError, KeyError, TypeError, ValueError, AttributeError) as exc:
            skipped += 1
            reason = _describe(exc)
            count_reason(reasons, reason)
            if len(errors) < MAX_RECORDED_ERRORS:
                errors.append(f"{_safe_record_id(record, record_id)}: {reason}")
            continue
        for item in parsed:
            if isinstance(item, SkippedElement):
                elements += 1
                count_reason(reasons, item.reason)
            else:
                offers.append(item)
    return FetchResult(
        offers=tuple(offers),
        skipped=skipped,
        errors=tuple(errors),
        elements_skipped=elements,
        skip_reasons=dict(reasons),
    )


def list_elements(
    values: Any, label: str, *, valid: Callable[[Any], bool] | None = None
) -> Iterator[Any | SkippedElement]:
    """The usable elements of a list inside a record, a SkippedElement for each other one.

    Usable: not None, not a blank string, not an empty object, and `valid(element)` when
    given (e.g. "has a non-empty name"). Strings are stripped. A missing or non-list `values`
    is a RecordError (the record itself is malformed).
    """
    if not isinstance(values, list | tuple):
        raise RecordError(f"{label} should be a list, got {type(values).__name__}")
    for value in values:
        element = value.strip() if isinstance(value, str) else value
        if element is None or element == "" or element == {}:
            yield SkippedElement(f"empty element in {label}")
        elif valid is not None and not valid(element):
            yield SkippedElement(f"malformed element in {label}")
        else:
            yield element


def map_elements(
    values: Any,
    label: str,
    build: Callable[[Any], ProviderOffer],
    *,
    valid: Callable[[Any], bool] | None = None,
) -> Iterator[ProviderOffer | SkippedElement]:
    """`build(element)` for each usable element of a list inside a record (`list_elements`).

    Every unusable element passes through as its SkippedElement, so a parser can
    ``yield from map_elements(record["locations"], "locations", offer_at)``.
    """
    for element in list_elements(values, label, valid=valid):
        yield element if isinstance(element, SkippedElement) else build(element)


def _safe_record_id(record: Any, record_id: Callable[[Any], str] | None) -> str:
    try:
        if record_id is not None:
            return str(record_id(record))
        if isinstance(record, Mapping):
            for key in ("id", "name", "instance_type"):
                if key in record:
                    return str(record[key])
    except (KeyError, TypeError, ValueError, AttributeError):
        pass
    return "record"


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}" if exc.args else "missing field"
    return str(exc) or type(exc).__name__


_INTERCONNECT_PATTERNS: Final = (
    (re.compile(r"\bSXM\s?(\d)\b", re.IGNORECASE), "SXM{0}"),
    (re.compile(r"\bSXM\b", re.IGNORECASE), "SXM"),
    (re.compile(r"\bNVL\b", re.IGNORECASE), "NVL"),
    (re.compile(r"\bNVLINK\b", re.IGNORECASE), "NVLink"),
    (re.compile(r"\bPCI-?E\b", re.IGNORECASE), "PCIe"),
)


def interconnect_from_name(text: str | None) -> str | None:
    """The form factor a provider spells inside a GPU or instance name, if any.

    Only what the text states is returned ("H100 SXM5" -> "SXM5", "A100 PCIE" -> "PCIe",
    "H100 NVL" -> "NVL"); a name without such a token yields None, never a guess.
    """
    if not text:
        return None
    for pattern, template in _INTERCONNECT_PATTERNS:
        match = pattern.search(text)
        if match:
            return template.format(*match.groups())
    return None


def check_duration(duration_hours: float) -> None:
    """AdapterError(kind="client") unless a booking duration is a positive finite hour count."""
    if not math.isfinite(duration_hours) or duration_hours <= 0:
        raise AdapterError(
            f"duration_hours must be a positive number, got {duration_hours}",
            retryable=False,
            kind="client",
        )
