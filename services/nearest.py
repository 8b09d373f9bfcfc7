"""Who could take on a unit: the nearest instructor, and the nearest one with room to spare.

R4 (001 §7, 002 (四)) says every unit without an org gets a 党建工作指导员, and 001 §10 caps an
instructor at :attr:`~services.settings.Policy.instructor_max_units` units. The instructor
table has names, units and phones but no address, so an instructor is located where their
work is: at the placed units they already serve. "The nearest instructor" to a unit is the
instructor serving the unit closest to it, the person most likely to pass by anyway.

The nearest instructor is often already at the cap, and suggesting them would create an
``instructor_overload``; so a second answer is given, the nearest instructor still below it.

Both searches use a spatial index (shapely's STRtree ``query_nearest``) in a local
equirectangular frame (longitude scaled by cos(latitude), so a degree east and a degree north
weigh the same), then measure the chosen pair's distance in geodesic metres on the WGS-84
ellipsoid, as :func:`services.coverage._service_reach` does for centres. No loop over pairs:
a 100,000-unit city is answered in well under a second. Within a county the scaled frame picks
the same nearest point as a geodesic search except for near-ties a few metres apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from services.settings import DEFAULT_POLICY, Policy

_GEOD = Geod(ellps="WGS84")

NEAREST_COLUMNS = (
    "nearest_instructor", "instructor_distance_m", "instructor_load", "instructor_at_cap",
    "nearest_available_instructor", "available_distance_m", "available_load",
)


def instructor_loads(units: pd.DataFrame) -> pd.Series:
    """Units each instructor serves (name → count), counted as the R4 overload rule counts them.

    Every unit naming the instructor counts, placed or not: an unplaced unit still takes the
    instructor's time.
    """
    named = units["instructor"].dropna().astype("string").str.strip()
    named = named[named.ne("")]
    return named.groupby(named).size().rename("units").rename_axis("name")


def nearest_instructors(targets: pd.DataFrame, units: pd.DataFrame,
                        policy: Policy = DEFAULT_POLICY) -> pd.DataFrame:
    """For each target unit, the nearest instructor and the nearest one below the cap.

    Parameters
    ----------
    targets
        Units to find an instructor for (``x``/``y`` in WGS-84 degrees; NaN when unplaced).
    units
        All in-scope units (``instructor``, ``x``, ``y``): they locate the instructors and give
        their loads.
    policy
        ``instructor_max_units`` is the cap (001 §10).

    Returns
    -------
    DataFrame
        Indexed like ``targets``, with :data:`NEAREST_COLUMNS`:
        ``nearest_instructor``, ``instructor_distance_m`` (geodesic metres to the closest unit
        that instructor serves), ``instructor_load`` (units served), ``instructor_at_cap``
        (load ≥ cap: one more unit would overload them), and ``nearest_available_instructor``,
        ``available_distance_m``, ``available_load`` for the nearest instructor below the cap.
        Unplaced targets, or no instructor at all, give None/NaN.
    """
    loads = instructor_loads(units)
    names = units["instructor"].astype("string").str.strip()
    served = (names.ne("").fillna(False).to_numpy(dtype=bool)
              & units["x"].notna().to_numpy() & units["y"].notna().to_numpy())
    sx = units["x"].to_numpy(dtype=float)[served]
    sy = units["y"].to_numpy(dtype=float)[served]
    served_names = names.to_numpy(dtype=object)[served]
    served_loads = loads.reindex(served_names).fillna(0).to_numpy(dtype=np.int64)
    below_cap = served_loads < policy.instructor_max_units

    result = pd.DataFrame(index=targets.index)
    tx = targets["x"].to_numpy(dtype=float)
    ty = targets["y"].to_numpy(dtype=float)
    placed = ~np.isnan(tx) & ~np.isnan(ty)
    scale = _scale(np.concatenate([ty[placed], sy]))

    nearest, distance = _nearest(tx, ty, placed, sx, sy, scale)
    result["nearest_instructor"] = _pick(served_names, nearest)
    result["instructor_distance_m"] = distance
    load = _pick(served_loads, nearest)
    result["instructor_load"] = pd.array(load, dtype="Int64")
    result["instructor_at_cap"] = result["instructor_load"].ge(policy.instructor_max_units).fillna(False).astype(bool)

    pool = np.flatnonzero(below_cap)
    available, available_distance = _nearest(tx, ty, placed, sx[pool], sy[pool], scale)
    result["nearest_available_instructor"] = _pick(served_names[pool], available)
    result["available_distance_m"] = available_distance
    available_load = _pick(served_loads[pool], available)
    result["available_load"] = pd.array(available_load, dtype="Int64")
    # When the nearest instructor has room they are the suggestion too (the second search may
    # have picked someone else at the same spot, e.g. another tenant's instructor in one building).
    has_room = result["nearest_instructor"].notna() & ~result["instructor_at_cap"]
    for column, source in (("nearest_available_instructor", "nearest_instructor"),
                           ("available_distance_m", "instructor_distance_m"),
                           ("available_load", "instructor_load")):
        result.loc[has_room, column] = result.loc[has_room, source]
    return result


def _scale(latitudes: np.ndarray) -> float:
    """cos(mean latitude): shrinks longitude so the local frame is roughly square in metres."""
    return float(np.cos(np.radians(latitudes.mean()))) if len(latitudes) else 1.0


def _nearest(tx, ty, placed, px, py, scale):
    """Index into ``px``/``py`` of each placed target's nearest point (-1 when none) and the
    geodesic distance in metres (NaN when none)."""
    index = np.full(len(tx), -1, dtype=np.int64)
    distance = np.full(len(tx), np.nan)
    if not placed.any() or len(px) == 0:
        return index, distance
    tree = shapely.STRtree(shapely.points(px * scale, py))
    where = np.flatnonzero(placed)
    target_i, point_i = tree.query_nearest(shapely.points(tx[where] * scale, ty[where]), all_matches=False)
    index[where[target_i]] = point_i
    found = index >= 0
    _, _, metres = _GEOD.inv(tx[found], ty[found], px[index[found]], py[index[found]])
    distance[found] = metres
    return index, distance


def _pick(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[index]`` with None where the index is -1 (no answer)."""
    picked = np.full(len(index), None, dtype=object)
    found = index >= 0
    picked[found] = np.asarray(values, dtype=object)[index[found]]
    return picked
