"""What a re-imported ledger changes: units added, changed (field by field), unchanged, and
no longer present.

A county re-imports its whole ledger every few months. Units are matched by their unified
social credit code; a unit the new file no longer lists is not deleted on the spot (a row
dropped by mistake must not erase a unit's history) but reported, and removed only when a
person confirms it. Pure functions on frames: the store calls them inside its transaction, the
数据管理 page calls them to show the report before the user confirms.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from services.store.tables import LEDGER_FIELDS

_COMPARED = tuple(field for field in LEDGER_FIELDS if field != "credit_code")


@dataclasses.dataclass
class UnitDiff:
    """The difference between the stored units and an incoming ledger.

    ``added`` and ``changed`` are the incoming cells of those units; ``changes`` lists each
    changed field (``credit_code``, ``name``, ``field``, ``old``, ``new``); ``absent`` the stored
    units the ledger no longer lists (``credit_code``, ``name``, ``absent_since``);
    ``returned`` the codes of units that had been absent and are listed again.
    """

    added: pd.DataFrame
    changed: pd.DataFrame
    changes: pd.DataFrame
    unchanged: int
    absent: pd.DataFrame
    returned: list[str]

    @classmethod
    def nothing(cls) -> "UnitDiff":
        """The difference of an import without a ledger (a layer upload): no unit touched."""
        empty = pd.DataFrame(columns=["credit_code", "name"])
        return cls(added=empty, changed=empty, changes=pd.DataFrame(columns=["credit_code", "name", "field", "old", "new"]),
                   unchanged=0, absent=pd.DataFrame(columns=["credit_code", "name", "absent_since"]), returned=[])

    @property
    def is_empty(self) -> bool:
        """True when the import would change nothing at all."""
        return self.added.empty and self.changed.empty and not self.returned and self.absent_new.empty

    @property
    def absent_new(self) -> pd.DataFrame:
        """Units that were present until now and are missing from this ledger."""
        return self.absent[self.absent["absent_since"].isna()]


def diff_units(current: pd.DataFrame, incoming: pd.DataFrame) -> UnitDiff:
    """Compare ``incoming`` cells (one row per credit code) with the ``current`` stored units.

    Both frames hold the ledger fields as text (``None`` for blank); ``current`` also has
    ``absent_since``. Text is compared exactly: "3" and "3人" are different cells even though
    both mean three, because the store keeps what the staff wrote.
    """
    current = current.set_index("credit_code", drop=False)
    incoming = incoming.set_index("credit_code", drop=False)
    known = incoming.index.isin(current.index)
    added = incoming[~known].reset_index(drop=True)
    both = incoming[known]
    before = current.loc[both.index]

    differs = np.zeros(len(both), dtype=bool)
    changes = []
    for field in _COMPARED:
        old = before[field].astype(object).where(before[field].notna(), None)
        new = both[field].astype(object).where(both[field].notna(), None)
        mask = (old.fillna("\0").to_numpy() != new.fillna("\0").to_numpy())
        if mask.any():
            differs |= mask
            changes.append(pd.DataFrame({
                "credit_code": both.index[mask], "name": both["name"].to_numpy()[mask], "field": field,
                "old": old.to_numpy()[mask], "new": new.to_numpy()[mask]}))
    was_absent = before["absent_since"].notna().to_numpy()
    returned = both.index[was_absent].tolist()
    changed = both[differs].reset_index(drop=True)
    change_frame = (pd.concat(changes, ignore_index=True) if changes
                    else pd.DataFrame(columns=["credit_code", "name", "field", "old", "new"]))
    missing = current[~current.index.isin(incoming.index)]
    absent = missing[["credit_code", "name", "absent_since"]].reset_index(drop=True)
    return UnitDiff(added=added, changed=changed, changes=change_frame,
                    unchanged=int((~differs).sum()), absent=absent, returned=returned)
