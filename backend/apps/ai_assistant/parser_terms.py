"""Vocabulary of the workload parser: patterns, number words, region groups, model sizes.

Framework-free (no Django), like `parser.py` (an import-linter contract in pyproject.toml).
Every pattern is matched against the user's original text, so spans point into what they
wrote. `NUMBER` accepts "1,000", "1000" and "1.5".
"""

from __future__ import annotations

import re
from types import MappingProxyType

NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"

WORD_NUMBERS = MappingProxyType(
    {
        "a": 1.0,
        "an": 1.0,
        "one": 1.0,
        "two": 2.0,
        "three": 3.0,
        "four": 4.0,
        "five": 5.0,
        "six": 6.0,
        "seven": 7.0,
        "eight": 8.0,
        "nine": 9.0,
        "ten": 10.0,
        "twelve": 12.0,
        "a couple of": 2.0,
        "a few": 3.0,
    }
)
WORD_NUMBER = r"a\s+couple\s+of|a\s+few|an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve"

MULTIPLIERS = MappingProxyType(
    {
        "k": 1e3,
        "thousand": 1e3,
        "m": 1e6,
        "mm": 1e6,
        "million": 1e6,
        "b": 1e9,
        "bn": 1e9,
        "billion": 1e9,
    }
)

# A month is 730 hours (8,760 hours a year / 12), as cloud providers bill monthly prices.
HOURS_PER_UNIT = MappingProxyType(
    {
        "minute": 1 / 60,
        "min": 1 / 60,
        "hour": 1.0,
        "hr": 1.0,
        "h": 1.0,
        "day": 24.0,
        "week": 168.0,
        "month": 730.0,
        "mo": 730.0,
    }
)

# "32k context" means 32,768 tokens: model context windows are powers of two times 1,024. Other
# multiples of a thousand (100k, 200k) are read as thousands.
POWER_OF_TWO_KILO = frozenset({1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024})

WORKLOAD_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        (
            "fine_tuning",
            r"\bfine[\s-]?tun\w*|\bfinetun\w*|\bq?lora\b|\bsft\b|\binstruction[\s-]tun\w*",
        ),
        ("training", r"\b(?:pre-?)?train(?:ing)?\b"),
        (
            "image_generation",
            r"\b(?:generat\w*|render\w*|creat\w*|produc\w*)\s+(?:\S+\s+){0,3}?"
            r"(?:images?|pictures?|photos?|illustrations?|artwork)\b"
            r"|\bimage[\s-]gen(?:eration)?\b|\btext[\s-]to[\s-]image\b",
        ),
        ("embeddings", r"\bembed(?:ding)?s?\b|\bvectori[sz]\w*|\brerank\w*"),
        ("batch", r"\bbatch\b(?!\s+size)|\boffline\s+inference\b|\bbulk\b"),
        (
            "inference",
            r"\bserv(?:e|es|ing)\b|\binference\b|\bdeploy\w*|\bhost(?:ing)?\b|\bchat\s?bots?\b"
            r"|\bendpoints?\b",
        ),
    )
)

# Model families, longest spellings first. The value is how the family is named in answers.
MODEL_FAMILIES: tuple[tuple[str, str], ...] = (
    (r"code[\s-]?llama", "Code Llama"),
    (r"(?:meta[\s-]?)?llama", "Llama"),
    (r"mixtral", "Mixtral"),
    (r"mistral", "Mistral"),
    (r"codestral", "Codestral"),
    (r"qwq|qwen", "Qwen"),
    (r"gemma", "Gemma"),
    (r"phi", "Phi"),
    (r"deepseek", "DeepSeek"),
    (r"falcon", "Falcon"),
    (r"command[\s-]?r\+?", "Command R"),
    (r"dbrx", "DBRX"),
    (r"gpt[\s-]?oss", "gpt-oss"),
    (r"gpt[\s-]?j", "GPT-J"),
    (r"gpt[\s-]?neox", "GPT-NeoX"),
    (r"olmo", "OLMo"),
    (r"starcoder", "StarCoder"),
    (r"nemotron", "Nemotron"),
    (r"granite", "Granite"),
    (r"yi", "Yi"),
    (
        r"stable[\s-]?diffusion(?:[\s-]?xl)?|sdxl|sd[\s-]?(?:1\.5|2\.1|3(?:\.5)?)",
        "Stable Diffusion",
    ),
    (r"flux(?:\.1)?", "FLUX"),
    (r"whisper", "Whisper"),
    (r"bge", "BGE"),
    (r"e5", "E5"),
    (r"nomic[\s-]embed", "Nomic Embed"),
)
MODEL_FAMILY_RE = re.compile(
    r"(?:[\w.-]+/)?(?P<family>" + "|".join(f"(?:{p})" for p, _ in MODEL_FAMILIES) + ")",
    re.IGNORECASE,
)
DIFFUSION_FAMILIES = frozenset({"Stable Diffusion", "FLUX"})
EMBEDDING_FAMILIES = frozenset({"BGE", "E5", "Nomic Embed"})
# Words that may follow a family name inside one model name ("Llama 3.1 70B Instruct").
MODEL_TAIL_PART = re.compile(
    r"v?\d+(?:\.\d+)*[bm]?|\d+x\d+(?:\.\d+)?[bm]|a\d+(?:\.\d+)?b|r\d|instruct|chat|it|base|hf"
    r"|coder|code|mini|small|medium|large|nemo|xl|turbo|vision|distill|preview|plus|scout"
    r"|maverick|awq|gptq|gguf|exl2|fp8|fp16|bf16|int8|int4|[248]bit",
    re.IGNORECASE,
)
# Name parts that say how the weights are stored, not which model it is.
QUANTISATION_PARTS = frozenset(
    {"awq", "gptq", "gguf", "exl2", "fp8", "fp16", "bf16", "int8", "int4", "2bit", "4bit", "8bit"}
)
SIZE_ONLY_RE = re.compile(
    rf"(?<![\w.])(?P<number>{NUMBER})\s*(?P<unit>b|billion|m|million)(?![a-z])[\s-]*"
    r"(?:param(?:eter)?s?\b[\s-]*)?(?:(?:llm|model|network|transformer)s?\b)?",
    re.IGNORECASE,
)

PRECISION_RE = re.compile(
    r"(?<![a-z0-9])(?:"
    r"(?P<fp32>fp32|float32|full[\s-]precision|single[\s-]precision)"
    r"|(?P<bf16>bf16|bfloat16)"
    r"|(?P<fp16>fp16|float16|half[\s-]precision)"
    r"|(?P<fp8>fp8|float8|e4m3|e5m2)"
    r"|(?P<int8>int8|8[\s-]?bits?|w8a8|q8(?:_0)?)"
    r"|(?P<int4>int4|4[\s-]?bits?|w4a16|q4(?:_k_m|_k|_0)?|nf4)"
    r"|(?P<awq>awq)|(?P<gptq>gptq)"
    r")(?![a-z0-9])",
    re.IGNORECASE,
)
# The v1 `quality` a weight format corresponds to (math_core's quality levels).
QUALITY_BY_PRECISION = MappingProxyType(
    {
        "fp32": "high",
        "fp16": "high",
        "bf16": "high",
        "fp8": "medium",
        "int8": "medium",
        "int4": "low",
    }
)

GPU_RE = re.compile(
    r"(?<![a-z0-9])(?:nvidia\s+|amd\s+)?(?:geforce\s+|tesla\s+|instinct\s+)?(?P<gpu>"
    r"gh200|gb200|[hb]200|h100|b100|a100|a10g|a10|a30|a40|a16|l40s|l40|l4|t4|v100|p100"
    r"|rtx\s?pro\s?6000|quadro\s+rtx\s?\d{4}|rtx\s?a\d{4}|rtx\s?\d{4}(?:\s?ti)?(?:\s?ada)?"
    r"|mi\d{3}x?|gaudi\s?\d)"
    r"(?P<form>\s?(?:sxm\d?|pcie|nvl))?(?:\s?(?P<memory>\d{2,3})\s?gb)?(?:'?s)?(?![a-z0-9])",
    re.IGNORECASE,
)
NEGATION_BEFORE_RE = re.compile(
    r"(?:\b(?:no|not|without|except|excluding|exclude|avoid|never|nor)|other\s+than|but\s+not"
    r"|don'?t\s+(?:want|use|need))\b(?:\s+(?:any|the|use|using|on|with|a|an|of|those))*\s*$",
    re.IGNORECASE,
)
LIST_JOIN_RE = re.compile(r"^\s*(?:,|or|and|nor|/|,\s*or|,\s*and)\s*$", re.IGNORECASE)
CONSUMER_EXCLUSION_RE = re.compile(
    r"\b(?:no|not|without|avoid|exclud\w*|except|never)\s+(?:\w+\s+){0,2}?"
    r"(?:consumer|gaming|geforce|desktop)(?:[\s-]grade)?(?:\s+(?:cards?|gpus?|hardware))?"
    r"|\b(?:data[\s-]?cent(?:er|re)|enterprise|server)[\s-](?:grade\s+)?(?:cards?|gpus?)\s+only\b"
    r"|\bonly\s+(?:data[\s-]?cent(?:er|re)|enterprise|server)[\s-](?:grade\s+)?(?:cards?|gpus?)",
    re.IGNORECASE,
)
VENDOR_EXCLUSION_RE = re.compile(
    r"\b(?:no|not|without|avoid|exclud\w*)\s+(?P<vendor>amd|nvidia)\b"
    r"|\b(?P<only>nvidia|amd)\s+only\b|\bonly\s+(?P<only_before>nvidia|amd)\b",
    re.IGNORECASE,
)

SPOT_REFUSED_RE = re.compile(
    r"\b(?:no|not|avoid|without|never)\s+(?:on\s+)?(?:spot|interruptible|pre-?emptible)\b"
    r"|\bon[\s-]demand\s+only\b|\bonly\s+on[\s-]demand\b|\bnon[\s-]?interruptible\b"
    r"|\b(?:can(?:no|')?t|cannot|must\s+not|mustn'?t|shouldn'?t|should\s+not)\s+be\s+"
    r"(?:interrupted|pre-?empted)|\bno\s+interruptions?\b",
    re.IGNORECASE,
)
SPOT_ACCEPTED_RE = re.compile(
    r"\b(?:spot|interruptible|pre-?emptible)\b(?:\s+(?:instances?|pricing|capacity|gpus?|nodes?"
    r"|vms?|machines?))?\s*(?:is|are|would\s+be|=)?\s*(?:fine|ok(?:ay)?|acceptable|good|allowed"
    r"|welcome)"
    r"|\b(?:fine|ok(?:ay)?|happy)\s+with\s+(?:spot|interruptible|pre-?emptible)\b"
    r"|\b(?:can|could|may)\s+(?:use|be\s+on)\s+(?:spot|interruptible|pre-?emptible)\b"
    r"|\binterruptions?\s+(?:is|are)\s+(?:fine|ok(?:ay)?|acceptable)"
    r"|\b(?:on|use|using|prefer|cheapest)\s+spot\b",
    re.IGNORECASE,
)

# Region groups. Sources: EU members since 1 February 2020 (european-union.europa.eu, "EU
# countries"); EEA = EU + Iceland, Liechtenstein, Norway (EFTA); Nordic Council members.
# fmt: off
EU_COUNTRIES = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
)
# fmt: on
EEA_COUNTRIES = (*EU_COUNTRIES, "IS", "LI", "NO")
REGION_GROUPS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "EU": EU_COUNTRIES,
        "EEA": EEA_COUNTRIES,
        "Europe": (*EEA_COUNTRIES, "GB", "CH"),
        "Nordics": ("DK", "FI", "IS", "NO", "SE"),
        "North America": ("US", "CA", "MX"),
        "APAC": (
            "AU",
            "CN",
            "HK",
            "ID",
            "IN",
            "JP",
            "KR",
            "MY",
            "NZ",
            "PH",
            "SG",
            "TH",
            "TW",
            "VN",
        ),
        "LATAM": ("AR", "BR", "CL", "CO", "MX", "PE"),
    }
)
# Spellings of groups and of countries pycountry names differently. Acronyms only match in
# capitals ("us" is a pronoun); the rest match in any case.
GROUP_ACRONYMS = MappingProxyType(
    {
        "EU": "EU",
        "EEA": "EEA",
        "APAC": "APAC",
        "LATAM": "LATAM",
        "US": "US",
        "USA": "US",
        "U.S.": "US",
        "U.S.A.": "US",
        "UK": "GB",
        "U.K.": "GB",
    }
)
GROUP_WORDS = MappingProxyType(
    {
        "european union": "EU",
        "europe": "Europe",
        "european": "Europe",
        "nordics": "Nordics",
        "nordic countries": "Nordics",
        "scandinavia": "Nordics",
        "north america": "North America",
        "asia pacific": "APAC",
        "asia-pacific": "APAC",
        "asia": "APAC",
        "latin america": "LATAM",
        "south america": "LATAM",
        "united states": "US",
        "america": "US",
        "united kingdom": "GB",
        "britain": "GB",
        "great britain": "GB",
        "england": "GB",
        "holland": "NL",
        "czech republic": "CZ",
        "south korea": "KR",
        "korea": "KR",
        "russia": "RU",
        "vietnam": "VN",
        "taiwan": "TW",
        "iran": "IR",
        "turkey": "TR",
    }
)
# Cloud region names such as us-east-1, eu-west, ap-southeast-2: the prefix says where.
CLOUD_REGION_RE = re.compile(
    r"\b(?P<prefix>us|eu|ca|uk|ap|sa|me|af)[-_](?:north|south|east|west|central)"
    r"(?:east|west)?(?:[-_]?\d+)?\b",
    re.IGNORECASE,
)
CLOUD_REGION_PREFIXES = MappingProxyType(
    {"us": "US", "eu": "EU", "ca": "CA", "uk": "GB", "ap": "APAC", "sa": "BR", "me": "AE"}
    | {"af": "ZA"}
)
COUNTRY_CODE_RE = re.compile(r"\b(?:in|region|country|located\s+in)\s+(?P<code>[A-Z]{2})\b")

# --- the extractors' patterns (parser.py), in the order they claim text ---

BUDGET_RE = re.compile(
    r"(?:(?:under|below|less\s+than|no\s+more\s+than|not\s+more\s+than|at\s+most"
    r"|max(?:imum)?(?:\s+of)?|up\s+to|within|cheaper\s+than|budget(?:\s+(?:is|of))?:?|<=?)\s*)?"
    rf"(?:(?P<symbol>[$€£])\s?(?P<amount>{NUMBER})(?P<kilo>\s?k\b)?"
    rf"|(?P<amount_word>{NUMBER})(?P<kilo_word>\s?k)?\s*"
    r"(?P<currency_word>dollars?|usd|bucks|euros?|eur|pounds?|gbp)\b"
    rf"|(?P<code_first>usd|eur|gbp)\s?(?P<amount_code>{NUMBER}))"
    r"(?:\s*(?:/|per|an?|each|every)\s*(?P<per_gpu>gpu[\s/-]*(?:per\s+)?)?"
    r"(?P<period>hours?|hrs?|h|days?|weeks?|months?|mo)\b)?"
    r"(?:\s+(?P<total>total|in\s+total|overall|all[\s-]in|budget))?",
    re.IGNORECASE,
)

CURRENCIES = {"$": "USD", "€": "EUR", "£": "GBP", "dollar": "USD", "buck": "USD", "euro": "EUR"}

CURRENCIES |= {"pound": "GBP", "usd": "USD", "eur": "EUR", "gbp": "GBP"}

CONTEXT_RE = re.compile(
    rf"(?P<number>{NUMBER})\s*(?P<kilo>k\b|,000\b)?(?:\s*-?\s*tokens?)?\s*-?\s*(?:of\s+)?"
    r"(?:context|ctx|seq(?:uence)?\s+len(?:gth)?)(?:\s+(?:length|window|size))?"
    r"|(?:context(?:\s+(?:length|window|size))?|ctx|max[_\s-]model[_\s-]len"
    r"|seq(?:uence)?\s+len(?:gth)?)\s*(?:of|=|:|is|up\s+to)?\s*"
    rf"(?P<number2>{NUMBER})\s*(?P<kilo2>k\b)?(?:\s*tokens?)?",
    re.IGNORECASE,
)

RATE_RE = re.compile(
    rf"(?P<number>{NUMBER})\s*(?P<mult>k|m)?\s*"
    r"(?P<what>req(?:uest)?s?|quer(?:y|ies)|calls|prompts|tokens?|toks?)\s*(?:/|per|an?|every)\s*"
    r"(?P<per>s|secs?|seconds?|min|mins|minutes?|hours?|hr|h|days?)\b"
    rf"|(?P<number2>{NUMBER})\s*(?P<mult2>k)?\s*(?P<unit2>qps|rps|rpm|tps|tok/s|t/s)(?![a-z])",
    re.IGNORECASE,
)

SECONDS = {"s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "hour": 3600.0}

SECONDS |= {"hr": 3600.0, "h": 3600.0, "day": 86400.0}

CONCURRENCY_RE = re.compile(
    rf"(?P<number>{NUMBER})\s*(?P<mult>k)?\s*(?:concurrent|simultaneous|parallel|active)\s+"
    r"(?:users?|requests?|sessions?|streams?|connections?|clients?|conversations?|chats?"
    r"|sequences?)"
    rf"|(?:concurrency|max[_\s-]num[_\s-]seqs)\s*(?:of|=|:|is)?\s*(?P<number2>{NUMBER})"
    rf"|(?P<number3>{NUMBER})\s*(?P<mult3>k)?\s*(?:users?|people|clients?|requests?)\s+"
    r"(?:at\s+(?:the\s+same|a|one)\s+time|at\s+once|concurrently|simultaneously|in\s+parallel)",
    re.IGNORECASE,
)

QUANTITY_RE = re.compile(
    rf"(?P<number>{NUMBER})\s*(?P<mult>k|mm|m|thousand|million|billion|bn|b)?\s*"
    r"(?P<unit>images?|pictures?|photos?|renders?|tokens?|documents?|docs|pages|videos?|clips?"
    r"|requests?|queries|prompts|embeddings|samples|examples|sentences|records|rows|files"
    r"|(?:minutes|mins|hours|hrs)\s+of\s+(?:video|audio|footage|speech)"
    r"|[gt]b\s+of\s+(?:data|text|logs|documents))\b",
    re.IGNORECASE,
)

QUANTITY_UNITS = {
    "image": "images",
    "picture": "images",
    "photo": "images",
    "render": "images",
    "token": "tokens",
    "document": "documents",
    "doc": "documents",
    "page": "documents",
    "file": "documents",
    "video": "videos",
    "clip": "videos",
    "request": "requests",
    "querie": "requests",
    "prompt": "requests",
    "embedding": "embeddings",
    "sample": "samples",
    "example": "samples",
    "sentence": "records",
    "record": "records",
    "row": "records",
}

DURATION_RE = re.compile(
    r"(?<![/\w$€£])(?:(?:for|over|during|within|in|lasting|about|around|roughly)\s+"
    r"(?:(?:the\s+)?(?:next|whole|entire)\s+)?)?"
    rf"(?:(?P<number>{NUMBER})|(?P<word>{WORD_NUMBER}))\s*-?\s*"
    r"(?P<unit>minutes?|mins?|hours?|hrs?|h|days?|weeks?|months?)\b",
    re.IGNORECASE,
)

VRAM_RE = re.compile(
    rf"(?P<number>{NUMBER})\s*(?P<unit>gb|gib|tb)\s*(?:of\s+)?"
    r"(?:vram|gpu\s+memory|video\s+memory|hbm|memory)\b",
    re.IGNORECASE,
)

TOKEN_RE = re.compile(r"[A-Za-z0-9][\w.:+/-]*")
