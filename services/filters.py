"""Filters and search over assessed units: the county page's side panel as a pure function."""

from __future__ import annotations

import dataclasses

import pandas as pd

from services.text import compact


@dataclasses.dataclass(frozen=True)
class UnitFilter:
    """Each field narrows the units; an empty tuple (or None) means "all"."""

    towns: tuple = ()
    grids: tuple = ()
    parks: tuple = ()
    buildings: tuple = ()
    industries: tuple = ()
    kinds: tuple = ()
    statuses: tuple = ()
    flags: tuple = ()
    above_scale: bool | None = None
    priority_only: bool = False

    def is_empty(self) -> bool:
        return self == UnitFilter()


def apply_filter(units: pd.DataFrame, unit_filter: UnitFilter) -> pd.DataFrame:
    """The units matching every chosen criterion (a unit with any chosen flag matches)."""
    mask = pd.Series(True, index=units.index)
    for column, values in (("town_name", unit_filter.towns), ("grid_id", unit_filter.grids),
                           ("park_name", unit_filter.parks), ("building_name", unit_filter.buildings),
                           ("industry", unit_filter.industries), ("kind", unit_filter.kinds),
                           ("status", unit_filter.statuses)):
        if values:
            mask &= units[column].isin(values)
    if unit_filter.flags:
        any_flag = pd.Series(False, index=units.index)
        for flag in unit_filter.flags:
            if f"flag_{flag}" in units:
                any_flag |= units[f"flag_{flag}"]
        mask &= any_flag
    if unit_filter.above_scale is not None:
        mask &= units["above_scale"].eq(unit_filter.above_scale)
    if unit_filter.priority_only:
        mask &= units["priority_blind"]
    return units[mask]


def search_units(units: pd.DataFrame, query: str, limit: int = 20) -> pd.DataFrame:
    """Units whose name contains ``query`` or whose credit code starts with it (white space
    and full-width characters ignored, credit codes case-insensitive); exact matches first."""
    key = compact(query)
    if not key:
        return units.iloc[:0]
    names = units["name"].map(compact).fillna("")
    codes = units["credit_code"].fillna("").str.upper()
    exact = names.eq(key) | codes.eq(key.upper())
    found = exact | names.str.contains(key, regex=False) | codes.str.startswith(key.upper())
    result = units[found].assign(_exact=exact[found]).sort_values(["_exact", "row"], ascending=[False, True])
    return result.drop(columns="_exact").head(limit)
