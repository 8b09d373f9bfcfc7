"""Coverage status and rule flags (DOMAIN.md R1–R13 and its settled points).

:func:`assess` turns placed units and the county's layers into the frames every screen and the
headless report read: units with their status and flags, and the orgs, grids, instructors,
centres and parks with theirs. All of it is column arithmetic on frames (no loop over units),
so a 1,000,000-unit city is assessed in seconds.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from services.county import County
from services.ledger import ENTERPRISE, QUALITY_FLAGS, SOCIAL_ORG
from services.nearest import nearest_points
from services.placement import PLACEMENT_FLAGS
from services.settings import DEFAULT_POLICY, Policy
from services.text import is_in, positions_in, take_distinct

OWN, JOINT, WORK, BLIND = "own", "joint", "work", "blind"
STATUSES = (OWN, JOINT, WORK, BLIND)
STATUS_LABELS = {OWN: "单独组建", JOINT: "联合组建", WORK: "工作覆盖", BLIND: "空白点"}

SINGLE_ORG_TYPES = ("党委", "党总支", "党支部")
SHARED_ORG_TYPES = ("联合党支部", "网格党支部", "区域性党组织")
COVERING_ORG_TYPES = SINGLE_ORG_TYPES + SHARED_ORG_TYPES  # 功能型党支部 gives no coverage
BRANCH_TYPES = ("党支部", "联合党支部", "网格党支部")

# Rule flags in the order DOMAIN.md lists them; where each is counted is in the comment.
UNIT_RULE_FLAGS = (
    "should_form_own",            # R1
    "over100_without_org",        # R3
    "over50_without_member",      # R3
    "social30_without_org",       # R3
    "no_instructor",              # R4
    "suggest_functional_branch",  # R7
    "outside_service_radius",     # R9
    "missing_reason",             # R11
    "few_activists",              # R13
)
ORG_FLAGS = ("joint_over_cap", "branch_too_large", "empty_shell", "term_overdue")  # R2 R5 R6 R8
INSTRUCTOR_FLAGS = ("instructor_overload",)  # R4
GRID_FLAGS = ("grid_without_branch", "grid_without_leader")  # R10
CENTRE_FLAGS = ("centre_too_small",)  # R9
PARK_FLAGS = ("park_without_centre",)  # R9
RULE_FLAGS = (
    "should_form_own", "joint_over_cap", "over100_without_org", "over50_without_member",
    "social30_without_org", "instructor_overload", "no_instructor", "branch_too_large",
    "empty_shell", "suggest_functional_branch", "term_overdue", "centre_too_small",
    "park_without_centre", "outside_service_radius", "grid_without_branch",
    "grid_without_leader", "missing_reason", "few_activists",
)
# Flags a unit can carry: its rules first, then what the ledger and placement found.
UNIT_FLAGS = UNIT_RULE_FLAGS + QUALITY_FLAGS + PLACEMENT_FLAGS

_GEOD = Geod(ellps="WGS84")


@dataclasses.dataclass
class Assessment:
    """Everything the rules say about one county's units.

    ``units`` are the in-scope units (注销 removed) with ``status``, ``org_type_used``,
    ``priority_blind``, ``centre_distance_m``, ``nearest_centre`` and ``flag_<name>`` columns.
    The other frames carry their own flags as boolean ``flag_<name>`` columns.
    """

    units: pd.DataFrame
    orgs: pd.DataFrame
    grids: pd.DataFrame
    instructors: pd.DataFrame
    centres: pd.DataFrame
    parks: pd.DataFrame
    out_of_scope: int
    policy: Policy

    def flag_counts(self) -> dict[str, int]:
        """Each rule flag counted once per flagged thing (DOMAIN.md settled points)."""
        sources = {
            **{flag: self.units for flag in UNIT_RULE_FLAGS},
            **{flag: self.orgs for flag in ORG_FLAGS},
            **{flag: self.instructors for flag in INSTRUCTOR_FLAGS},
            **{flag: self.grids for flag in GRID_FLAGS},
            **{flag: self.centres for flag in CENTRE_FLAGS},
            **{flag: self.parks for flag in PARK_FLAGS},
        }
        return {flag: int(sources[flag][f"flag_{flag}"].sum()) for flag in RULE_FLAGS}


def assess(placed: pd.DataFrame, county: County, policy: Policy = DEFAULT_POLICY) -> Assessment:
    """Decide every in-scope unit's coverage status and every rule flag.

    Parameters
    ----------
    placed
        Units from :func:`services.placement.place_units`.
    county
        The county's layers (grids required; centres, parks and instructors when known).
    policy
        The policy numbers (joint cap, service radius, as-of date, thresholds).

    Returns
    -------
    Assessment
        Units out of scope (经营状态 注销) are outside everything: totals, grids, flags,
        instructor loads and org sizes (DOMAIN.md settled points).
    """
    in_scope = placed["business_status"].ne("注销").to_numpy()
    # The distances to the centres are measured on a second thread while this one copies the
    # in-scope units and decides their statuses: that work is numpy's and pyproj's, which let
    # go of the GIL, so a second core takes it (at 100k units assess went from 0.21–0.23 s to
    # 0.14–0.19 s; BENCHMARKS.md, session 8).
    with ThreadPoolExecutor(max_workers=1) as pool:
        reach = pool.submit(_service_reach, placed["x"].to_numpy()[in_scope],
                            placed["y"].to_numpy()[in_scope], county.centres, policy)
        units = placed[in_scope].reset_index(drop=True)
        units["org_type_used"] = _org_types(units)
        orgs = _orgs(units, policy)
        _statuses(units, orgs)
        _unit_rules(units, policy)
        for column, values in reach.result().items():
            units[column] = values
    return Assessment(
        units=units,
        orgs=orgs,
        grids=_grid_rules(units, county, policy),
        instructors=_instructor_rules(units, county, policy),
        centres=_centre_rules(county, policy),
        parks=_park_rules(county),
        out_of_scope=int((~in_scope).sum()),
        policy=policy,
    )


def _org_types(units: pd.DataFrame) -> pd.Series:
    """Each unit's org type: the ledger's, else read off the org's name ("…联合党支部").

    Why infer: ledgers often leave 党组织类型 blank when the name says it all. An unknown type
    written in the ledger stays unknown (that org gives no coverage, ``unknown_org_type``).
    """
    written = units["org_type"]
    has_org = units["org_key"].notna()
    blank = has_org & written.isna() & ~units["flag_unknown_org_type"]
    inferred = units.loc[blank, "org_key"].map(_type_from_name)
    result = written.where(has_org).copy()
    result[blank] = inferred
    not_inferable = blank & result.isna()
    units.loc[not_inferable, "flag_unknown_org_type"] = True
    return result


def _type_from_name(name: str) -> str | None:
    """The org type a name implies, or None."""
    for suffix, org_type in (("联合党支部", "联合党支部"), ("综合党委", "区域性党组织"),
                             ("功能型党支部", "功能型党支部"), ("流动党员党支部", "功能型党支部"),
                             ("党总支", "党总支"), ("党委", "党委"), ("党支部", "党支部")):
        if name.endswith(suffix):
            if org_type == "党支部" and "网格" in name:
                return "网格党支部"
            return org_type
    return None


def _orgs(units: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """One row per org named in the ledger, with its size, type, term and flags (R2 R5 R6 R8).

    An org's type is the first type written for it; its formal members are summed over its
    in-scope units; its last election is the latest date any of its units records.
    """
    # Only the columns the orgs need: filtering the whole wide frame copies every text column.
    with_org = units.loc[units["org_key"].notna(),
                         ["org_key", "org_name", "org_type_used", "formal_members", "org_elected", "grid_id", "x", "y"]]
    if with_org.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in
                             ["org_key", "name", "org_type", "units", "formal_members", "elected",
                              *[f"flag_{f}" for f in ORG_FLAGS]]})
    grouped = with_org.groupby("org_key", sort=False)
    orgs = pd.DataFrame({
        "name": grouped["org_name"].first(),
        "org_type": grouped["org_type_used"].first(),
        "units": grouped.size(),
        "formal_members": grouped["formal_members"].sum(),
        "elected": grouped["org_elected"].max(),
        "grid_id": grouped["grid_id"].first(),
        "seat_x": grouped["x"].first(),
        "seat_y": grouped["y"].first(),
    }).reset_index()
    org_type = orgs["org_type"]
    covering = org_type.isin(COVERING_ORG_TYPES)
    shared_branch = org_type.eq("联合党支部") | (org_type.eq("党支部") & orgs["units"].ge(2))
    orgs["covering"] = covering
    orgs["flag_joint_over_cap"] = shared_branch & orgs["units"].gt(policy.joint_cap)
    orgs["flag_branch_too_large"] = org_type.isin(BRANCH_TYPES) & orgs["formal_members"].gt(policy.branch_max_members)
    orgs["may_form_committee"] = orgs["flag_branch_too_large"] & orgs["formal_members"].ge(policy.committee_min_members)
    orgs["flag_empty_shell"] = covering & orgs["formal_members"].lt(policy.empty_shell_below_members)
    is_committee = org_type.eq("党委") | (org_type.eq("区域性党组织") & orgs["name"].astype(str).str.strip().str.endswith("党委"))
    term_years = np.where(is_committee, policy.committee_term_years, policy.branch_term_years)
    orgs["term_years"] = term_years
    orgs["term_ends"] = _add_years(orgs["elected"], term_years)
    orgs["flag_term_overdue"] = orgs["term_ends"].notna() & (pd.Timestamp(policy.as_of_date()) > orgs["term_ends"])
    return orgs


def _add_years(dates: pd.Series, years: np.ndarray) -> pd.Series:
    """``dates`` plus a whole number of years each; 29 February falls back to the 28th.

    Vectorised because a city's ledger names a hundred thousand orgs.
    """
    valid = dates.notna()
    year = dates.dt.year.fillna(2000).astype("int64") + years
    month = dates.dt.month.fillna(1).astype("int64")
    day = dates.dt.day.fillna(1).astype("int64")
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    day = day.where(~((month == 2) & (day == 29) & ~leap), 28)
    ends = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}))
    return ends.where(valid)


def _statuses(units: pd.DataFrame, orgs: pd.DataFrame) -> None:
    """own → joint → work → blind, in that order (DOMAIN.md "Coverage status")."""
    if len(orgs):
        # Worked out per org, then taken per unit by the org's position (a city's million
        # units name a hundred thousand orgs).
        position = positions_in(units["org_key"], orgs["org_key"])
        found = position >= 0
        at = np.where(found, position, 0)
        org_units = np.where(found, orgs["units"].to_numpy(dtype=float)[at], 0)
        covering = found & orgs["covering"].to_numpy(dtype=bool)[at]
        single = found & orgs["org_type"].isin(SINGLE_ORG_TYPES).to_numpy(dtype=bool)[at]
    else:
        org_units = np.zeros(len(units))
        covering = single = np.zeros(len(units), dtype=bool)
    own = covering & single & (org_units == 1)
    joint = covering & ~own
    has_instructor = units["instructor"].notna().to_numpy()
    has_mass_org = units["mass_orgs"].ne("").to_numpy()
    work = ~covering & (has_instructor | has_mass_org)
    status = np.select([own, joint, work], [0, 1, 2], default=3)  # positions in STATUSES
    units["status"] = take_distinct(np.array(STATUSES, dtype=object), status, units.index)
    units["covering_org"] = _where(units["org_key"], covering)
    units["org_units"] = org_units.astype("int64")


def _where(values: pd.Series, keep: np.ndarray) -> pd.Series:
    """``values`` where ``keep``, else missing, typed as pandas types ``np.where(keep, values,
    None)``; a text column stays Arrow strings instead of a round trip through a million
    Python strings."""
    if isinstance(values.dtype, pd.StringDtype):
        return values.where(keep)
    return pd.Series(np.where(keep, values.to_numpy(dtype=object), None), index=values.index)


def _unit_rules(units: pd.DataFrame, policy: Policy) -> None:
    """The unit flags of R1, R3, R4, R7, R11 and R13."""
    status = units["status"]
    covered = status.isin([OWN, JOINT])
    employees = units["employees"]
    enterprise = units["kind"].eq(ENTERPRISE)
    members = units["formal_members"] + units["probationary_members"] + units["mobile_members"]
    units["flag_should_form_own"] = units["formal_members"].ge(policy.own_org_min_formal_members) & status.ne(OWN)
    units["flag_over100_without_org"] = enterprise & employees.ge(policy.enterprise_org_min_employees) & ~covered
    units["flag_over50_without_member"] = enterprise & employees.ge(policy.enterprise_member_min_employees) & members.eq(0)
    units["flag_social30_without_org"] = units["kind"].eq(SOCIAL_ORG) & employees.ge(policy.social_org_min_staff) & ~covered
    units["flag_no_instructor"] = ~covered & units["instructor"].isna()
    units["flag_suggest_functional_branch"] = units["mobile_members"].gt(policy.functional_branch_above_mobile)
    units["flag_missing_reason"] = ~covered & units["reason_no_org"].eq("")
    required = pd.Series(0, index=units.index)
    for threshold, minimum in policy.activists_min_by_employees:
        required = required.where(~employees.ge(threshold) | required.ge(minimum), minimum)
    few = units["activists"].lt(required)
    units["flag_few_activists"] = few
    units["priority_blind"] = status.eq(BLIND) & (
        units["flag_over100_without_org"] | units["flag_over50_without_member"] | units["flag_social30_without_org"])


def _service_reach(x: np.ndarray, y: np.ndarray, centres: gpd.GeoDataFrame | None,
                   policy: Policy) -> dict[str, object]:
    """Each unit's distance to its nearest centre in geodesic metres, that centre's name and
    whether it lies beyond the service radius (R9): the ``centre_distance_m``,
    ``nearest_centre`` and ``flag_outside_service_radius`` columns, for units drawn at
    ``x``/``y`` (WGS-84; NaN for an unplaced unit).

    The nearest centre is found in a local equirectangular frame (metres east and north, see
    :func:`services.nearest.nearest_points`), then its geodesic distance is measured on the
    WGS-84 ellipsoid. Without a centres layer the reach cannot be judged and no unit is flagged.
    Arrays in, arrays out, so it can run on a thread of its own (see :func:`assess`).
    """
    n = len(x)
    placed = ~np.isnan(x)
    distances = np.full(n, np.nan)
    nearest = np.full(n, -1, dtype=np.int64)
    if centres is None or not placed.any():
        outside = np.zeros(n, dtype=bool)
    elif len(centres) == 0:
        outside = placed
    else:
        cx = centres.geometry.x.to_numpy()
        cy = centres.geometry.y.to_numpy()
        ux, uy = x[placed], y[placed]
        scale = np.cos(np.radians(np.nanmean(uy)))
        # Units in one building or park share a point: each distinct point is searched and
        # measured once (a quarter of a city's units), then the answers are spread back.
        spot, spots = _distinct_points(ux, uy)
        sx, sy = spots.real, spots.imag
        nearest_of_spot = nearest_points(sx * scale, sy, cx * scale, cy)
        _, _, spot_distance = _GEOD.inv(sx, sy, cx[nearest_of_spot], cy[nearest_of_spot])
        distances[placed] = spot_distance[spot]
        nearest[placed] = nearest_of_spot[spot]
        outside = placed & (distances > policy.service_radius_m)
    names = centres["name"].to_numpy(dtype=object) if centres is not None else np.empty(0, dtype=object)
    return {
        "centre_distance_m": distances,
        "nearest_centre": take_distinct(np.append(names, None), nearest).array,
        "flag_outside_service_radius": outside,
    }


def _distinct_points(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per point, the index of its distinct (x, y); and the distinct points as complex
    numbers x + iy (an exact pair of floats that pandas can hash in one pass)."""
    pairs = np.empty(len(x), dtype=np.complex128)
    pairs.real, pairs.imag = x, y
    codes, distinct = pd.factorize(pairs)
    return codes, np.asarray(distinct, dtype=np.complex128)


def _grid_rules(units: pd.DataFrame, county: County, policy: Policy) -> pd.DataFrame:
    """R10 per grid: eligible units but no org at all; no leader."""
    grids = pd.DataFrame(county.grids.drop(columns="geometry")).reset_index(drop=True)
    eligible = units["fixed_premises"] & units["employees"].ge(policy.grid_eligible_min_employees)
    has_eligible = units.loc[eligible, "grid_id"].dropna().unique()
    has_covered = units.loc[units["status"].isin([OWN, JOINT]), "grid_id"].dropna().unique()
    grid_ids = grids["id"]
    leader = grids["leader"] if "leader" in grids else pd.Series(None, index=grids.index)
    grids["flag_grid_without_branch"] = is_in(grid_ids, has_eligible) & ~is_in(grid_ids, has_covered)
    grids["flag_grid_without_leader"] = leader.isna() | leader.astype(str).str.strip().isin(["", "nan", "None"])
    return grids


def _instructor_rules(units: pd.DataFrame, county: County, policy: Policy) -> pd.DataFrame:
    """R4: how many in-scope units each instructor serves, and who serves too many."""
    named = units.loc[units["instructor"].notna(), "instructor"].astype(str).str.strip()
    loads = named.groupby(named).size().rename("units")
    frame = loads.rename_axis("name").reset_index()
    if county.instructors is not None and len(county.instructors):
        frame = county.instructors.merge(frame, on="name", how="outer")
        frame["units"] = frame["units"].fillna(0).astype("int64")
        frame["listed"] = is_in(frame["name"], county.instructors["name"])
    else:
        frame["listed"] = False
    frame["flag_instructor_overload"] = frame["units"].gt(policy.instructor_max_units)
    return frame


def _centre_rules(county: County, policy: Policy) -> pd.DataFrame:
    """R9: centres below the minimum floor area their level requires (县级 200 m², 市级 400 m²)."""
    centres = pd.DataFrame(county.layer("centres").drop(columns="geometry")).reset_index(drop=True)
    minimum = centres["level"].map(dict(policy.centre_min_area_m2)) if len(centres) else pd.Series(dtype=float)
    area = pd.to_numeric(centres.get("area_m2"), errors="coerce") if len(centres) else pd.Series(dtype=float)
    centres["minimum_area_m2"] = minimum
    centres["flag_centre_too_small"] = (area < minimum).fillna(False).astype(bool) if len(centres) else pd.Series(dtype=bool)
    return centres


def _park_rules(county: County) -> pd.DataFrame:
    """R9: a park has a centre when a centre point lies inside its polygon."""
    parks_layer = county.layer("parks").reset_index(drop=True)
    parks = pd.DataFrame(parks_layer.drop(columns="geometry"))
    centres = county.layer("centres")
    if len(parks) == 0:
        parks["flag_park_without_centre"] = pd.Series(dtype=bool)
        return parks
    if len(centres):
        tree = shapely.STRtree(centres.geometry.values)
        park_index, _ = tree.query(parks_layer.geometry.values, predicate="intersects")
        with_centre = np.isin(np.arange(len(parks)), park_index)
    else:
        with_centre = np.zeros(len(parks), dtype=bool)
    parks["has_centre"] = with_centre
    parks["flag_park_without_centre"] = ~with_centre
    return parks
