"""Coverage rates for the county and for any grouping of its units (DOMAIN.md "Rates").

One function serves the county card, the town ranking, the grid page, the park and building
tables and the headless report, so a figure can never differ between two screens.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from services.coverage import BLIND, JOINT, OWN, STATUSES, WORK

RATE_COLUMNS = ("org_coverage_rate", "work_coverage_rate", "above_scale_formation_rate")
COUNT_COLUMNS = ("units", *STATUSES, "priority_blind", "above_scale", "above_scale_own")


def coverage_rates(units: pd.DataFrame, by: str | None = None, groups=None) -> pd.DataFrame:
    """Counts and rates of in-scope units, for the whole frame or per value of ``by``.

    Parameters
    ----------
    units
        ``Assessment.units`` or any filtered part of it.
    by
        A column to group by (``grid_id``, ``town_name``, ``park_name``…); ``None`` for one
        row of totals.
    groups
        Every group that must appear even with no unit (e.g. all grid ids of the layer); its
        counts are 0 and its rates null.

    Returns
    -------
    DataFrame
        :data:`COUNT_COLUMNS` and :data:`RATE_COLUMNS`. A rate whose denominator is 0 is NaN
        (null in JSON): "no units" is not "0% covered".
    """
    frame = pd.DataFrame({
        "key": units[by] if by else 0,
        "units": 1,
        OWN: units["status"].eq(OWN),
        JOINT: units["status"].eq(JOINT),
        WORK: units["status"].eq(WORK),
        BLIND: units["status"].eq(BLIND),
        "priority_blind": units["priority_blind"],
        "above_scale": units["above_scale"],
        "above_scale_own": units["above_scale"] & units["status"].eq(OWN),
    }, index=units.index)
    if by is None:
        # One row of totals: the column sums (a groupby over a constant key costs ten times as
        # much, and the county's totals are asked for on every page).
        counts = pd.DataFrame({column: [int(frame[column].sum())] for column in COUNT_COLUMNS}, index=[0])
    else:
        counts = frame.groupby("key", sort=False, dropna=True).sum().astype("int64")
    if groups is not None:
        counts = counts.reindex(pd.Index(list(groups), name="key"), fill_value=0)
    counts = counts[list(COUNT_COLUMNS)]
    counts["org_coverage_rate"] = _ratio(counts[OWN] + counts[JOINT], counts["units"])
    counts["work_coverage_rate"] = _ratio(counts[OWN] + counts[JOINT] + counts[WORK], counts["units"])
    counts["above_scale_formation_rate"] = _ratio(counts["above_scale_own"], counts["above_scale"])
    counts.index.name = by
    return counts


def totals(units: pd.DataFrame) -> pd.Series:
    """The county's row of :func:`coverage_rates`."""
    return coverage_rates(units).iloc[0]


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is 0."""
    return (numerator / denominator.where(denominator > 0, np.nan)).astype("float64")
