"""Parks, business buildings, markets and service centres, each with what lies around it.

A place (园区 / 商务楼宇 / 商圈市场) is read as the county organisation department reads it: its
tenants (the units placement put in it), their coverage (:func:`services.rates.coverage_rates`
by the place column, the same function as every other rate), the regional org that covers
them (DOMAIN.md "区域性党组织") and the service centre that serves them (R9).

A service centre is read the other way round: its level, floor area and the area standard
(R9, 001 §20), how many units it is the nearest reachable centre for, and which units no
centre reaches (the service gap).

Everything here is frames in, frames out; the pages only lay them out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from services.analysis import Analysis
from services.coverage import JOINT, STATUS_LABELS
from services.exports import unit_table
from services.rates import coverage_rates

PLACE_KINDS = ("parks", "buildings", "markets")
PLACE_COLUMNS = {"parks": "park_name", "buildings": "building_name", "markets": "market_name"}
PLACE_LABELS = {"parks": "园区", "buildings": "商务楼宇", "markets": "商圈市场"}
REGIONAL_ORG_TYPE = "区域性党组织"
CENTRE_LEVELS = ("市级", "县级", "乡镇街道", "园区", "楼宇")

# A building or market "has" a service centre when one lies in its footprint or within this
# distance of it: a 楼宇党群服务站 is mapped at the building's entrance, which is rarely the
# point the building layer stores. Parks follow R9 strictly (a centre point inside the park
# polygon, Assessment.parks), so this tolerance never changes a rule flag.
ON_SITE_CENTRE_M = 100.0
# The smallest extent a place's map is zoomed to (metres), so a building is not shown at the
# map's maximum zoom with nothing around it.
MIN_VIEW_M = 400.0

_GEOD = Geod(ellps="WGS84")
_METRES_PER_DEGREE = 111_320.0


# --- places -------------------------------------------------------------------------------


def place_tenants(units: pd.DataFrame, kind: str, name: str) -> pd.DataFrame:
    """The units in one park, building or market (by placement: location, or the ledger's
    reference when it names a known place)."""
    return units[units[PLACE_COLUMNS[kind]] == name]


def place_table(analysis: Analysis, kind: str, on_site_m: float = ON_SITE_CENTRE_M) -> pd.DataFrame:
    """One row per park, building or market of the county's layer, in layer order.

    Columns
    -------
    name, level (parks), floors (buildings)
    units, own, joint, work, blind, priority_blind, above_scale, above_scale_own and the rates
        :func:`services.rates.coverage_rates` of its tenants (a place without tenants has
        counts 0 and null rates).
    regional_org_key, regional_org, regional_org_type, regional_org_tenants,
    regional_org_units, regional_org_typed
        See :func:`regional_orgs`; null when no shared org covers its tenants.
    has_centre, centre, centre_level
        Its own service centre. Parks: a centre point inside the polygon (R9, the same test
        as ``flag_park_without_centre``). Buildings and markets: a centre inside the footprint
        or within ``on_site_m`` metres of it.
    nearest_centre, nearest_centre_level, nearest_centre_m
        The nearest centre and its geodesic distance from the place's outline (0 inside);
        null when the county has no centres layer.
    flag_park_without_centre
        Parks only: R9's flag, as ``Assessment.parks`` sets it.
    """
    layer = analysis.county.layer(kind).reset_index(drop=True)
    column = PLACE_COLUMNS[kind]
    names = layer["name"].tolist()
    rates = coverage_rates(analysis.units, by=column, groups=names).reset_index(drop=True)
    table = pd.DataFrame({"name": pd.Series(names, dtype=object)})
    if kind == "parks":
        table["level"] = layer["level"].to_numpy() if "level" in layer else None
    if kind == "buildings":
        table["floors"] = pd.to_numeric(layer["floors"], errors="coerce").to_numpy() if "floors" in layer else np.nan
    table = pd.concat([table, rates], axis=1)
    regional = regional_orgs(analysis.units, analysis.assessment.orgs, kind)
    table = table.merge(regional, how="left", left_on="name", right_index=True)
    table["regional_org_typed"] = table["regional_org_typed"].fillna(False).astype(bool)
    nearest = nearest_centres(layer, analysis.county.centres)
    table = pd.concat([table, nearest], axis=1)
    if kind == "parks":
        rules = analysis.assessment.parks
        has = dict(zip(rules["name"], rules["has_centre"])) if "has_centre" in rules else {}
        table["has_centre"] = table["name"].map(has).fillna(False).astype(bool)
        table["flag_park_without_centre"] = ~table["has_centre"]
    else:
        table["has_centre"] = table["nearest_centre_m"].le(on_site_m).fillna(False).astype(bool)
    table["centre"] = table["nearest_centre"].where(table["has_centre"])
    table["centre_level"] = table["nearest_centre_level"].where(table["has_centre"])
    return table


def places_summary(tables: dict[str, pd.DataFrame], units: pd.DataFrame) -> dict[str, int]:
    """The county's places at a glance, from the :func:`place_table` of each kind: how many
    parks (and without a centre), buildings (and with one), markets, in-scope units in any
    place, places in all and places with a typed regional org."""
    empty = pd.DataFrame({"has_centre": pd.Series(dtype=bool), "regional_org_typed": pd.Series(dtype=bool)})
    parks, buildings, markets = (tables.get(kind, empty) for kind in PLACE_KINDS)
    in_any = units[list(PLACE_COLUMNS.values())].notna().any(axis=1)
    return {
        "parks": len(parks), "parks_without_centre": int((~parks["has_centre"].astype(bool)).sum()),
        "buildings": len(buildings), "buildings_with_centre": int(buildings["has_centre"].sum()),
        "markets": len(markets), "tenants": int(in_any.sum()),
        "places": len(parks) + len(buildings) + len(markets),
        "with_regional_org": int(sum(t["regional_org_typed"].sum() for t in (parks, buildings, markets))),
    }


def regional_orgs(units: pd.DataFrame, orgs: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The regional org of each place, indexed by place name.

    It is the 区域性党组织 that covers the most of the place's tenants; where none of its
    tenants is in one (a ledger that writes a building's org as a plain 党支部), the shared
    org covering the most of its tenants, if it covers two or more, with
    ``regional_org_typed`` False. Ties go to the org named first in the ledger.

    Columns: ``regional_org_key``, ``regional_org`` (name), ``regional_org_type``,
    ``regional_org_tenants`` (tenants of this place it covers), ``regional_org_units`` (all
    units it covers), ``regional_org_typed``.
    """
    column = PLACE_COLUMNS[kind]
    columns = ["regional_org_key", "regional_org", "regional_org_type", "regional_org_tenants",
               "regional_org_units", "regional_org_typed"]
    shared = units[units[column].notna() & units["status"].eq(JOINT) & units["covering_org"].notna()]
    if shared.empty or orgs.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name=column, dtype=object))
    counts = (shared.groupby([column, "covering_org"], sort=False).agg(tenants=("row", "size"), first=("row", "min"))
              .reset_index())
    info = orgs.set_index("org_key")
    counts["regional_org"] = counts["covering_org"].map(info["name"])
    counts["regional_org_type"] = counts["covering_org"].map(info["org_type"])
    counts["regional_org_units"] = counts["covering_org"].map(info["units"]).astype("int64")
    counts["regional_org_typed"] = counts["regional_org_type"].eq(REGIONAL_ORG_TYPE)
    counts = counts[counts["regional_org_typed"] | counts["tenants"].ge(2)]
    counts = counts.sort_values([column, "regional_org_typed", "tenants", "first"],
                                ascending=[True, False, False, True], kind="stable")
    best = counts.drop_duplicates(column).set_index(column)
    best = best.rename(columns={"covering_org": "regional_org_key", "tenants": "regional_org_tenants"})
    return best[columns]


def nearest_centres(places: pd.DataFrame, centres: pd.DataFrame | None) -> pd.DataFrame:
    """For each place (point or polygon), the nearest service centre and its distance.

    The distance is geodesic metres from the place's outline (0 when the centre is inside it)
    to the centre; the nearest centre is picked with a spatial index in a local frame where
    a degree east and a degree north weigh the same, as :mod:`services.coverage` does for
    units. Columns ``nearest_centre``, ``nearest_centre_level``, ``nearest_centre_m``, same
    index as ``places``; null without centres.
    """
    result = pd.DataFrame({"nearest_centre": pd.Series(None, index=places.index, dtype=object),
                           "nearest_centre_level": pd.Series(None, index=places.index, dtype=object),
                           "nearest_centre_m": pd.Series(np.nan, index=places.index)})
    if centres is None or len(centres) == 0 or len(places) == 0:
        return result
    geometry = places.geometry.values
    valid = ~shapely.is_missing(geometry) & ~shapely.is_empty(geometry)
    if not valid.any():
        return result
    cx, cy = centres.geometry.x.to_numpy(), centres.geometry.y.to_numpy()
    scale = float(np.cos(np.radians(np.nanmean(cy))))
    scaled_places = shapely.transform(geometry[valid], lambda xy: xy * [scale, 1.0])
    scaled_centres = shapely.points(cx * scale, cy)
    tree = shapely.STRtree(scaled_centres)
    place_index, centre_index = tree.query_nearest(scaled_places, all_matches=False)
    nearest = np.empty(len(scaled_places), dtype=np.int64)
    nearest[place_index] = centre_index
    lines = shapely.shortest_line(scaled_places, scaled_centres[nearest])
    coords = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    px, py = coords[:, 0, 0] / scale, coords[:, 0, 1]
    _, _, distance = _GEOD.inv(px, py, cx[nearest], cy[nearest])
    inside = shapely.intersects(scaled_places, scaled_centres[nearest])
    distance = np.where(inside, 0.0, distance)
    levels = centres["level"].to_numpy(dtype=object) if "level" in centres else np.full(len(centres), None)
    result.loc[valid, "nearest_centre"] = centres["name"].to_numpy(dtype=object)[nearest]
    result.loc[valid, "nearest_centre_level"] = levels[nearest]
    result.loc[valid, "nearest_centre_m"] = distance
    return result


def place_orgs(units: pd.DataFrame, orgs: pd.DataFrame, kind: str, name: str) -> pd.DataFrame:
    """The orgs covering one place's tenants, the most tenants first.

    Columns: ``org_key``, ``name``, ``org_type``, ``tenants`` (tenants covered here),
    ``units`` (all units it covers), ``formal_members``, ``elected``, ``flag_<org flag>``.
    """
    tenants = place_tenants(units, kind, name)
    covered = tenants[tenants["covering_org"].notna()]
    counts = covered.groupby("covering_org", sort=False).size().rename("tenants")
    found = orgs[orgs["org_key"].isin(counts.index)].copy()
    found["tenants"] = found["org_key"].map(counts).astype("int64")
    found = found.sort_values(["tenants", "units"], ascending=[False, False], kind="stable")
    keep = ["org_key", "name", "org_type", "tenants", "units", "formal_members", "elected",
            *[c for c in found.columns if c.startswith("flag_")]]
    return found[keep].reset_index(drop=True)


def place_bounds(analysis: Analysis, kind: str, name: str, min_view_m: float = MIN_VIEW_M,
                 tenants: pd.DataFrame | None = None):
    """``(minx, miny, maxx, maxy)`` around a place's outline and its placed tenants (or the
    given ``tenants``, e.g. as :func:`spread_stacked` draws them), widened to at least
    ``min_view_m`` metres; None when the place is not in the layer."""
    layer = analysis.county.layer(kind)
    shapes = layer.geometry[layer["name"] == name]
    if shapes.empty:
        return None
    if tenants is None:
        tenants = place_tenants(analysis.units, kind, name)
    tenants = tenants[tenants["x"].notna()]
    return points_bounds(tenants["x"], tenants["y"], shapes.total_bounds, min_view_m)


def points_bounds(x, y, extra_bounds=None, min_view_m: float = MIN_VIEW_M):
    """``(minx, miny, maxx, maxy)`` of points (and of ``extra_bounds``), widened about its
    centre to at least ``min_view_m`` metres each way; None when there is nothing."""
    xs = list(np.asarray(x, dtype=float))
    ys = list(np.asarray(y, dtype=float))
    if extra_bounds is not None and np.isfinite(extra_bounds).all():
        xs += [extra_bounds[0], extra_bounds[2]]
        ys += [extra_bounds[1], extra_bounds[3]]
    if not xs:
        return None
    minx, maxx, miny, maxy = min(xs), max(xs), min(ys), max(ys)
    half_y = min_view_m / _METRES_PER_DEGREE / 2
    half_x = half_y / max(np.cos(np.radians((miny + maxy) / 2)), 0.01)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    minx, maxx = min(minx, cx - half_x), max(maxx, cx + half_x)
    miny, maxy = min(miny, cy - half_y), max(maxy, cy + half_y)
    return (float(minx), float(miny), float(maxx), float(maxy))


def spread_stacked(units: pd.DataFrame, spacing_m: float = 12.0) -> pd.DataFrame:
    """A copy of ``units`` where units drawn at one identical point (all tenants placed at
    their building) are fanned out around it in a sunflower pattern, ``spacing_m`` apart, so
    each can be seen and clicked on a place's map. Display only: distances and flags were
    computed from the true placement. Units alone at their point do not move; the column
    ``spread`` says which moved.
    """
    result = units.copy()
    result["spread"] = False
    placed = result[result["x"].notna()]
    if placed.empty:
        return result
    rank = placed.groupby(["x", "y"], sort=False).cumcount().to_numpy()
    size = placed.groupby(["x", "y"], sort=False)["x"].transform("size").to_numpy()
    moved = size > 1
    if not moved.any():
        return result
    radius_m = spacing_m * np.sqrt(rank + 1.5)
    angle = rank * np.pi * (3 - np.sqrt(5))  # the golden angle
    lat = placed["y"].to_numpy()
    dy = radius_m * np.sin(angle) / _METRES_PER_DEGREE
    dx = radius_m * np.cos(angle) / (_METRES_PER_DEGREE * np.cos(np.radians(lat)))
    index = placed.index[moved]
    result.loc[index, "x"] = placed["x"].to_numpy()[moved] + dx[moved]
    result.loc[index, "y"] = lat[moved] + dy[moved]
    result.loc[index, "spread"] = True
    return result


# --- the tables people read ----------------------------------------------------------------


def distance_text(metres) -> str:
    """A distance as people say it: 约850米, 约3.8公里; "—" when unknown."""
    if metres is None or metres != metres:
        return "—"
    if metres < 1000:
        return f"约{metres:,.0f}米"
    return f"约{metres / 1000:,.1f}公里"


def centre_text(row, short: bool = False) -> str:
    """"有：name（level）" or "无（最近：name，约…米）" for a :func:`place_table` row; ``short``
    leaves the names out ("有（楼宇）", "无（最近约2.4公里）") for a table that lists many places."""
    if row.get("has_centre") and row.get("centre") is not None:
        level = row.get("centre_level")
        distance = row.get("nearest_centre_m")
        if short:
            near = f"，{distance_text(distance)}" if distance == distance and distance and distance > 0 else ""
            return f"有（{level or '未填级别'}{near}）"
        return f"有：{row['centre']}" + (f"（{level}）" if level else "")
    nearest = row.get("nearest_centre")
    if nearest is None or nearest != nearest:
        return "无"
    if short:
        return f"无（最近{distance_text(row.get('nearest_centre_m'))}）"
    return f"无（最近：{nearest}，{distance_text(row.get('nearest_centre_m'))}）"


def regional_org_text(row) -> str:
    """The regional org's name; a shared org of another type says its type; "未建" for none."""
    org = row.get("regional_org")
    if org is None or org != org:
        return "未建"
    if row.get("regional_org_typed"):
        return str(org)
    return f"{org}（{row.get('regional_org_type')}）"


def place_display_table(table: pd.DataFrame, kind: str, short: bool = False) -> pd.DataFrame:
    """A :func:`place_table` with Chinese headers, worst organisation coverage first (places
    without tenants last). Rate column names match :func:`dashboard.widgets.rate_table`;
    ``short`` as :func:`centre_text`."""
    label = PLACE_LABELS[kind]
    shown = pd.DataFrame({f"{label}名称": table["name"]})
    if kind == "parks":
        shown["级别"] = table["level"]
    if kind == "buildings":
        shown["楼层数"] = table["floors"].astype("Int64")
    shown["入驻单位"] = table["units"]
    for status in ("own", "joint", "work", "blind"):
        shown[STATUS_LABELS[status]] = table[status]
    shown["重点空白点"] = table["priority_blind"]
    shown["组织覆盖率"] = table["org_coverage_rate"]
    shown["工作覆盖率"] = table["work_coverage_rate"]
    records = table.to_dict("records")
    shown["区域性党组织"] = [regional_org_text(r) for r in records]
    shown["党群服务中心"] = [centre_text(r, short) for r in records]
    order = table.sort_values(["org_coverage_rate", "units"], ascending=[True, False], na_position="last",
                              kind="stable").index
    return shown.loc[order].reset_index(drop=True)


def place_orgs_display(orgs: pd.DataFrame) -> pd.DataFrame:
    """:func:`place_orgs` with Chinese headers."""
    return pd.DataFrame({
        "党组织名称": orgs["name"], "类型": orgs["org_type"], "覆盖本处单位": orgs["tenants"],
        "覆盖单位总数": orgs["units"], "正式党员": orgs["formal_members"],
        "上次换届": orgs["elected"].dt.strftime("%Y-%m-%d") if len(orgs) else orgs["elected"],
    })


# --- service centres ----------------------------------------------------------------------


def centre_table(analysis: Analysis) -> pd.DataFrame:
    """The centres of ``Assessment.centres`` with what they serve.

    Added columns: ``served_units`` (in-scope units whose nearest centre it is, within the
    service radius), ``nearest_units`` (units whose nearest centre it is, at any distance),
    ``park`` (the park it stands in, if any), ``area_gap_m2`` (how far below the area
    standard, 0 when it meets it or has none).
    """
    centres = analysis.assessment.centres.copy()
    units = analysis.units
    nearest = units.groupby("nearest_centre").size()
    within = units[~units["flag_outside_service_radius"] & units["nearest_centre"].notna()].groupby("nearest_centre").size()
    centres["served_units"] = centres["name"].map(within).fillna(0).astype("int64")
    centres["nearest_units"] = centres["name"].map(nearest).fillna(0).astype("int64")
    area = pd.to_numeric(centres.get("area_m2"), errors="coerce")
    centres["area_gap_m2"] = (centres["minimum_area_m2"] - area).clip(lower=0).fillna(0.0)
    centres["park"] = None
    layer = analysis.county.centres
    parks = analysis.county.parks
    if layer is not None and parks is not None and len(parks) and len(layer):
        tree = shapely.STRtree(parks.geometry.values)
        centre_index, park_index = tree.query(layer.geometry.values, predicate="intersects")
        names = parks["name"].to_numpy(dtype=object)
        park_of = pd.Series(names[park_index], index=centre_index)
        park_of = park_of[~park_of.index.duplicated()]
        found = pd.Series(range(len(centres))).map(park_of)
        centres["park"] = found.astype(object).where(found.notna(), None).to_numpy(dtype=object)
    return centres


def centres_by_level(centres: pd.DataFrame) -> pd.Series:
    """How many centres of each level, 市级 → 楼宇 then any other level written."""
    counts = centres["level"].fillna("未填级别").value_counts() if len(centres) else pd.Series(dtype="int64")
    order = [level for level in CENTRE_LEVELS if level in counts.index]
    order += sorted(level for level in counts.index if level not in CENTRE_LEVELS)
    return counts.reindex(order).astype("int64")


def service_gap(units: pd.DataFrame) -> pd.DataFrame:
    """The units outside every centre's service radius (R9 ``outside_service_radius``),
    farthest first."""
    gap = units[units["flag_outside_service_radius"]]
    return gap.sort_values(["centre_distance_m", "row"], ascending=[False, True], kind="stable")


def service_gap_summary(units: pd.DataFrame) -> dict:
    """``placed`` (units whose reach can be judged), ``outside`` and ``share`` (outside /
    placed, None when nothing is placed). Unplaced units have no distance (DOMAIN.md)."""
    placed = int(units["x"].notna().sum())
    outside = int(units["flag_outside_service_radius"].sum())
    return {"placed": placed, "outside": outside, "share": outside / placed if placed else None}


def service_gap_by(units: pd.DataFrame, by: str = "town_name") -> pd.DataFrame:
    """Placed units, units in the service gap and their share for each value of ``by``,
    largest gap first."""
    placed = units[units["x"].notna()]
    frame = pd.DataFrame({"key": placed[by], "placed": 1, "outside": placed["flag_outside_service_radius"].astype(int)})
    counts = frame.groupby("key", dropna=True).sum()
    counts["share"] = counts["outside"] / counts["placed"]
    counts.index.name = by
    return counts.sort_values(["outside", "share"], ascending=False)


def service_gap_table(units: pd.DataFrame) -> pd.DataFrame:
    """The units of :func:`service_gap` as the Chinese unit table, with 最近党群服务中心 and
    距最近中心（米） added after the unit's name."""
    gap = service_gap(units)
    table = unit_table(gap)
    table.insert(2, "距最近中心（米）", gap["centre_distance_m"].round(0).astype("Int64").to_numpy())
    table.insert(2, "最近党群服务中心", gap["nearest_centre"].to_numpy())
    return table


def centre_display_table(centres: pd.DataFrame, radius_m: float) -> pd.DataFrame:
    """:func:`centre_table` with Chinese headers, in the layer's order."""
    meets = np.where(centres["minimum_area_m2"].isna(), "无标准",
                     np.where(centres["flag_centre_too_small"], "不达标", "达标"))
    return pd.DataFrame({
        "名称": centres["name"], "级别": centres["level"],
        "面积（㎡）": pd.to_numeric(centres.get("area_m2"), errors="coerce"),
        "面积标准（㎡）": centres["minimum_area_m2"], "面积是否达标": meets,
        "开放时间": centres.get("hours"), "所在园区": centres["park"],
        f"服务半径{radius_m:,.0f}米内单位": centres["served_units"],
    }).reset_index(drop=True)
