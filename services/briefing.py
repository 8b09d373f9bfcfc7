"""The 汇报演示 sequence: which views a presenter steps through, and what each one says.

A briefing is a handful of views shown in an order the presenter chooses (全县总览 → towns
ranked → a park → a building → a grid → blind spots → service centres → progress). Each view
sets the map (which units, which layers, where it looks) and shows ONE headline figure with ONE
sentence, generated here from the data, never typed by hand: the sentence names where things
concentrate ("集中在青禾街道（174个）、云溪镇（72个）…"), so it stays true after every import.

Everything is computed from the :class:`~services.analysis.Analysis` the page shows, with the
same functions as the other pages (:func:`services.rates.coverage_rates`,
:func:`services.places.place_table`…), so a figure on the projector equals the report's and
the page's. The page passes the analysis as the viewer may see it (scoped, anonymised for a
public briefing), so a sentence can never name more than the screen.

Steps are plain data (:class:`Step`, JSON through :func:`steps_to_json` /
:func:`steps_from_json`) so the presenter's sequence can be saved in the store.
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import shapely

from services import places
from services.analysis import Analysis
from services.coverage import BLIND, JOINT, OWN, WORK
from services.rates import coverage_rates, totals
from services.snapshots import Snapshot, UNIT_COLUMNS

KINDS = ("county", "towns", "park", "building", "grid", "blind_spots", "centres", "progress")
KIND_LABELS = {"county": "全县总览", "towns": "乡镇街道覆盖率排名", "park": "园区", "building": "商务楼宇",
               "grid": "网格", "blind_spots": "空白点", "centres": "党群服务中心", "progress": "目标进度"}
# Steps about one place or grid, and the county layer their target names.
TARGET_LAYERS = {"park": "parks", "building": "buildings", "grid": "grids"}

# Map layers (keys of dashboard.county_map.LAYER_NAMES) each kind of step shows: only what
# the sentence talks about, so the room sees the point and not every layer at once.
STEP_LAYERS = {
    "county": frozenset({"grids", "parks", "buildings", "markets", "centres", "units"}),
    "towns": frozenset({"grids", "grid_labels"}),
    "park": frozenset({"grids", "parks", "centres", "radius", "links", "units"}),
    "building": frozenset({"grids", "buildings", "centres", "radius", "links", "units"}),
    "grid": frozenset({"grids", "grid_labels", "parks", "buildings", "markets", "centres", "links", "units"}),
    "blind_spots": frozenset({"grids", "grid_labels", "units"}),
    "centres": frozenset({"grids", "parks", "centres", "radius", "units"}),
    "progress": frozenset({"grids", "units"}),
}
TOP_PLACES = 3  # how many towns or grids a sentence names where something concentrates


@dataclasses.dataclass(frozen=True)
class Step:
    """One view of the briefing: its kind and, for a park, building or grid, which one
    (its name, or the grid's id)."""

    kind: str
    target: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown briefing step {self.kind!r}")
        if (self.target is None) != (self.kind not in TARGET_LAYERS):
            raise ValueError(f"step {self.kind!r} {'needs' if self.kind in TARGET_LAYERS else 'takes no'} target")

    def to_json(self) -> dict:
        return {"kind": self.kind} if self.target is None else {"kind": self.kind, "target": self.target}


@dataclasses.dataclass(frozen=True)
class Headline:
    """What a step says: a title, one figure (label and value, as shown) and one sentence."""

    title: str
    figure_label: str
    figure_value: str
    sentence: str


@dataclasses.dataclass
class StepView:
    """What the map shows for a step: which units, which layers, where it looks.

    ``focus_bounds`` (WGS-84 ``minx, miny, maxx, maxy``) wins over ``focus_grids``; neither
    means the whole area. Units of a place are fanned out around their shared point
    (:func:`services.places.spread_stacked`) so a building's tenants can each be seen.
    ``grids`` are the grids to draw when the view is about one place or grid (those around
    it; None: all): a city's thousand grid outlines would be sent to the room for a view that
    shows a dozen of them.
    """

    units: pd.DataFrame
    layers: frozenset
    focus_grids: tuple = ()
    focus_bounds: tuple | None = None
    grids: tuple | None = None


# --- the sequence ------------------------------------------------------------------------------


def steps_to_json(steps: list[Step]) -> list[dict]:
    return [step.to_json() for step in steps]


def steps_from_json(data) -> list[Step]:
    """The steps of a saved sequence; entries that are not a valid step are left out (a
    setting written by an older version must not stop a briefing)."""
    steps = []
    for entry in data if isinstance(data, list) else []:
        try:
            target = entry.get("target")
            steps.append(Step(str(entry["kind"]), None if target is None else str(target)))
        except (AttributeError, KeyError, TypeError, ValueError):
            continue
    return steps


def default_steps(analysis: Analysis) -> list[Step]:
    """The standard sequence, with the park, building and grid chosen from the data: the park
    and the building with the most units in them, the grid with the most blind spots (the
    lowest organisation coverage on a tie). A view the county has no layer for is left out."""
    steps = [Step("county"), Step("towns")]
    for kind in ("park", "building"):
        table = _place_table(analysis, kind)
        table = table[table["units"] > 0]
        if len(table):
            best = table.sort_values("units", ascending=False, kind="stable").iloc[0]
            steps.append(Step(kind, str(best["name"])))
    grid = busiest_grid(analysis)
    if grid is not None:
        steps.append(Step("grid", grid))
    steps.append(Step("blind_spots"))
    if analysis.county.centres is not None:
        steps.append(Step("centres"))
    steps.append(Step("progress"))
    return steps


def busiest_grid(analysis: Analysis) -> str | None:
    """The grid with the most blind spots (then the lowest organisation coverage, then id)."""
    rates = coverage_rates(analysis.units, by="grid_id")
    if rates.empty:
        return None
    ranked = rates.assign(_id=rates.index).sort_values(["blind", "org_coverage_rate", "_id"],
                                                       ascending=[False, True, True], na_position="last")
    return str(ranked.index[0])


def usable(analysis: Analysis, step: Step) -> bool:
    """Whether the step can be shown on this analysis (its place or grid is in the viewer's
    area; the county has the layer it needs)."""
    if step.kind in TARGET_LAYERS:
        return step.target in set(target_choices(analysis, step.kind))
    if step.kind == "centres":
        return analysis.county.centres is not None
    return True


def target_choices(analysis: Analysis, kind: str) -> dict[str, str]:
    """The parks, buildings or grids a step of ``kind`` can show: target → label."""
    if kind == "grid":
        grids = analysis.county.grids
        return {str(i): f"{n}（{i}）" for i, n in zip(grids["id"], grids["name"])}
    layer = analysis.county.layer(TARGET_LAYERS[kind])
    return {str(n): str(n) for n in layer["name"].dropna()}


def step_label(analysis: Analysis, step: Step) -> str:
    """The step as the sequence editor lists it: "园区：禾丰镇农产品加工园区"."""
    if step.target is None:
        return KIND_LABELS[step.kind]
    name = target_choices(analysis, step.kind).get(step.target, step.target)
    return f"{KIND_LABELS[step.kind]}：{name}"


# --- what a step says ----------------------------------------------------------------------------


def headline(analysis: Analysis, step: Step, *, area: str = "全县",
             history: pd.DataFrame | None = None) -> Headline:
    """The step's title, headline figure and sentence, from the data.

    ``area`` is what the viewer's analysis covers ("全县", or a town's name for a town
    account). ``history`` is the progress step's series of snapshots (columns ``label``,
    ``org_coverage_rate``, ``work_coverage_rate``, oldest first), as the viewer sees them.
    """
    return _HEADLINES[step.kind](analysis, step, area, history)


def _county(analysis: Analysis, step: Step, area: str, history) -> Headline:
    row = totals(analysis.units)
    sentence = (f"{area}在册单位{_n(row['units'])}个，单独组建{_n(row[OWN])}个、联合组建{_n(row[JOINT])}个、"
                f"工作覆盖{_n(row[WORK])}个，党的工作覆盖率{percent(row['work_coverage_rate'])}；"
                f"空白点{_n(row[BLIND])}个，其中重点空白点{_n(row['priority_blind'])}个。")
    return Headline(f"{area}总览", "党的组织覆盖率", percent(row["org_coverage_rate"]), sentence)


def town_ranking(analysis: Analysis) -> pd.DataFrame:
    """Towns with units, highest organisation coverage first (``town``, the counts and rates
    of :func:`services.rates.coverage_rates`)."""
    rates = coverage_rates(analysis.units, by="town_name")
    rates = rates[rates["units"] > 0].rename_axis("town").reset_index()
    return rates.sort_values(["org_coverage_rate", "units"], ascending=[False, False], kind="stable",
                             na_position="last").reset_index(drop=True)


def _towns(analysis: Analysis, step: Step, area: str, history) -> Headline:
    ranking = town_ranking(analysis)
    if ranking.empty:
        return Headline("乡镇街道覆盖率排名", "乡镇街道", "0个", "没有可排名的乡镇街道（没有已定位的单位）。")
    best, worst = ranking.iloc[0], ranking.iloc[-1]
    county_rate = totals(analysis.units)["org_coverage_rate"]
    below = ranking[ranking["org_coverage_rate"] < county_rate].sort_values("org_coverage_rate")
    sentence = (f"{len(ranking)}个乡镇街道中，组织覆盖率最高的是{best['town']}（{percent(best['org_coverage_rate'])}），"
                f"最低的是{worst['town']}（{percent(worst['org_coverage_rate'])}），"
                f"相差{_points(best['org_coverage_rate'] - worst['org_coverage_rate'])}个百分点")
    if len(below):
        sentence += (f"；低于{area}平均（{percent(county_rate)}）的有{len(below)}个："
                     f"{'、'.join(below['town'].astype(str))}")
    return Headline("乡镇街道覆盖率排名", f"覆盖率最低：{worst['town']}", percent(worst["org_coverage_rate"]),
                    sentence + "。")


def _place_table(analysis: Analysis, kind: str) -> pd.DataFrame:
    return places.place_table(analysis, TARGET_LAYERS[kind])


def _place(analysis: Analysis, step: Step, area: str, history) -> Headline:
    table = _place_table(analysis, step.kind)
    row = table[table["name"] == step.target].iloc[0]
    label = KIND_LABELS[step.kind]
    size = ""
    if step.kind == "building" and row.get("floors") == row.get("floors") and row.get("floors") is not None:
        size = f"（{int(row['floors'])}层）"
    sentence = (f"{step.target}{size}入驻单位{_n(row['units'])}个，单独组建{_n(row[OWN])}个、"
                f"联合组建{_n(row[JOINT])}个、工作覆盖{_n(row[WORK])}个，空白点{_n(row[BLIND])}个"
                f"（重点{_n(row['priority_blind'])}个）")
    org = row.get("regional_org")
    if isinstance(org, str):
        kind = "区域性党组织" if row["regional_org_typed"] else "共建党组织"
        sentence += f"；{kind}{org}覆盖其中{_n(row['regional_org_tenants'])}家"
    else:
        sentence += "；尚未建立区域性党组织"
    if row["has_centre"]:
        sentence += f"；有党群服务中心（站）：{row['centre']}。"
    elif isinstance(row.get("nearest_centre"), str):
        sentence += (f"；尚无党群服务中心（站），最近的是{row['nearest_centre']}"
                     f"（{places.distance_text(row['nearest_centre_m'])}）。")
    else:
        sentence += "；尚无党群服务中心（站）。"
    return Headline(f"{label}：{step.target}", "入驻单位组织覆盖率", percent(row["org_coverage_rate"]), sentence)


def _grid(analysis: Analysis, step: Step, area: str, history) -> Headline:
    grids = analysis.county.grids.set_index("id")
    grid = grids.loc[step.target]
    units = analysis.units
    row = coverage_rates(units[units["grid_id"] == step.target], by="grid_id",
                         groups=[step.target]).iloc[0]
    all_blind = int(units["status"].eq(BLIND).sum())
    town = grid.get("town")
    where = f"{town}·" if isinstance(town, str) and town and not str(grid["name"]).startswith(town) else ""
    sentence = (f"{where}{grid['name']}有单位{_n(row['units'])}个，党的工作覆盖率{percent(row['work_coverage_rate'])}；"
                f"空白点{_n(row[BLIND])}个，其中重点空白点{_n(row['priority_blind'])}个")
    if all_blind and row[BLIND]:
        sentence += f"，占{area}空白点的{percent(row[BLIND] / all_blind, 1)}"
    leader = grid.get("leader")
    sentence += "；网格长" + ("已配备" if isinstance(leader, str) and leader.strip() else "尚未配备")
    flags = analysis.assessment.grids.set_index("id")
    if step.target in flags.index and bool(flags.loc[step.target].get("flag_grid_without_branch", False)):
        sentence += "；网格内尚无任何党组织，应组建网格党支部"
    return Headline(f"网格：{grid['name']}（{step.target}）", "网格组织覆盖率", percent(row["org_coverage_rate"]),
                    sentence + "。")


def _concentration(counts: pd.Series, unit: str) -> str:
    """"青禾街道（174个）、云溪镇（72个）、白沙镇（36个）" for the largest counts."""
    top = counts[counts > 0].sort_values(ascending=False, kind="stable").head(TOP_PLACES)
    return "、".join(f"{name}（{_n(count)}{unit}）" for name, count in top.items())


def _blind_spots(analysis: Analysis, step: Step, area: str, history) -> Headline:
    units = analysis.units
    blind = units[units["status"].eq(BLIND)]
    count, priority = len(blind), int(blind["priority_blind"].sum())
    if not count:
        return Headline("空白点", "空白点", "0个", f"{area}没有空白点：每个在册单位都已实现组织覆盖或工作覆盖。")
    by_town = blind.groupby("town_name").size()
    top = by_town.sort_values(ascending=False, kind="stable").head(TOP_PLACES)
    sentence = f"{area}空白点{_n(count)}个，其中重点空白点{_n(priority)}个"
    if len(by_town) > 1:
        sentence += (f"，集中在{_concentration(by_town, '个')}，"
                     f"{'这' + _chinese_count(len(top)) + '地' if len(top) > 1 else '该地'}合计占{percent(top.sum() / count, 1)}")
    elif len(by_town) == 1:
        sentence += f"，全部在{by_town.index[0]}"
    if priority:
        by_grid = blind[blind["priority_blind"]].groupby("grid_id").size()
        names = dict(zip(analysis.county.grids["id"], analysis.county.grids["name"]))
        if len(by_grid):
            grid_id = by_grid.sort_values(ascending=False, kind="stable").index[0]
            sentence += (f"；重点空白点最多的网格是{names.get(grid_id, grid_id)}（{grid_id}，"
                         f"{_n(by_grid[grid_id])}个），应优先选派党建工作指导员、推动组建")
    unplaced = int(blind["x"].isna().sum())
    if unplaced:
        sentence += f"；另有{_n(unplaced)}个空白点无法在地图上定位"
    return Headline("空白点（重点优先）", "空白点", f"{_n(count)}个", sentence + "。")


def _centres(analysis: Analysis, step: Step, area: str, history) -> Headline:
    units = analysis.units
    radius = analysis.assessment.policy.service_radius_m
    centres = analysis.assessment.centres
    gap = places.service_gap_summary(units)
    levels = places.centres_by_level(centres)
    sentence = f"{area}党群服务中心{len(centres)}个"
    if len(levels):
        sentence += "（" + "、".join(f"{level}{int(n)}个" for level, n in levels.items()) + "）"
    sentence += f"，{radius:,.0f}米服务半径外的单位{_n(gap['outside'])}家"
    if gap["share"] is not None:
        sentence += f"，占已定位单位的{percent(gap['share'], 1)}"
    if gap["outside"]:
        outside = units[units["flag_outside_service_radius"]].groupby("town_name").size()
        if len(outside):
            sentence += f"，最多在{_concentration(outside, '家')}"
    too_small = int(centres["flag_centre_too_small"].sum()) if "flag_centre_too_small" in centres else 0
    if too_small:
        sentence += f"；面积不达标的中心{too_small}个"
    parks = analysis.assessment.parks
    if "has_centre" in parks and len(parks):
        without = parks.loc[~parks["has_centre"].astype(bool), "name"].astype(str).tolist()
        if without:
            sentence += f"；没有党群服务中心的园区{len(without)}个：{'、'.join(without)}"
    return Headline("党群服务中心与服务空白", "服务半径外单位", f"{_n(gap['outside'])}家", sentence + "。")


def _progress(analysis: Analysis, step: Step, area: str, history) -> Headline:
    row = totals(analysis.units)
    org, work = row["org_coverage_rate"], row["work_coverage_rate"]
    if org != org:
        return Headline("距100%目标的进度", "尚未实现组织覆盖", "—", f"{area}没有在册单位。")
    uncovered = int(row["units"] - row[OWN] - row[JOINT])
    sentence = (f"党的组织覆盖率{percent(org)}，距100%目标还差{_points(1 - org)}个百分点，"
                f"即{_n(uncovered)}个单位尚未实现组织覆盖；党的工作覆盖率{percent(work)}，"
                f"还差{_points(1 - work)}个百分点（空白点{_n(row[BLIND])}个）")
    earlier = None if history is None else history[history["org_coverage_rate"].notna()]
    if earlier is not None and len(earlier) and not _is_now(earlier.iloc[0]):
        first = earlier.iloc[0]
        change = (org - first["org_coverage_rate"]) * 100
        trend = "持平" if abs(change) < 0.005 else (f"上升{abs(change):.2f}个百分点" if change > 0
                                                   else f"下降{abs(change):.2f}个百分点")
        sentence += f"；与“{first['label']}”相比，组织覆盖率{trend}"
    return Headline("距100%目标的进度", "距组织覆盖率100%还差", f"{_n(uncovered)}个单位", sentence + "。")


def _is_now(row) -> bool:
    return bool(row.get("now", False))


_HEADLINES = {"county": _county, "towns": _towns, "park": _place, "building": _place, "grid": _grid,
              "blind_spots": _blind_spots, "centres": _centres, "progress": _progress}


# --- what the map shows ---------------------------------------------------------------------


def step_view(analysis: Analysis, step: Step) -> StepView:
    """The map of a step: the units the sentence is about, the layers it needs, its extent."""
    units = analysis.units
    layers = STEP_LAYERS[step.kind]
    if step.kind in ("park", "building"):
        kind = TARGET_LAYERS[step.kind]
        tenants = places.spread_stacked(places.place_tenants(units, kind, step.target))
        bounds = places.place_bounds(analysis, kind, step.target, tenants=tenants)
        return StepView(tenants, layers, focus_bounds=bounds, grids=grids_around(analysis, bounds))
    if step.kind == "grid":
        grid = analysis.county.grids.loc[analysis.county.grids["id"] == step.target]
        return StepView(units[units["grid_id"] == step.target], layers, focus_grids=(step.target,),
                        grids=grids_around(analysis, tuple(grid.total_bounds)))
    if step.kind == "blind_spots":
        blind = units[units["status"].eq(BLIND)]
        # Priority blind spots drawn last, so their rings are on top.
        return StepView(blind.sort_values("priority_blind", kind="stable"), layers)
    if step.kind == "centres":
        return StepView(places.service_gap(units), layers)
    if step.kind == "progress":  # what is left to reach 100%: the units without an org
        return StepView(units[~units["status"].isin((OWN, JOINT))], layers)
    if step.kind == "towns":
        return StepView(units.iloc[0:0], layers)
    return StepView(units, layers)


def grids_around(analysis: Analysis, bounds, margin: float = 1.0) -> tuple | None:
    """The ids of the grids that touch ``bounds`` widened by ``margin`` times its size on each
    side (what a presenter sees when zooming out a little); None without bounds."""
    if bounds is None:
        return None
    minx, miny, maxx, maxy = bounds
    dx, dy = (maxx - minx) * margin, (maxy - miny) * margin
    grids = analysis.county.grids
    near = grids.geometry.intersects(shapely.box(minx - dx, miny - dy, maxx + dx, maxy + dy))
    return tuple(grids.loc[near.to_numpy(), "id"])


# --- progress over time ------------------------------------------------------------------------


def current_snapshot(analysis: Analysis, label: str = "现在") -> Snapshot:
    """The analysis's figures as a :class:`~services.snapshots.Snapshot` that is not stored
    (id 0), so "现在" can be compared with any snapshot by :func:`services.snapshots.compare`.
    Pass the analysis before anonymising: units are matched by credit code."""
    units = analysis.units
    grids = analysis.county.grids
    grid_rows = coverage_rates(units, by="grid_id", groups=list(dict.fromkeys(
        [*grids["id"], *units["grid_id"].dropna()]))).rename_axis("grid_id").reset_index()
    names = grids.drop_duplicates("id").set_index("id")
    grid_rows.insert(1, "name", names["name"].reindex(grid_rows["grid_id"]).to_numpy(dtype=object))
    grid_rows.insert(2, "town", names["town"].reindex(grid_rows["grid_id"]).to_numpy(dtype=object))
    town_names = list(dict.fromkeys([*grids["town"].dropna(), *units["town_name"].dropna()]))
    town_rows = coverage_rates(units, by="town_name", groups=town_names).rename_axis("town").reset_index()
    row = totals(units)
    figures = {key: (float(value) if key.endswith("_rate") else int(value)) for key, value in row.items()}
    return Snapshot(id=0, taken_at="", label=label, import_id=None, totals=figures, towns=town_rows,
                    grids=grid_rows, units=units[[*UNIT_COLUMNS, "above_scale"]].reset_index(drop=True))


def moved_grids(grids: pd.DataFrame, limit: int = 10) -> pd.DataFrame:
    """The grids whose organisation coverage moved most between two snapshots (a
    :class:`~services.snapshots.Comparison`'s ``grids``), with a ``label`` to chart them by."""
    moved = grids[grids["change"].notna() & (grids["change"].abs() >= 0.005)].head(limit)
    names = moved["name"] if "name" in moved else moved["grid_id"]
    return moved.assign(label=[f"{n}（{i}）" if isinstance(n, str) else str(i)
                               for n, i in zip(names, moved["grid_id"])]).reset_index(drop=True)


def moved_grid_points(analysis: Analysis, moved: pd.DataFrame) -> pd.DataFrame:
    """Where to mark the grids of :func:`moved_grids` on the map (a point inside each grid, as
    its label sits), with what moved: ``x``, ``y``, ``label``, ``change``."""
    grids = analysis.county.grids
    inside = grids.set_index("id").geometry.representative_point()
    kept = moved[moved["grid_id"].isin(inside.index)]
    points = inside.reindex(kept["grid_id"])
    return pd.DataFrame({
        "x": points.x.to_numpy(), "y": points.y.to_numpy(), "change": kept["change"].to_numpy(),
        "label": [f"{label}：组织覆盖率{'上升' if change > 0 else '下降'}{abs(change):.2f}个百分点"
                  for label, change in zip(kept["label"], kept["change"])]})


def change_sentence(new_orgs: int, closed_blind: int, new_blind: int, before: str, after: str) -> str:
    """What changed between two snapshots, in one sentence."""
    if not (new_orgs or closed_blind or new_blind):
        return f"从“{before}”到“{after}”，单位的覆盖状态没有变化。"
    text = f"从“{before}”到“{after}”，新实现组织覆盖{_n(new_orgs)}个单位，消除空白点{_n(closed_blind)}个"
    if new_blind:
        text += f"，新增空白点{_n(new_blind)}个"
    return text + "。"


# --- formatting --------------------------------------------------------------------------------


def percent(value, digits: int = 2) -> str:
    """A rate as on every page ("50.13%"); "—" when undefined (no units)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value != value:
        return "—"
    return f"{float(value) * 100:.{digits}f}%"


def _points(fraction) -> str:
    """A difference of two rates in percentage points, two decimals ("49.87")."""
    return f"{float(fraction) * 100:.2f}"


def _n(value) -> str:
    return f"{int(value):,}"


def _chinese_count(n: int) -> str:
    return "零一二三四五六七八九十"[n] if 0 <= n <= 10 else str(n)

