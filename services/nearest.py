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


def nearest_points(qx: np.ndarray, qy: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """For each query point, the index of the nearest of the points ``px``/``py`` (planar
    distance); all -1 when there are no points.

    Why not a tree walk per query: a city asks this for a million units against two thousand
    centres, and shapely's ``query_nearest`` (plus making a million points for it) cost two
    seconds. Here the plane is cut into square cells about as large as the spacing of the
    points; the few points that can be nearest to anything in a cell are listed once per
    occupied cell, and every query is compared with its cell's list in one vectorised step.
    Exact: a point is listed for a cell whenever it lies within (distance from the cell's
    centre to its nearest point) + (the cell's diagonal) of that centre, and the nearest point
    of any query in the cell always does. Among points (about) equally near, the spatial index
    chooses, as it did before this search existed, so the centre a unit is matched to does not
    change with the method. Layouts where the lists would grow large (points scattered over a vast area)
    use the spatial index instead.
    """
    n, m = len(qx), len(px)
    if m == 0 or n == 0:
        return np.full(n, -1, dtype=np.int64)
    table = _candidate_table(qx, qy, px, py)
    if table is None:
        return _tree_nearest(qx, qy, px, py)
    cell, candidates = table
    nearest = np.empty(n, dtype=np.int64)
    tied = np.zeros(n, dtype=bool)
    # Queries grouped by how long their cell's list is (rounded up to a power of two), so a
    # few long lists do not make every query compare with that many points.
    lengths = (candidates >= 0).sum(axis=1)
    group = np.ceil(np.log2(np.maximum(lengths, 1))).astype(np.int64)[cell]
    for width_log in np.unique(group):
        width = min(1 << int(width_log), candidates.shape[1])
        members = np.flatnonzero(group == width_log)
        step = max(1, 2_000_000 // width)  # queries per block: bounded memory
        for start in range(0, len(members), step):
            rows = members[start:start + step]
            nearest[rows], tied[rows] = _nearest_listed(qx[rows], qy[rows], candidates[cell[rows], :width], px, py)
    if tied.any():
        # Two points (about) as near: answer as the spatial index always has, so the choice
        # (the centre named on the dashboard) does not change with the method.
        nearest[tied] = _tree_nearest(qx[tied], qy[tied], px, py)
    return nearest


def _nearest_listed(qx, qy, ids, px, py) -> tuple[np.ndarray, np.ndarray]:
    """The nearest of each query's listed points (``ids``, -1 padded), and whether another
    listed point is as near or within rounding of it."""
    dx = px[ids] - qx[:, None]
    dy = py[ids] - qy[:, None]
    distance = dx * dx + dy * dy
    distance[ids < 0] = np.inf
    rows = np.arange(len(ids))
    best = distance.argmin(axis=1)
    least = distance[rows, best]
    tied = (distance <= least[:, None] * (1 + 1e-12) + 1e-300).sum(axis=1) > 1
    return ids[rows, best], tied


_CELL_FACTOR = 0.7  # cell side ÷ typical spacing: smaller cells, shorter lists, more cells
_MAX_CANDIDATES = 256  # per cell; beyond this the spatial index is quicker
_MAX_PAIRS = 50_000_000  # occupied cells × points measured to build the lists


def _candidate_table(qx, qy, px, py) -> tuple[np.ndarray, np.ndarray] | None:
    """Each query's cell number and, per occupied cell, the points that can be nearest to
    somewhere in it (ascending, padded with -1); None when that would be too large."""
    m = len(px)
    # The cell side: the points' typical spacing, from the box holding 90% of them either way
    # (one point placed far away must not make every cell huge).
    low_x, high_x = np.percentile(px, [5, 95])
    low_y, high_y = np.percentile(py, [5, 95])
    area = (high_x - low_x) * (high_y - low_y)
    x0, y0 = min(qx.min(), px.min()), min(qy.min(), py.min())
    span = max(qx.max(), px.max()) - x0, max(qy.max(), py.max()) - y0
    size = max(_CELL_FACTOR * np.sqrt(area / (0.81 * m)), max(span) / 4096, 1e-9)
    columns = int(span[0] // size) + 1
    cell = ((qy - y0) // size).astype(np.int64) * columns + ((qx - x0) // size).astype(np.int64)
    cells, cell = np.unique(cell, return_inverse=True)
    if len(cells) * m > _MAX_PAIRS:
        return None
    centre_x = x0 + (cells % columns + 0.5) * size
    centre_y = y0 + (cells // columns + 0.5) * size
    dx = px[None, :] - centre_x[:, None]
    dy = py[None, :] - centre_y[:, None]
    distance = np.sqrt(dx * dx + dy * dy)
    limit = distance.min(axis=1) + size * np.sqrt(2)  # the diagonal: twice a query's offset
    limit += limit * 1e-9 + 1e-12  # rounding must never drop the true nearest
    listed = distance <= limit[:, None]
    width = int(listed.sum(axis=1).max())
    if width > _MAX_CANDIDATES:
        return None
    # Listed points in ascending order, left-aligned, -1 after them.
    order = np.argsort(~listed, axis=1, kind="stable")[:, :width]
    table = np.where(np.take_along_axis(listed, order, axis=1), order, -1)
    return cell.reshape(-1), table.astype(np.int64)


def _tree_nearest(qx, qy, px, py) -> np.ndarray:
    """:func:`nearest_points` through shapely's spatial index."""
    tree = shapely.STRtree(shapely.points(px, py))
    query_index, point_index = tree.query_nearest(shapely.points(qx, qy), all_matches=False)
    nearest = np.full(len(qx), -1, dtype=np.int64)
    nearest[query_index] = point_index
    return nearest
