"""Consequence texts per level of change: what a cut or a raise of a line means."""

from __future__ import annotations

import re

_LEVEL = re.compile(r"\s*([+-]?[0-9]{1,3}(?:\.[0-9]+)?)\s*%\s*:\s*(.+)", re.S)


def parse_consequences(cell: str) -> tuple[tuple[float, str], ...]:
    """ "-10%: Sunday hours cut | +5%: longer hours" -> ((-10.0, "..."), (5.0, "...")).

    Levels are percent changes from the city's amount; a resident who moves a line at least that
    far (in that direction) sees the text of the furthest level reached."""
    if not cell.strip():
        return ()
    levels = []
    for part in cell.split("|"):
        found = _LEVEL.fullmatch(part)
        if not found or float(found.group(1)) == 0:
            raise ValueError(
                f"cannot read {part.strip()!r}: write levels as '-10%: what a 10% cut means', "
                "separated by '|', each level a non-zero percent"
            )
        levels.append((float(found.group(1)), " ".join(found.group(2).split())))
    if len({level for level, _ in levels}) != len(levels):
        raise ValueError("each level may appear only once")
    return tuple(sorted(levels))


def reached(consequences: tuple[tuple[float, str], ...], amount: int, proposed: int) -> str | None:
    """The text of the furthest level that moving `amount` to `proposed` reaches, if any."""
    if not amount or amount == proposed:
        return None
    percent = (proposed - amount) / abs(amount) * 100
    hits = [
        (abs(level), text)
        for level, text in consequences
        if (level < 0 and percent <= level + 1e-9) or (level > 0 and percent >= level - 1e-9)
    ]
    return max(hits)[1] if hits else None
