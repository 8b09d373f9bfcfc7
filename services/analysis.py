"""From files to figures: the one pipeline behind every page and the headless report.

``ledger → place → assess``; :class:`Analysis` keeps all three results together so a page can
show a unit's row number, its placement and its flags without recomputing anything.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from services.county import County, load_county
from services.coverage import UNIT_FLAGS, Assessment, assess
from services.ledger import Ledger, read_ledger
from services.placement import place_units
from services.settings import DEFAULT_POLICY, Policy


@dataclasses.dataclass
class Analysis:
    """A ledger read, placed and assessed against one county and one policy."""

    ledger: Ledger
    county: County
    assessment: Assessment

    @property
    def units(self) -> pd.DataFrame:
        """The in-scope units with status, placement and flags."""
        return self.assessment.units

    @property
    def unplaced(self) -> pd.DataFrame:
        """In-scope units that could not be placed, with the reason."""
        units = self.assessment.units
        return units[units["placed_by"].isna()]


def analyse(ledger: Ledger, county: County, policy: Policy = DEFAULT_POLICY, *,
            names: bool = True) -> Analysis:
    """Place the ledger's units on the county and apply every rule.

    ``names=False``: without the units' town, park, building and market names (see
    :func:`services.placement.place_units`); no figure or flag depends on them.
    """
    placed = place_units(ledger.units, county, names=names)
    return Analysis(ledger, county, assess(placed, county, policy))


def analyse_files(ledger: str | Path, grids: str | Path, policy: Policy = DEFAULT_POLICY,
                  **layers) -> Analysis:
    """:func:`analyse` for files on disk; ``layers`` as :func:`services.county.load_county`."""
    return analyse(read_ledger(ledger), load_county(grids, **layers), policy)


def unit_flag_lists(units: pd.DataFrame, flags=UNIT_FLAGS) -> list[list[str]]:
    """Each unit's flags as a list of names, in the order of ``flags``.

    Built once per combination of flags (see :func:`flag_combinations`): a city has a million
    units but only a few hundred distinct combinations.
    """
    lists, inverse = flag_combinations(units, flags)
    return [lists[i] for i in inverse]


def flag_combinations(units: pd.DataFrame, flags=UNIT_FLAGS) -> tuple[list[list[str]], np.ndarray]:
    """The distinct combinations of flags among ``units`` (each a list of names in the order of
    ``flags``) and, per unit, the index of its combination.

    Encoded as a bit mask per unit first, so the lists are built once per combination; the
    headless report writes each combination's JSON once this way too.
    """
    present = [flag for flag in flags if f"flag_{flag}" in units]
    if not len(units):
        return [], np.zeros(0, dtype=np.int64)
    mask = np.zeros(len(units), dtype=np.int64)
    for bit, flag in enumerate(present):
        mask |= units[f"flag_{flag}"].to_numpy(dtype=bool).astype(np.int64) << bit
    combos, inverse = np.unique(mask, return_inverse=True)
    lists = [[flag for bit, flag in enumerate(present) if combo >> bit & 1] for combo in combos]
    return lists, inverse.reshape(-1)
