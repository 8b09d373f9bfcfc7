"""What each flag means and what the rules call for, in the words a grid leader acts on.

The map popups, the grid page's to-do list and the exports all take their texts from here,
so a flag reads the same everywhere and carries the numbers of the case ("正式党员4名").
"""

from __future__ import annotations

import pandas as pd

from services.analysis import Analysis
from services.settings import Policy

FLAG_LABELS = {
    "should_form_own": "应单独组建", "joint_over_cap": "联合党支部超限", "over100_without_org": "百人以上未建",
    "over50_without_member": "五十人以上无党员", "social30_without_org": "社会组织三十人以上未建",
    "instructor_overload": "指导员超负荷", "no_instructor": "未派指导员", "branch_too_large": "支部规模过大",
    "empty_shell": "空壳党组织", "suggest_functional_branch": "宜建功能型党支部", "term_overdue": "换届逾期",
    "centre_too_small": "中心面积不达标", "park_without_centre": "园区无服务中心",
    "outside_service_radius": "超出服务半径", "grid_without_branch": "网格无党组织",
    "grid_without_leader": "未配网格长", "missing_reason": "未填未建原因", "few_activists": "积极分子不足",
    "production_halted": "停产/半停产", "members_exceed_employees": "党员数超过从业人数",
    "unknown_org_type": "党组织类型不明", "unknown_value": "取值无法识别", "unreadable_value": "数值无法识别",
    "coordinates_swapped": "经纬度填反", "outside_county": "坐标在县外", "grid_mismatch": "所属网格不符",
    "unknown_grid": "网格不存在", "unknown_park": "园区不存在", "unknown_building": "楼宇不存在",
}
RULE_SOURCES = {
    "should_form_own": "001 §6、§8", "joint_over_cap": "002 (二)二、001 §8", "over100_without_org": "001 §6",
    "over50_without_member": "001 §6", "social30_without_org": "002 (二)二", "instructor_overload": "001 §10",
    "no_instructor": "001 §7、002 (四)", "branch_too_large": "002 (二)二", "empty_shell": "004 三(三)二、001 §8",
    "suggest_functional_branch": "002 (二)一", "term_overdue": "001 §14", "centre_too_small": "001 §20",
    "park_without_centre": "001 §20", "outside_service_radius": "001 §20", "grid_without_branch": "004 三(三)二",
    "grid_without_leader": "004 三(三)二", "missing_reason": "002 (一)", "few_activists": "001 §11",
}


def unit_actions(unit: pd.Series | dict, flags: list[str], policy: Policy) -> list[str]:
    """The concrete actions for one unit's flags, with its own figures."""
    texts = []
    for flag in flags:
        text = _unit_action(flag, unit, policy)
        if text:
            texts.append(text)
    return texts


def _unit_action(flag: str, unit, policy: Policy) -> str | None:
    """One flag's action text for one unit."""
    employees = int(unit.get("employees", 0) or 0)
    if flag == "should_form_own":
        return f"正式党员{int(unit['formal_members'])}名，{policy.own_org_min_formal_members}名以上应单独组建党支部"
    if flag == "over100_without_org":
        return f"从业人员{employees}人（{policy.enterprise_org_min_employees}人以上），应建立党组织"
    if flag == "over50_without_member":
        return f"从业人员{employees}人（{policy.enterprise_member_min_employees}人以上）但无党员，应发展或选派党员"
    if flag == "social30_without_org":
        return f"社会组织从业人员{employees}人（{policy.social_org_min_staff}人以上），应建立党组织"
    if flag == "no_instructor":
        return "未派党建工作指导员，应选派"
    if flag == "suggest_functional_branch":
        return f"流动党员{int(unit['mobile_members'])}名，超过{policy.functional_branch_above_mobile}名，可建立功能型党支部"
    if flag == "outside_service_radius":
        distance = unit.get("centre_distance_m")
        where = f"距最近党群服务中心约{distance:,.0f}米，" if distance == distance and distance is not None else ""
        return f"{where}超出{policy.service_radius_m:,.0f}米服务半径，应就近设点或纳入服务"
    if flag == "missing_reason":
        return "未填写未建党组织原因，应补齐“五个清”"
    if flag == "few_activists":
        needed = max((m for t, m in policy.activists_min_by_employees if employees >= t), default=0)
        return f"从业人员{employees}人，每年应培养入党积极分子{needed}名以上（现{int(unit['activists'])}名）"
    if flag == "production_halted":
        return "停产/半停产，关注党员去向和组织生活"
    if flag == "members_exceed_employees":
        return "正式党员数超过从业人员数，请核实台账"
    if flag == "unknown_org_type":
        return "党组织类型无法识别，该组织暂不计入覆盖，请按规范填写"
    if flag == "coordinates_swapped":
        return "经纬度填反，已按纠正后的位置显示，请修改台账"
    if flag == "outside_county":
        return "坐标不在本县网格范围内，请核实坐标"
    if flag == "grid_mismatch":
        return f"台账所属网格“{unit.get('grid')}”与实际位置不符，请核实"
    if flag in ("unknown_grid", "unknown_park", "unknown_building"):
        label = {"unknown_grid": "网格", "unknown_park": "园区", "unknown_building": "楼宇"}[flag]
        return f"台账所填{label}在地图图层中不存在，请核实名称"
    if flag in ("unknown_value", "unreadable_value"):
        return "台账有无法识别的取值，请核实（见数据问题清单）"
    return None


def org_actions(org: pd.Series, policy: Policy) -> list[str]:
    """Actions for an org's flags (joint cap, size, empty shell, term)."""
    texts = []
    if org.get("flag_joint_over_cap"):
        texts.append(f"覆盖{int(org['units'])}个单位，超过{policy.joint_cap}个，应调整拆分，具备条件的单独组建")
    if org.get("flag_branch_too_large"):
        text = f"正式党员{int(org['formal_members'])}名，超过{policy.branch_max_members}名，应设立党总支"
        if org.get("may_form_committee"):
            text += f"（{policy.committee_min_members}名以上可设立党委）"
        texts.append(text)
    if org.get("flag_empty_shell"):
        texts.append(f"正式党员{int(org['formal_members'])}名，不足{policy.empty_shell_below_members}名，属“空壳”党组织，应调整或撤销")
    if org.get("flag_term_overdue"):
        elected = pd.Timestamp(org["elected"]).strftime("%Y年%m月")
        texts.append(f"{elected}换届，已超过{int(org['term_years'])}年任期，应按期换届")
    return texts


def grid_todo(analysis: Analysis, grid_id: str) -> pd.DataFrame:
    """The to-do list of one grid: each action for its units, orgs and the grid itself.

    Columns: 对象 (who), 事项 (the action), 依据 (the seed paragraph), 优先 (priority blind
    spots and size duties first).
    """
    assessment = analysis.assessment
    policy = assessment.policy
    from services.analysis import unit_flag_lists

    rows = []
    grids = assessment.grids.set_index("id")
    if grid_id in grids.index:
        grid = grids.loc[grid_id]
        if grid.get("flag_grid_without_leader"):
            rows.append(("网格", "未配备网格长，应选配网格长", RULE_SOURCES["grid_without_leader"], 1))
        if grid.get("flag_grid_without_branch"):
            rows.append(("网格", f"网格内有固定场所、{policy.grid_eligible_min_employees}人以上的单位，但没有任何党组织，应组建网格党支部",
                         RULE_SOURCES["grid_without_branch"], 1))
    units = assessment.units[assessment.units["grid_id"] == grid_id]
    for (_, unit), flags in zip(units.iterrows(), unit_flag_lists(units)):
        priority = 0 if unit["priority_blind"] else 2
        for flag in flags:
            text = _unit_action(flag, unit, policy)
            if text:
                rows.append((str(unit["name"]), text, RULE_SOURCES.get(flag, "台账核实"), priority))
    orgs = assessment.orgs[assessment.orgs["org_key"].isin(units["org_key"].dropna())]
    for _, org in orgs.iterrows():
        for text in org_actions(org, policy):
            rows.append((str(org["name"]), text, "001 §8、§14；002 (二)二", 1))
    frame = pd.DataFrame(rows, columns=["对象", "事项", "依据", "优先"])
    return frame.sort_values("优先", kind="stable").reset_index(drop=True)
