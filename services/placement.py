"""Place each unit on the map by the best evidence it has, and give it a grid by location.

DOMAIN.md "Placement": a unit is drawn at its own coordinates (any datum, stored as WGS-84),
else at its business building, else inside its park, else inside its grid (approximate), and a
unit with none of these is reported, never dropped. The grid a unit belongs to is decided by
where it is drawn, through a spatial index; a ledger grid that disagrees is a data-quality
finding (``grid_mismatch``), not silently trusted.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from services.coords import to_wgs84
from services.county import County
from services.geodata import layer_to_4326_points
from services.text import compact, distinct_values, take_distinct

COORDINATES, BUILDING, PARK, GRID = "coordinates", "building", "park", "grid"
PLACEMENT_KINDS = (COORDINATES, BUILDING, PARK, GRID)
PLACEMENT_LABELS = {COORDINATES: "坐标", BUILDING: "楼宇", PARK: "园区（近似）", GRID: "网格（近似）"}
PLACEMENT_FLAGS = ("coordinates_swapped", "outside_county", "grid_mismatch",
                   "unknown_grid", "unknown_park", "unknown_building")


def place_units(units: pd.DataFrame, county: County, *, names: bool = True) -> pd.DataFrame:
    """Place the units of a ledger on the county's map.

    Parameters
    ----------
    units
        Units as :func:`services.ledger.read_ledger` returns them (``lon``, ``lat``, ``crs``,
        ``grid``, ``park``, ``building`` as written in the ledger).
    county
        The county's layers; only ``grids`` is required.
    names
        False leaves out ``town_name``, ``park_name``, ``building_name`` and ``market_name``
        (for a caller that never shows them: the JSON report, where finding every unit's park,
        building and market by location was a fifth of the placement).

    Returns
    -------
    DataFrame
        A copy of ``units`` with ``x``/``y`` (the WGS-84 point the unit is drawn at, NaN when
        unplaced), ``placed_by`` (coordinates/building/park/grid or None), ``grid_id``,
        ``town_name``, ``park_name``, ``building_name``, ``market_name`` (by location, or the
        ledger's reference when it names a known place), ``unplaced_reason`` and a boolean
        ``flag_<name>`` column for each of :data:`PLACEMENT_FLAGS`.
    """
    placed = units.copy(deep=False)  # new columns only; the ledger's frame stays as read
    n = len(placed)
    grids = county.grids.reset_index(drop=True)
    grid_tree = shapely.STRtree(grids.geometry.values)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    method = np.full(n, -1, dtype=np.int64)  # index into PLACEMENT_KINDS, -1 while unplaced
    grid_index = np.full(n, -1, dtype=np.int64)
    flags = {flag: np.zeros(n, dtype=bool) for flag in PLACEMENT_FLAGS}

    # 1. Own coordinates, converted to WGS-84; a pair that only fits swapped is swapped.
    source_lon = placed["lon"].to_numpy(dtype=float)
    source_lat = placed["lat"].to_numpy(dtype=float)
    crs = placed["crs"].fillna("WGS84").to_numpy(dtype=object)
    has_coordinates = ~(np.isnan(source_lon) | np.isnan(source_lat))
    lon, lat = to_wgs84(source_lon, source_lat, crs)
    own = np.flatnonzero(has_coordinates)
    own_points = shapely.points(lon[own], lat[own])
    hit = _first_hits(grid_tree, own_points, own, n)
    missed = has_coordinates & (hit < 0)
    swap = np.zeros(n, dtype=bool)
    if missed.any():
        swapped_lon, swapped_lat = to_wgs84(source_lat, source_lon, crs)
        swapped_hit = _grid_of_points(grid_tree, swapped_lon, swapped_lat, missed)
        swap = missed & (swapped_hit >= 0)
        lon, lat = np.where(swap, swapped_lon, lon), np.where(swap, swapped_lat, lat)
        hit = np.where(swap, swapped_hit, hit)
        flags["coordinates_swapped"] = swap
    flags["outside_county"] = has_coordinates & (hit < 0)
    by_coordinates = hit >= 0
    x[by_coordinates], y[by_coordinates] = lon[by_coordinates], lat[by_coordinates]
    grid_index[by_coordinates] = hit[by_coordinates]
    method[by_coordinates] = PLACEMENT_KINDS.index(COORDINATES)

    ledger_grid, flags["unknown_grid"] = _match_grid(placed["grid"], grids)
    ledger_park, flags["unknown_park"] = _match_names(placed["park"], county.layer("parks"))
    ledger_building, flags["unknown_building"] = _match_names(placed["building"], county.layer("buildings"))

    # 2. The business building's point.
    buildings = county.layer("buildings").reset_index(drop=True)
    todo = (method < 0) & (ledger_building >= 0)
    if todo.any():
        points = layer_to_4326_points(buildings)
        x[todo] = points.x.to_numpy()[ledger_building[todo]]
        y[todo] = points.y.to_numpy()[ledger_building[todo]]
        method[todo] = PLACEMENT_KINDS.index(BUILDING)

    # 3. Inside the park: where the park meets the ledger's grid when they meet, else the park.
    parks = county.layer("parks").reset_index(drop=True)
    todo = (method < 0) & (ledger_park >= 0)
    if todo.any():
        px, py = _park_points(parks, grids, ledger_park[todo], ledger_grid[todo])
        x[todo], y[todo] = px, py
        method[todo] = PLACEMENT_KINDS.index(PARK)

    # 4. Inside the grid (approximate).
    todo = (method < 0) & (ledger_grid >= 0)
    if todo.any():
        points = grids.geometry.representative_point()
        x[todo] = points.x.to_numpy()[ledger_grid[todo]]
        y[todo] = points.y.to_numpy()[ledger_grid[todo]]
        grid_index[todo] = ledger_grid[todo]
        method[todo] = PLACEMENT_KINDS.index(GRID)

    # Building and park points get their grid by location like everything else.
    needs_grid = (method >= 0) & (grid_index < 0)
    if needs_grid.any():
        located = _grid_of_points(grid_tree, x, y, needs_grid)
        grid_index = np.where(needs_grid, located, grid_index)
    lost = (method >= 0) & (grid_index < 0)  # a building or park outside every grid
    method[lost] = -1
    x[lost] = y[lost] = np.nan

    flags["grid_mismatch"] = (ledger_grid >= 0) & (grid_index >= 0) & (ledger_grid != grid_index)
    placed["x"], placed["y"] = x, y
    placed["placed_by"] = take_distinct(np.array([*PLACEMENT_KINDS, None], dtype=object), method).array
    placed["grid_id"] = _take(grids["id"], grid_index)
    if names:
        kept = by_coordinates[own] & ~swap[own]  # drawn where their own point already is
        points = _Points(x, y, known=(own[kept], own_points[kept]))
        del own_points
        placed["town_name"] = _towns_of(grids, grid_index, county, points)
        placed["park_name"] = _member_of(parks, ledger_park, points)
        placed["building_name"] = _member_of(buildings, ledger_building, points)
        placed["market_name"] = _member_of(county.layer("markets").reset_index(drop=True),
                                           np.full(n, -1, dtype=np.int64), points)
    placed["unplaced_reason"] = _unplaced_reasons(placed, method < 0, has_coordinates, flags)
    for flag, values in flags.items():
        placed[f"flag_{flag}"] = values
    return placed


def grid_at(grids: gpd.GeoDataFrame, lon: float, lat: float) -> str | None:
    """The id of the grid containing a WGS-84 point (a click on the map), or None."""
    hits = grids.sindex.query(shapely.Point(lon, lat), predicate="intersects")
    return None if len(hits) == 0 else grids["id"].iloc[int(hits.min())]


def _grid_of_points(tree: shapely.STRtree, lon, lat, mask) -> np.ndarray:
    """For each masked point, the index of the first grid containing it, else -1.

    ``intersects`` rather than ``within`` so a point exactly on the border of two grids gets
    one of them instead of none.
    """
    where = np.flatnonzero(mask)
    points = shapely.points(lon[where], lat[where]) if len(where) else np.empty(0, dtype=object)
    return _first_hits(tree, points, where, len(lon))


def _first_hits(tree: shapely.STRtree, points: np.ndarray, where: np.ndarray, size: int) -> np.ndarray:
    """An array of ``size`` with, at each position of ``where``, the index of the first tree
    geometry its point intersects (-1 where none): the one point-in-polygon join that grids,
    towns, parks, buildings and markets all use."""
    result = np.full(size, -1, dtype=np.int64)
    if len(where) == 0:
        return result
    point_index, feature_index = tree.query(points, predicate="intersects")
    if np.all(point_index[1:] >= point_index[:-1]):  # as shapely returns them: no sort needed
        first = np.flatnonzero(np.diff(point_index, prepend=-1) != 0)
    else:
        first = np.unique(point_index, return_index=True)[1]
    result[where[point_index[first]]] = feature_index[first]
    return result


def _match_names(references: pd.Series, layer: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Index of the named feature per unit (-1 none), and whether a name was given but unknown."""
    lookup: dict[str, int] = {}
    for index, name in enumerate(layer["name"].tolist() if len(layer) else []):
        key = compact(name)
        if key is not None:
            lookup.setdefault(key, index)
    matched, named = _look_up(references, lookup)
    return matched, named & (matched < 0)


def _match_grid(references: pd.Series, grids: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """A ledger grid may name the grid by id or by name (DOMAIN.md settled points)."""
    lookup: dict[str, int] = {}
    for index, (grid_id, name) in enumerate(zip(grids["id"].tolist(), grids["name"].tolist())):
        for key in (compact(grid_id), compact(name)):
            if key is not None:
                lookup.setdefault(key, index)
    matched, named = _look_up(references, lookup)
    return matched, named & (matched < 0)


def _look_up(references: pd.Series, lookup: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the index ``lookup`` gives its reference's :func:`compact` key (-1 when none),
    and whether it has a key at all; worked out once per distinct reference."""
    codes, uniques = pd.factorize(references, use_na_sentinel=True)
    keys = [compact(value) for value in distinct_values(uniques)] + [compact(None)]  # code -1: missing
    matched = np.array([-1 if key is None else lookup.get(key, -1) for key in keys], dtype=np.int64)
    named = np.array([key is not None for key in keys], dtype=bool)
    return matched[codes], named[codes]


def _park_points(parks, grids, park_index: np.ndarray, grid_index: np.ndarray):
    """A point inside the park, inside the ledger's grid too where the two overlap.

    Computed once per distinct (park, grid) pair, since a park's tenants share a handful.
    """
    pairs = pd.DataFrame({"park": park_index, "grid": grid_index})
    distinct = pairs.drop_duplicates()
    points = {}
    for park, grid in distinct.itertuples(index=False):
        shape = parks.geometry.iloc[park]
        if grid >= 0:
            common = shapely.intersection(shape, grids.geometry.iloc[grid])
            if not common.is_empty and common.area > 0:
                shape = common
        point = shape.representative_point()
        points[(park, grid)] = (point.x, point.y)
    coordinates = [points[(p, g)] for p, g in zip(park_index, grid_index)]
    array = np.array(coordinates, dtype=float).reshape(-1, 2)
    return array[:, 0], array[:, 1]


def _take(values: pd.Series, index: np.ndarray):
    """``values[index]`` with None where the index is -1, as a column (see
    :func:`services.text.take_distinct`: a layer's few names, not a million strings)."""
    return take_distinct(np.append(values.to_numpy(dtype=object), None), index).array


def _towns_of(grids, grid_index, county: County, points: "_Points"):
    """The town of each placed unit: its grid's town, else the town polygon it lies in.

    Worked out per grid and per town, then taken per unit, as a column like :func:`_take`.
    """
    distinct = list(grids["town"].to_numpy(dtype=object)) if "town" in grids else [None] * len(grids)
    none = len(distinct)
    codes = np.where(grid_index >= 0, grid_index, none)
    distinct.append(None)
    if county.towns is not None and len(county.towns):
        blank = np.array([t is None or (isinstance(t, float) and np.isnan(t)) or t == "" for t in distinct])
        missing = blank[codes] & points.placed
        if missing.any():
            towns = county.towns.reset_index(drop=True)
            located = _feature_of_points(towns, points, missing)
            codes = np.where(missing, np.where(located >= 0, len(distinct) + located, none), codes)
            distinct += list(towns["name"].to_numpy(dtype=object))
    values = np.empty(len(distinct), dtype=object)
    values[:] = distinct
    return take_distinct(values, codes).array


class _Points:
    """The placed units' points, made once and shared by the park, building and market joins
    (making a million shapely points costs a third of a second each time)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, known: tuple[np.ndarray, np.ndarray] | None = None):
        """``known``: positions whose point at (x, y) was already made, and those points."""
        self.placed = ~np.isnan(x)
        self.geometry = np.full(len(x), None, dtype=object)
        todo = self.placed.copy()
        if known is not None:
            positions, geometries = known
            self.geometry[positions] = geometries
            todo[positions] = False
        self.geometry[todo] = shapely.points(x[todo], y[todo])


def _feature_of_points(layer: gpd.GeoDataFrame, points: _Points, mask: np.ndarray) -> np.ndarray:
    """Index of the polygon of ``layer`` containing each masked point, else -1."""
    polygons = layer.geometry.values
    is_polygon = np.isin(shapely.get_type_id(polygons), (3, 6))
    where = np.flatnonzero(mask & points.placed) if is_polygon.any() else np.empty(0, dtype=np.int64)
    if len(where) == 0:
        return np.full(len(mask), -1, dtype=np.int64)
    tree = shapely.STRtree(np.where(is_polygon, polygons, None))
    return _first_hits(tree, points.geometry[where], where, len(mask))


def _member_of(layer: gpd.GeoDataFrame, ledger_index: np.ndarray, points: _Points) -> np.ndarray:
    """The park/building/market a unit belongs to: the ledger's when known, else the polygon
    it lies in (point-only layers can only be joined by name)."""
    if len(layer) == 0:
        return np.full(len(ledger_index), None, dtype=object)
    located = _feature_of_points(layer, points, ledger_index < 0)
    return _take(layer["name"], np.where(ledger_index >= 0, ledger_index, located))


def _unplaced_reasons(placed: pd.DataFrame, unplaced: np.ndarray, has_coordinates, flags):
    """Why a unit could not be placed, in words a grid leader can act on (a column; the
    reasons repeat, so each distinct one is converted once)."""
    reasons: dict[str, int] = {}
    codes = np.full(len(placed), -1, dtype=np.int64)
    for position in np.flatnonzero(unplaced):
        parts = []
        parts.append("坐标不在任何网格内" if has_coordinates[position] else "无坐标")
        for column, flag, label in (("building", "unknown_building", "所属楼宇"),
                                    ("park", "unknown_park", "所属园区"),
                                    ("grid", "unknown_grid", "所属网格")):
            if flags[flag][position]:
                parts.append(f"{label}“{placed[column].iloc[position]}”在图层中不存在")
        if len(parts) == 1:
            parts.append("未填写可识别的楼宇、园区或网格")
        codes[position] = reasons.setdefault("，".join(parts), len(reasons))
    distinct = np.empty(len(reasons) + 1, dtype=object)
    distinct[:] = [*reasons, None]
    return take_distinct(distinct, codes).array
