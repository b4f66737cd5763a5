"""The working every serving, training and image-generation answer carries.

A result lists its steps in order: what came in, what was looked up, what was measured by
someone else and what the model estimated, each with its unit. A reader can redo the sum
from the list alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

StepKind = Literal["input", "assumed", "spec", "measured", "estimate", "derived"]
"""Where a figure comes from.

* ``input``: given by the caller.
* ``assumed``: a default the caller did not give (a stated choice, e.g. fp16 for v1's
  ``"standard"`` quality).
* ``spec``: a published fact (a model's config.json, a GPU datasheet).
* ``measured``: a published measurement (a benchmark result with its source).
* ``estimate``: a model constant or a figure the model estimated (calibrated or not).
* ``derived``: arithmetic on the figures above.
"""


@dataclass(frozen=True, slots=True)
class Step:
    """One figure of the working.

    Attributes:
        name: Machine-readable key, e.g. ``"weights_gb"``.
        value: The figure (a number, or text for choices such as a precision).
        unit: Unit of ``value`` (``"GB"``, ``"tokens/s"``, ``"USD/h"``, ``""`` for text).
        kind: Where the figure comes from (see ``StepKind``).
        note: One sentence: the formula or the source.
    """

    name: str
    value: float | int | str
    unit: str
    kind: StepKind
    note: str = ""

    def as_dict(self) -> dict[str, float | int | str]:
        """JSON-ready mapping with the five attributes."""
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "kind": self.kind,
            "note": self.note,
        }


@dataclass(slots=True)
class Working:
    """An ordered list of steps being built; ``freeze()`` hands it to a frozen result."""

    steps: list[Step] = field(default_factory=list)

    def add(
        self,
        name: str,
        value: float | int | str,
        unit: str,
        kind: StepKind,
        note: str = "",
    ) -> float | int | str:
        """Append one step and return its value (so a sum can be written and logged at once)."""
        self.steps.append(Step(name, value, unit, kind, note))
        return value

    def number(self, name: str, value: float, unit: str, kind: StepKind, note: str = "") -> float:
        """Append a numeric step and return it as a float."""
        self.steps.append(Step(name, float(value), unit, kind, note))
        return float(value)

    def extend(self, steps: tuple[Step, ...]) -> None:
        """Append the steps of a sub-result (e.g. the memory plan inside a serving plan)."""
        self.steps.extend(steps)

    def freeze(self) -> tuple[Step, ...]:
        """The steps so far as an immutable tuple."""
        return tuple(self.steps)
