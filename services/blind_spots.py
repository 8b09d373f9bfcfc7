"""The blind-spot list (空白点台账): every unit with neither organisation nor work coverage,
with what it lacks, why (as recorded), who could take it on and what to do.

A blind spot is closed by forming an org or, first, by assigning an instructor (R4, 001 §7,
002 (四)). So each row names the nearest instructor and the nearest one below the 001 §10
cap (:mod:`services.nearest`), and the nearest service centre that :func:`services.coverage.assess`
already found. Priority blind spots (R3 size duties) come first, the largest first, because
that is the order they are to be worked through. Unplaced blind spots are listed too: a unit
the map cannot show is still a blind spot (DOMAIN.md "A unit that cannot be placed… is
reported, never dropped").

The frame :func:`blind_spots` returns has English columns for filtering and tests;
:func:`blind_spot_table` renames them to the Chinese headers the page and the exports show, so
the screen and the downloaded file are the same table.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from services.actions import FLAG_LABELS, unit_actions
from services.analysis import Analysis, unit_flag_lists
from services.coverage import BLIND
from services.ledger import REASONS_NO_ORG
from services.nearest import nearest_instructors
from services.placement import PLACEMENT_LABELS

# The unit figures services.actions.unit_actions quotes in its texts (only these are handed
# over: turning every column of 20,000 blind spots into dicts would take seconds).
_ACTION_FIELDS = ("employees", "formal_members", "mobile_members", "activists", "centre_distance_m", "grid")
PRIORITY_FLAGS = ("over100_without_org", "over50_without_member", "social30_without_org")
NO_REASON = "未填写"
UNPLACED = "未定位"
#: The reason filter's choices: the ledger's listed reasons, then "not recorded".
REASON_CHOICES = (*REASONS_NO_ORG, NO_REASON)

#: English column → Chinese header, in the order the table shows them.
BLIND_SPOT_COLUMNS = {
    "row": "台账行号", "priority_label": "重点空白点", "priority_reason": "重点原因", "name": "企业名称",
    "credit_code": "统一社会信用代码", "town_name": "乡镇街道", "grid_id": "网格", "grid_name": "网格名称",
    "kind_label": "单位类型", "industry": "行业", "employees": "从业人员数", "formal_members": "正式党员数",
    "members": "党员数（正式+预备+流动）", "reason": "未建党组织原因",
    "nearest_instructor": "最近指导员", "instructor_distance_m": "距最近指导员（米）",
    "instructor_load": "最近指导员已服务单位数",
    "nearest_available_instructor": "建议选派指导员（未满额）", "available_distance_m": "距建议指导员（米）",
    "available_load": "建议指导员已服务单位数", "available_phone": "建议指导员电话",
    "nearest_centre": "最近党群服务中心", "centre_distance_m": "距服务中心（米）",
    "placed_label": "定位依据", "actions": "整改建议",
}


def blind_spots(analysis: Analysis) -> pd.DataFrame:
    """Every in-scope blind spot, priority first, then by employees (largest first), then by
    ledger row; English columns (:data:`BLIND_SPOT_COLUMNS` plus ``priority``,
    ``reason_category``, ``missing_reason``, ``placed`` and ``unplaced_reason`` for filtering,
    counting and explaining).

    Distances are geodesic metres rounded to the metre, NaN for an unplaced unit.
    """
    assessment = analysis.assessment
    policy = assessment.policy
    units = assessment.units
    blind = units[units["status"].eq(BLIND)]
    blind = blind.assign(_p=blind["priority_blind"].astype(bool)).sort_values(
        ["_p", "employees", "row"], ascending=[False, False, True], kind="stable").drop(columns="_p")

    nearest = nearest_instructors(blind, units, policy)
    flags = unit_flag_lists(blind)
    records = blind[[c for c in _ACTION_FIELDS if c in blind]].to_dict("records")
    grid_names = dict(zip(analysis.county.grids["id"], analysis.county.grids["name"]))
    phones = _instructor_phones(analysis)

    spots = pd.DataFrame({
        "row": blind["row"].to_numpy(),
        "priority": blind["priority_blind"].to_numpy(dtype=bool),
        "name": blind["name"].to_numpy(),
        "credit_code": blind["credit_code"].to_numpy(),
        "town_name": blind["town_name"].to_numpy(),
        "grid_id": blind["grid_id"].to_numpy(),
        "kind_label": blind["kind"].map({"enterprise": "非公企业", "social_org": "社会组织"}).to_numpy(),
        "industry": blind["industry"].to_numpy(),
        "employees": blind["employees"].to_numpy(),
        "formal_members": blind["formal_members"].to_numpy(),
        "members": (blind["formal_members"] + blind["probationary_members"] + blind["mobile_members"]).to_numpy(),
        "reason": blind["reason_no_org"].fillna("").replace("", NO_REASON).to_numpy(),
        "reason_category": blind["reason_no_org"].map(reason_category).to_numpy(),
        "missing_reason": blind["flag_missing_reason"].to_numpy(dtype=bool),
        "priority_reason": _priority_reasons(blind),
        "placed": blind["placed_by"].notna().to_numpy(),
        "placed_label": blind["placed_by"].map(PLACEMENT_LABELS).fillna(UNPLACED).to_numpy(),
        "unplaced_reason": (blind["unplaced_reason"] if "unplaced_reason" in blind
                            else pd.Series(None, index=blind.index, dtype=object)).to_numpy(),
        "nearest_centre": blind["nearest_centre"].to_numpy(),
        "centre_distance_m": blind["centre_distance_m"].round(0).to_numpy(),
        "actions": ["；".join(unit_actions(unit, unit_flags, policy)) for unit, unit_flags in zip(records, flags)],
    })
    spots["grid_name"] = spots["grid_id"].map(grid_names)
    spots["priority_label"] = np.where(spots["priority"], "是", "")
    for column in nearest.columns:
        values = nearest[column].reset_index(drop=True)
        spots[column] = values.round(0) if column.endswith("_distance_m") else values
    spots["available_phone"] = spots["nearest_available_instructor"].map(phones)
    return spots


def blind_spot_table(analysis: Analysis, spots: pd.DataFrame | None = None) -> pd.DataFrame:
    """The blind spots as the Chinese table people read and download (one row per blind spot).

    ``spots`` is a part of :func:`blind_spots` (e.g. after :func:`filter_blind_spots`); all
    of them when omitted.
    """
    if spots is None:
        spots = blind_spots(analysis)
    table = spots[list(BLIND_SPOT_COLUMNS)].reset_index(drop=True)
    for column in ("instructor_load", "available_load"):  # whole numbers, blank when unknown
        table[column] = table[column].astype(object).where(table[column].notna(), None)
    return table.rename(columns=BLIND_SPOT_COLUMNS)


def filter_blind_spots(spots: pd.DataFrame, towns=(), grids=(), priority_only: bool = False,
                       reasons=()) -> pd.DataFrame:
    """The blind spots in the chosen towns and grids, with the chosen recorded reasons
    (:data:`REASON_CHOICES`), or only the priority ones; an empty choice means "all"."""
    mask = pd.Series(True, index=spots.index)
    if towns:
        mask &= spots["town_name"].isin(towns)
    if grids:
        mask &= spots["grid_id"].isin(grids)
    if priority_only:
        mask &= spots["priority"]
    if reasons:
        mask &= spots["reason_category"].isin(reasons)
    return spots[mask]


def blind_spot_counts(spots: pd.DataFrame) -> dict[str, int]:
    """The page's four figures: blind spots, priority ones, without a recorded reason (R11
    ``missing_reason``), and unplaced (not on the map)."""
    return {"blind": int(len(spots)), "priority": int(spots["priority"].sum()),
            "missing_reason": int(spots["missing_reason"].sum()), "unplaced": int((~spots["placed"]).sum())}


def reason_category(reason) -> str:
    """The listed reason a recorded 未建党组织原因 falls under ("其他：说明" → 其他; blank → 未填写)."""
    if reason is None or reason != reason or str(reason).strip() == "":
        return NO_REASON
    head = unicodedata.normalize("NFKC", re.split(r"[:：]", str(reason), maxsplit=1)[0]).strip()
    head = head.replace("三", "3")
    return head if head in REASONS_NO_ORG else "其他"


def _priority_reasons(blind: pd.DataFrame) -> list[str]:
    """Which R3 size duties make each blind spot a priority, in Chinese ("" for none)."""
    present = [flag for flag in PRIORITY_FLAGS if f"flag_{flag}" in blind]
    reasons = [[] for _ in range(len(blind))]
    for flag in present:
        for i in np.flatnonzero(blind[f"flag_{flag}"].to_numpy(dtype=bool)):
            reasons[i].append(FLAG_LABELS[flag])
    priority = blind["priority_blind"].to_numpy(dtype=bool)
    return ["、".join(r) if p else "" for r, p in zip(reasons, priority)]


def _instructor_phones(analysis: Analysis) -> dict[str, str]:
    """Instructor name → phone from the county's instructor table (empty without one)."""
    table = analysis.county.instructors
    if table is None or "phone" not in table:
        return {}
    named = table[table["name"].notna() & table["phone"].notna()]
    return dict(zip(named["name"].astype(str).str.strip(), named["phone"].astype(str)))
