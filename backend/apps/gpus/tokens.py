"""The word grammar of GPU names: vocabulary and the reading of words around a model name.

Framework-free. `apps.gpus.catalogue` tokenises a provider string, finds the longest alias run
and hands the words before and after it to `parse_leftovers` (resolution rule 3 of the
catalogue's docstring).
"""

from __future__ import annotations

import re

VRAM_TOLERANCE = 0.07
"""Relative tolerance between a reported and a catalogue memory size.

Wide enough for MiB/1000 versus MiB/1024 conversions (81920 MiB -> 81.9 or 80.0) and for
usable-versus-physical memory (B200: 180 vs 192); narrow enough to keep 40 vs 48 GB apart.
"""

# Words that never change which GPU is meant.
NOISE_WORDS = frozenset(
    {
        "nvidia",
        "intel",
        "habana",
        "geforce",
        "tesla",
        "amd",
        "instinct",
        "radeon",
        "gpu",
        "gpus",
        "generation",
        "tensor",
        "core",
        "accelerator",
        "superchip",
        "vram",
    }
)
MEMORY_UNITS = frozenset({"gb", "g", "gib", "gig"})
MEMORY_TECH = frozenset({"hbm", "gddr"})
# Token -> form-factor class. Generation numbers (SXM2/4/5) are implied by the model, so a
# provider typo such as "A100 SXM5" is not treated as a different product.
FORM_FACTOR_WORDS = {
    "sxm": "sxm",
    "nvlink": "sxm",
    "hgx": "sxm",
    "pcie": "pcie",
    "nvl": "nvl",
    "oam": "oam",
}
STRUCTURAL_WORDS = frozenset({"x", "pci", "e", "gen"})

TOKEN_RE = re.compile(r"\d+(?:\.\d+)?|[a-z]+")
# Trademark marks in vendor names ("Intel(R) Data Center GPU Max 1550", "Radeon(TM)").
TRADEMARK_RE = re.compile(r"\((?:r|tm|c)\)|[\u00ae\u2122]", re.IGNORECASE)
# DataCrunch/Verda instance types: 1H100.80S.30V, 8A100.40S.176V, 1V100.6V, 1RTX6000ADA.10V
VERDA_RE = re.compile(
    r"^(?P<count>\d+)(?P<gpu>[A-Za-z][A-Za-z0-9]*?)\.(?:(?P<mem>\d+)(?P<sxm>S)?\.)?\d+V$"
)


def is_number(token: str) -> bool:
    """Whether a token (from TOKEN_RE) is numeric."""
    return token[0].isdigit()


def parse_leftovers(words: list[str]) -> tuple[set[str], list[float], set[int]] | str:
    """Form factors, memory sizes and GPU counts stated outside the matched run (rule 3).

    Returns the first word that means something we do not model, as a string.
    """
    form_factors: set[str] = set()
    memory: list[float] = []
    counts: set[int] = set()
    i = 0
    while i < len(words):
        word = words[i]
        following = words[i + 1] if i + 1 < len(words) else None
        if is_number(word) and following == "x":
            counts.add(int(float(word)))  # GPU count: "8x", "gpu_1x"
            i += 2
        elif word == "x" and following is not None and is_number(following):
            counts.add(int(float(following)))  # GPU count written "x8"
            i += 2
        elif is_number(word) and following in MEMORY_UNITS:
            memory.append(float(word))
            i += 2
        elif word in MEMORY_TECH:
            i += 1  # HBM3, HBM2e, GDDR6X: the digits and suffix are swallowed below
            if i < len(words) and is_number(words[i]):
                i += 1
            if i < len(words) and words[i] in {"e", "x"}:
                i += 1
        elif word == "pci" and following == "e":
            form_factors.add("pcie")
            i += 2
        elif word in FORM_FACTOR_WORDS:
            form_factors.add(FORM_FACTOR_WORDS[word])
            i += 1
            # Swallow a generation number (SXM4, PCIe 4.0) unless it is a memory size
            # ("pcie-24gb").
            is_generation = (
                i < len(words)
                and is_number(words[i])
                and (i + 1 >= len(words) or words[i + 1] not in MEMORY_UNITS)
            )
            if word in {"sxm", "pcie"} and is_generation:
                i += 1
        elif word == "gen" and following is not None and is_number(following):
            i += 2  # "PCIe Gen4"
        else:
            return word
    return form_factors, memory, counts


def within_tolerance(reported: float, size: float) -> bool:
    """Whether a reported memory size (GB) is within VRAM_TOLERANCE of a catalogue size (GB)."""
    return abs(reported - size) <= VRAM_TOLERANCE * size
