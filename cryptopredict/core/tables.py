"""Text tables: fixed-width for a terminal, Markdown for a job summary. Standard library only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def render_fixed_width(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """The header, a rule of dashes, then the rows, every column right-aligned to its widest cell."""
    lines = [list(header), *(list(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)) for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def render_markdown(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """The same table in Markdown."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
