"""Deterministic extraction of a GPU workload from one message, every field with its source span.

Framework-free (no Django): `parse_workload(text)` returns a `ParsedWorkload` whose fields are
`Found(value, span)` or None. Spans index the original text (`text[start:end] == span.text`),
so a client can highlight what was understood. Nothing is guessed from outside the text: an
absent field is None and `missing` names the ones an estimate needs.

Fields and units: workload type (inference, training, fine_tuning, image_generation,
embeddings, batch); model (name, family, total and active parameters in billions); precision
(fp32, fp16, bf16, fp8, int8, int4, plus AWQ/GPTQ as the method); context length (tokens);
throughput (requests or tokens per second); concurrency (simultaneous sequences); quantity
(images, tokens, ...); duration (hours); region (ISO 3166 country codes, via pycountry for
names); budget (amount, currency, per hour/day/week/month or total, per GPU or per instance);
GPU preferences and exclusions; spot tolerance. The patterns live in `parser_terms.py`.

Each extractor claims the spans it used, so "32k tokens of context" is not also a quantity of
tokens and "$10 an hour" is not also a duration of one hour.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import TypeVar

import pycountry

from algorithms.model_registry import registry_entry_for
from apps.ai_assistant import parser_terms as terms
from apps.ai_assistant.parser_types import (
    Amount,
    Budget,
    Found,
    GpuMention,
    ModelMention,
    ParsedWorkload,
    PrecisionMention,
    Rate,
    RegionMention,
    Span,
)

T = TypeVar("T")
NUMBER = terms.NUMBER
MAX_NEGATION_LOOKBACK = 40  # characters before a GPU name searched for "no", "without", ...


class _Claims:
    """Spans already explained by an earlier extractor."""

    def __init__(self) -> None:
        self._spans: list[tuple[int, int]] = []

    def is_free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self._spans)

    def claim(self, start: int, end: int) -> None:
        self._spans.append((start, end))


def _matches(pattern: re.Pattern[str], text: str, claims: _Claims) -> Iterator[re.Match[str]]:
    for match in pattern.finditer(text):
        start, end = _trimmed(text, match.start(), match.end())
        if end > start and claims.is_free(start, end):
            yield match


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _span(text: str, start: int, end: int) -> Span:
    start, end = _trimmed(text, start, end)
    return Span(start, end, text[start:end])


def _found(text: str, match: re.Match[str], value: T, claims: _Claims) -> Found[T]:
    span = _span(text, match.start(), match.end())
    claims.claim(span.start, span.end)
    return Found(value, span)


def _number(raw: str) -> float:
    return float(raw.replace(",", ""))


def _scaled(raw: str, multiplier: str | None) -> float:
    key = (multiplier or "").strip().lower().replace(",000", "k")
    return _number(raw) * terms.MULTIPLIERS.get(key, 1.0)


def _group(match: re.Match[str], *names: str) -> str | None:
    for name in names:
        value = match.group(name)
        if value is not None:
            return value
    return None


# --- extractors, in the order they claim text ---------------------------------------------------


def _budget(text: str, claims: _Claims) -> Found[Budget] | None:
    for match in _matches(terms.BUDGET_RE, text, claims):
        raw = _group(match, "amount", "amount_word", "amount_code")
        marker = (_group(match, "symbol", "currency_word", "code_first") or "$").lower()
        currency = terms.CURRENCIES.get(marker.rstrip("s"), terms.CURRENCIES.get(marker, "USD"))
        kilo = _group(match, "kilo", "kilo_word")
        amount = _number(raw or "0") * (1000.0 if kilo else 1.0)
        period = (match["period"] or "").lower().rstrip("s")
        period = {"hr": "hour", "h": "hour", "mo": "month"}.get(period, period) or "total"
        return _found(text, match, Budget(amount, currency, period, bool(match["per_gpu"])), claims)
    return None


def _context_length(text: str, claims: _Claims) -> Found[int] | None:
    for match in _matches(terms.CONTEXT_RE, text, claims):
        number = _number(_group(match, "number", "number2") or "0")
        if _group(match, "kilo", "kilo2"):
            is_binary = number in terms.POWER_OF_TWO_KILO
            number *= 1024 if is_binary else 1000
        return _found(text, match, int(number), claims)
    return None


def _throughput(text: str, claims: _Claims) -> Found[Rate] | None:
    for match in _matches(terms.RATE_RE, text, claims):
        if match["number"] is not None:
            value = _scaled(match["number"], match["mult"])
            per = match["per"].lower()
            per = per if per in terms.SECONDS else per.rstrip("s")
            seconds = terms.SECONDS.get(per, 1.0)
            is_tokens = match["what"].lower().startswith("tok")
        else:
            value = _scaled(match["number2"], match["mult2"])
            unit = match["unit2"].lower()
            seconds = 60.0 if unit == "rpm" else 1.0
            is_tokens = unit in ("tps", "tok/s", "t/s")
        unit_name = "tokens_per_second" if is_tokens else "requests_per_second"
        return _found(text, match, Rate(round(value / seconds, 6), unit_name), claims)
    return None


def _concurrency(text: str, claims: _Claims) -> Found[int] | None:
    for match in _matches(terms.CONCURRENCY_RE, text, claims):
        raw = _group(match, "number", "number2", "number3") or "0"
        value = _scaled(raw, _group(match, "mult", "mult3"))
        return _found(text, match, int(value), claims)
    return None


def _gpu_mention(match: re.Match[str]) -> GpuMention:
    base = re.sub(r"\s+", " ", match["gpu"]).upper()
    base = re.sub(r"^RTX ?(A?\d{4})", r"RTX \1", base)
    base = re.sub(r" ?TI$", " Ti", re.sub(r" ?ADA$", " Ada", base))
    base = re.sub(r"^QUADRO RTX ?", "Quadro RTX ", re.sub(r"^GAUDI ?", "Gaudi ", base))
    form = (match["form"] or "").strip().upper().replace("PCIE", "PCIe")
    memory = int(match["memory"]) if match["memory"] else None
    name = " ".join(part for part in (base, form, f"{memory}GB" if memory else "") if part)
    return GpuMention(name=name, family=base, memory_gb=memory)


def _gpus(
    text: str, claims: _Claims
) -> tuple[tuple[Found[GpuMention], ...], tuple[Found[GpuMention], ...]]:
    preferred: list[Found[GpuMention]] = []
    excluded: list[Found[GpuMention]] = []
    previous_end, previous_excluded = -1, False
    for match in _matches(terms.GPU_RE, text, claims):
        before = text[max(0, match.start() - MAX_NEGATION_LOOKBACK) : match.start()]
        before = re.split(r"[.;!?]|\bbut\b", before)[-1]
        joined = previous_end >= 0 and terms.LIST_JOIN_RE.match(text[previous_end : match.start()])
        is_excluded = bool(terms.NEGATION_BEFORE_RE.search(before)) or bool(
            joined and previous_excluded
        )
        found = _found(text, match, _gpu_mention(match), claims)
        (excluded if is_excluded else preferred).append(found)
        previous_end, previous_excluded = match.end(), is_excluded
    for match in _matches(terms.CONSUMER_EXCLUSION_RE, text, claims):
        excluded.append(_found(text, match, GpuMention("consumer", "consumer"), claims))
    for match in _matches(terms.VENDOR_EXCLUSION_RE, text, claims):
        if match["vendor"]:
            vendor = match["vendor"].upper()
        else:
            kept = (_group(match, "only", "only_before") or "").upper()
            vendor = "AMD" if kept == "NVIDIA" else "NVIDIA"
        name = "AMD" if vendor == "AMD" else "NVIDIA"
        excluded.append(_found(text, match, GpuMention(name, name), claims))
    return tuple(preferred), tuple(sorted(excluded, key=lambda item: item.span.start))


def _quantity(text: str, claims: _Claims) -> Found[Amount] | None:
    for match in _matches(terms.QUANTITY_RE, text, claims):
        value = _scaled(match["number"], match["mult"])
        unit_text = re.sub(r"\s+", " ", match["unit"].lower())
        if " of " in unit_text:
            measure, _, what = unit_text.partition(" of ")
            if measure in ("gb", "tb"):
                value *= 1000.0 if measure == "tb" else 1.0
                unit = "gb_of_data"
            elif what in ("video", "footage"):
                value *= 60.0 if measure.startswith("h") else 1.0
                unit = "minutes_of_video"
            else:
                value /= 1.0 if measure.startswith("h") else 60.0
                unit = "hours_of_audio"
        else:
            unit = terms.QUANTITY_UNITS.get(unit_text.rstrip("s"), unit_text)
        return _found(text, match, Amount(value, unit), claims)
    return None


def _duration(text: str, claims: _Claims) -> Found[float] | None:
    for match in _matches(terms.DURATION_RE, text, claims):
        preceding = text[max(0, match.start() - 4) : match.start()].lower()
        if preceding.endswith(("per ", "/")):
            continue
        if match["number"] is not None:
            count = _number(match["number"])
        else:
            count = terms.WORD_NUMBERS[re.sub(r"\s+", " ", match["word"].lower())]
        unit = match["unit"].lower()
        unit = unit if unit in terms.HOURS_PER_UNIT else unit.rstrip("s")
        hours = count * terms.HOURS_PER_UNIT[unit]
        return _found(text, match, round(hours, 6), claims)
    return None


def _vram(text: str, claims: _Claims) -> Found[float] | None:
    for match in _matches(terms.VRAM_RE, text, claims):
        value = _number(match["number"]) * (1000.0 if match["unit"].lower() == "tb" else 1.0)
        return _found(text, match, value, claims)
    return None


def _registry_sizes(name: str) -> tuple[float, float | None] | None:
    """(total, active: MoE only) billions of `registry_entry_for(name)`, or None."""
    known = registry_entry_for(name)
    if known is None:
        return None
    active = known.active_params_billion if known.is_moe else None
    return known.params_billion, active


def _model_size(name: str) -> tuple[float | None, float | None]:
    """(total, active) billions from the size parts of a model name, as the user wrote them.

    A mixture of experts ("8x22b") and a name without a size ("DeepSeek-V3") take the model
    registry's figures when it knows the model; an unknown mixture totals experts x size, an
    upper bound (attention layers are shared), with its active count unknown.
    """
    parts = [part for part in re.split(r"[\s_:/-]+", name.lower()) if part]
    total = active = None
    is_moe = False
    for part in parts:
        moe = re.fullmatch(r"(\d+)x(\d+(?:\.\d+)?)([bm])", part)
        dense = re.fullmatch(r"(\d+(?:\.\d+)?)([bm])", part)
        activated = re.fullmatch(r"a(\d+(?:\.\d+)?)b", part)
        if moe:
            is_moe = True
            total = int(moe[1]) * float(moe[2]) / (1 if moe[3] == "b" else 1000)
        elif dense and total is None:
            total = float(dense[1]) / (1 if dense[2] == "b" else 1000)
        elif activated:
            active = float(activated[1])
    if is_moe or total is None:
        known = _registry_sizes(name)
        if known is not None:
            return known
    return total, active


def _model(text: str, claims: _Claims) -> Found[ModelMention] | None:
    for token in terms.TOKEN_RE.finditer(text):
        family_match = terms.MODEL_FAMILY_RE.match(text, token.start())
        if family_match is None:
            continue
        end = family_match.end()
        if end < len(text) and text[end].isalpha():
            continue  # "phil", "yield", "fluxes": a family name must end where the word does
        end = _extend_model_name(text, max(end, token.end()))
        start = token.start()
        end = start + len(text[start:end].rstrip(".,;:!?"))
        if not claims.is_free(start, end):
            continue
        family = next(
            display
            for pattern, display in terms.MODEL_FAMILIES
            if re.fullmatch(pattern, family_match["family"], re.IGNORECASE)
        )
        name = _clean_model_name(text[start:end])
        total, active = _model_size(name)
        span = _span(text, start, end)
        claims.claim(span.start, span.end)
        return Found(ModelMention(name, family, total, active), span)
    for match in _matches(terms.SIZE_ONLY_RE, text, claims):
        if not (re.search(r"param|llm|model|network|transformer", match[0], re.IGNORECASE)):
            continue
        billions = _number(match["number"])
        billions /= 1000.0 if match["unit"].lower() in ("m", "million") else 1.0
        return _found(text, match, ModelMention(None, None, billions), claims)
    return None


def _extend_model_name(text: str, end: int) -> int:
    """Extend a model name over following words that are versions, sizes or variants."""
    while True:
        following = re.match(r"[\s_-]+([\w.+]+)", text[end:])
        if following is None:
            return end
        word = following[1].rstrip(".")
        parts = [part for part in re.split(r"[-_]", word) if part]
        if not parts or not all(terms.MODEL_TAIL_PART.fullmatch(part) for part in parts):
            return end
        end += following.start(1) + len(word)


def _clean_model_name(raw: str) -> str:
    base = raw.rsplit("/", 1)[-1]
    parts = re.split(r"([\s_-]+)", base)
    kept: list[str] = []
    for part in parts:
        if part.lower().replace("-", "") in terms.QUANTISATION_PARTS:
            if kept and re.fullmatch(r"[\s_-]+", kept[-1]):
                kept.pop()
            continue
        kept.append(part)
    return "".join(kept).strip(" -_")


def _precision(text: str) -> Found[PrecisionMention] | None:
    weight_format: re.Match[str] | None = None
    method: re.Match[str] | None = None
    for match in terms.PRECISION_RE.finditer(text):
        if match.lastgroup in ("awq", "gptq"):
            method = method or match
        else:
            weight_format = weight_format or match
    evidence = weight_format or method
    if evidence is None:
        return None
    kind = weight_format.lastgroup if weight_format is not None else "int4"
    mention = PrecisionMention(str(kind), method.lastgroup if method is not None else None)
    return Found(mention, _span(text, evidence.start(), evidence.end()))


@cache
def _country_names() -> tuple[re.Pattern[str], dict[str, str]]:
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "common_name"):
            name = getattr(country, attribute, None)
            if name and "," not in name and "(" not in name:
                names[name.lower()] = country.alpha_2
    names.update(terms.GROUP_WORDS)
    spellings = sorted(names, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(s) for s in spellings) + r")\b", re.I)
    return pattern, names


def _region_of(code: str, name: str, kind: str) -> RegionMention:
    if code in terms.REGION_GROUPS:
        group_kind = kind if kind == "cloud_region" else "group"
        return RegionMention(name, group_kind, terms.REGION_GROUPS[code])
    return RegionMention(name, kind, (code,))


def _region(text: str, claims: _Claims) -> Found[RegionMention] | None:
    candidates: list[tuple[int, int, RegionMention]] = []
    for match in terms.CLOUD_REGION_RE.finditer(text):
        code = terms.CLOUD_REGION_PREFIXES[match["prefix"].lower()]
        candidates.append((match.start(), match.end(), _region_of(code, match[0], "cloud_region")))
    for acronym, code in terms.GROUP_ACRONYMS.items():
        for match in re.finditer(rf"(?<![\w.-]){re.escape(acronym)}(?![\w-])", text):
            candidates.append((match.start(), match.end(), _region_of(code, code, "country")))
    pattern, names = _country_names()
    for match in pattern.finditer(text):
        code = names[match[0].lower()]
        canonical = code if code in terms.REGION_GROUPS else _country_name(code)
        candidates.append((match.start(), match.end(), _region_of(code, canonical, "country")))
    for match in terms.COUNTRY_CODE_RE.finditer(text):
        if pycountry.countries.get(alpha_2=match["code"]) is not None:
            code = match["code"]
            candidates.append(
                (match.start("code"), match.end(), _region_of(code, _country_name(code), "country"))
            )
    for start, end, region in sorted(candidates, key=lambda item: (item[0], -item[1])):
        if claims.is_free(start, end):
            span = _span(text, start, end)
            claims.claim(span.start, span.end)
            return Found(region, span)
    return None


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def _spot(text: str) -> Found[bool] | None:
    for pattern, accepted in ((terms.SPOT_REFUSED_RE, False), (terms.SPOT_ACCEPTED_RE, True)):
        match = pattern.search(text)
        if match is not None:
            return Found(accepted, _span(text, match.start(), match.end()))
    return None


def _workload_type(
    text: str, model: Found[ModelMention] | None, quantity: Found[Amount] | None
) -> Found[str] | None:
    for name, pattern in terms.WORKLOAD_PATTERNS:
        match = pattern.search(text)
        if match is not None:
            return Found(name, _span(text, match.start(), match.end()))
    if model is not None:
        family = model.value.family
        if family in terms.DIFFUSION_FAMILIES:
            return Found("image_generation", model.span)
        if family in terms.EMBEDDING_FAMILIES:
            return Found("embeddings", model.span)
        return Found("inference", model.span)
    if quantity is not None and quantity.value.unit == "images":
        return Found("image_generation", quantity.span)
    return None


def parse_workload(text: str) -> ParsedWorkload:
    """Extract every workload field of ``text``; deterministic and free of I/O."""
    claims = _Claims()
    budget = _budget(text, claims)
    context_length = _context_length(text, claims)
    throughput = _throughput(text, claims)
    concurrency = _concurrency(text, claims)
    preferred, excluded = _gpus(text, claims)
    quantity = _quantity(text, claims)
    vram_gb = _vram(text, claims)
    duration = _duration(text, claims)
    model = _model(text, claims)
    region = _region(text, claims)
    return ParsedWorkload(
        text=text,
        workload_type=_workload_type(text, model, quantity),
        model=model,
        precision=_precision(text),
        context_length=context_length,
        throughput=throughput,
        concurrency=concurrency,
        quantity=quantity,
        duration_hours=duration,
        region=region,
        budget=budget,
        vram_gb=vram_gb,
        gpu_preferences=preferred,
        gpu_exclusions=excluded,
        spot=_spot(text),
    )


__all__ = [
    "Amount",
    "Budget",
    "Found",
    "GpuMention",
    "ModelMention",
    "ParsedWorkload",
    "PrecisionMention",
    "Rate",
    "RegionMention",
    "Span",
    "parse_workload",
]
