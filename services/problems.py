"""The two ways input can be wrong, shared by every reader.

A file that cannot be read at all raises :class:`InputError` (the report exits 2 with its one
line); a problem inside a readable file becomes a :class:`Problem`, which names the file, the row
or feature a person would look for, the column and the reason in Chinese, so nothing is lost
silently and every rejected row can be handed back for correction.
"""

from __future__ import annotations

import dataclasses


class InputError(Exception):
    """An input file that cannot be read at all; the message is one line naming the file."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """One finding about one row (ledger) or feature (geodata).

    ``row`` is the number a person sees: the spreadsheet row for a ledger (header in row 1 →
    first unit in row 2), the 1-based feature number for a geodata layer. ``rejected`` tells a
    row that was left out from a value that was kept and flagged.
    """

    file: str
    row: int | None
    column: str | None
    reason: str
    rejected: bool = False
    value: str | None = None
