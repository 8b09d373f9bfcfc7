"""Shared party orgs: joint branches, grid branches, regional orgs and any 党支部 (or other
single-unit type) named by two or more units (DOMAIN.md "Points settled").

Each org comes with what the rules say about it (R2 joint cap, R5 size, R6 empty shell, R8
term, from ``Assessment.orgs``), how many of its member units should form their own org
(R1 ``should_form_own``), the grids its units lie in, and the actions in the words of
:func:`services.actions.org_actions`, so the org list, its map and its export agree.
"""

from __future__ import annotations

import pandas as pd

from services.actions import FLAG_LABELS, org_actions
from services.coverage import JOINT, ORG_FLAGS, SHARED_ORG_TYPES
from services.exports import unit_table
from services.settings import Policy

OTHER_SHARED = "多单位共建党组织"  # a 党委/党总支/党支部 named by two or more units
ORG_KINDS = (*SHARED_ORG_TYPES, OTHER_SHARED)
OVER_CAP, SHOULD_FORM_OWN = "超限", "应单独组建"


def shared_orgs(orgs: pd.DataFrame, units: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The shared orgs of ``Assessment.orgs``, over-cap and should-form-own first.

    An org is shared when it gives coverage and its units are ``joint``: every 联合党支部,
    网格党支部 and 区域性党组织, and a 党委/党总支/党支部 named by two or more units.

    Added columns: ``kind`` (its type, or :data:`OTHER_SHARED`), ``should_form_own`` (member
    units with R1's flag), ``grids`` (the grid ids of its units, sorted), ``stands_out``
    (over the joint cap, or a member should form its own org), ``status`` (a short text:
    超限 · 应单独组建 · the other flags' labels, or 正常) and ``actions`` (the actions of
    :func:`services.actions.org_actions` plus one for should-form-own members).
    """
    if orgs.empty:
        return orgs.assign(kind=None, should_form_own=0, grids=None, stands_out=False, status=None, actions=None)
    members = units[units["status"].eq(JOINT) & units["covering_org"].notna()]
    keys = set(members["covering_org"])
    shared = orgs[orgs["covering"].astype(bool) & orgs["org_key"].isin(keys)].copy()
    shared["kind"] = shared["org_type"].where(shared["org_type"].isin(SHARED_ORG_TYPES), OTHER_SHARED)
    should = members[members["flag_should_form_own"]].groupby("covering_org").size()
    shared["should_form_own"] = shared["org_key"].map(should).fillna(0).astype("int64")
    grids = members.groupby("covering_org")["grid_id"].agg(lambda g: "、".join(sorted(set(g.dropna().astype(str)))))
    shared["grids"] = shared["org_key"].map(grids)
    shared["stands_out"] = shared["flag_joint_over_cap"].astype(bool) | shared["should_form_own"].gt(0)
    records = shared.to_dict("records")
    shared["status"] = [_status(org) for org in records]
    shared["actions"] = ["；".join(_actions(org, policy)) for org in records]
    shared = shared.sort_values(["stands_out", "flag_joint_over_cap", "should_form_own", "units"],
                                ascending=[False, False, False, False], kind="stable")
    return shared.reset_index(drop=True)


def _status(org: dict) -> str:
    parts = []
    if org["flag_joint_over_cap"]:
        parts.append(OVER_CAP)
    if org["should_form_own"]:
        parts.append(f"{SHOULD_FORM_OWN}{org['should_form_own']}家")
    parts += [FLAG_LABELS[f] for f in ORG_FLAGS if f != "joint_over_cap" and org.get(f"flag_{f}")]
    return "、".join(parts) or "正常"


def _actions(org: dict, policy: Policy) -> list[str]:
    texts = org_actions(org, policy)
    if org["should_form_own"]:
        texts.append(f"{int(org['should_form_own'])}家成员单位正式党员{policy.own_org_min_formal_members}名以上，"
                     "应单独组建党组织（001 §8）")
    return texts


def filter_orgs(shared: pd.DataFrame, kinds=(), stands_out_only: bool = False, query: str = "") -> pd.DataFrame:
    """The orgs of :func:`shared_orgs` of the given kinds (all when empty), only those that
    stand out when asked, whose name contains ``query``."""
    mask = pd.Series(True, index=shared.index)
    if kinds:
        mask &= shared["kind"].isin(kinds)
    if stands_out_only:
        mask &= shared["stands_out"]
    if query and query.strip():
        mask &= shared["name"].astype(str).str.contains(query.strip(), regex=False)
    return shared[mask]


def org_counts(shared: pd.DataFrame) -> dict[str, int]:
    """How many shared orgs of each kind, and how many carry each flag."""
    counts = {kind: int(shared["kind"].eq(kind).sum()) for kind in ORG_KINDS}
    counts.update({flag: int(shared[f"flag_{flag}"].sum()) for flag in ORG_FLAGS})
    counts["with_should_form_own"] = int(shared["should_form_own"].gt(0).sum())
    counts["should_form_own_units"] = int(shared["should_form_own"].sum())
    counts["stands_out"] = int(shared["stands_out"].sum())
    return counts


def org_members(units: pd.DataFrame, org_key: str) -> pd.DataFrame:
    """The in-scope units an org covers, in ledger order."""
    return units[units["covering_org"] == org_key].sort_values("row")


def org_display_table(shared: pd.DataFrame) -> pd.DataFrame:
    """:func:`shared_orgs` with Chinese headers."""
    return pd.DataFrame({
        "党组织名称": shared["name"], "类型": shared["kind"], "状态": shared["status"],
        "覆盖单位": shared["units"], "正式党员": shared["formal_members"],
        "应单独组建单位": shared["should_form_own"],
        "上次换届": _date_text(shared["elected"]), "任期届满": _date_text(shared["term_ends"]),
        "所在网格": shared["grids"], "整改建议": shared["actions"],
    }).reset_index(drop=True)


def member_table(members: pd.DataFrame) -> pd.DataFrame:
    """An org's units as the Chinese unit table, with 应单独组建 after the name."""
    table = unit_table(members)
    table.insert(2, SHOULD_FORM_OWN, members["flag_should_form_own"].map({True: "是", False: ""}).to_numpy())
    return table


def _date_text(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates).dt.strftime("%Y-%m-%d").fillna("未记录")
