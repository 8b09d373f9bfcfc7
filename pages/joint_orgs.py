"""联合党支部: every joint branch, grid branch, regional org and 党支部 shared by several units,
with the rules' findings and what to do; the chosen org's units and links on the map."""

from functools import partial

import pandas as pd
import streamlit as st

from services import orgs
from services.coverage import JOINT
from services.exports import to_xlsx
from services.places import points_bounds
from services.workspace import FICTIONAL_NOTE

from dashboard import county_map, state, widgets
from dashboard.popups import markdown_text as md

widgets.page_header("联合党支部")
analysis = state.analysis()
units = analysis.units
policy = analysis.assessment.policy
basemap = widgets.basemap_choice(key="joint_basemap")
shared = orgs.shared_orgs(analysis.assessment.orgs, units, policy)
counts = orgs.org_counts(shared)
note = FICTIONAL_NOTE if state.fictional() else None

# --- the county's shared orgs at a glance ---------------------------------------------------
kinds_row = st.columns(4)
for column, kind in zip(kinds_row, orgs.ORG_KINDS):
    column.metric(kind, f"{counts[kind]}个",
                  help="党委、党总支、党支部由两个以上单位共同填报的，按联合组建计算" if kind == orgs.OTHER_SHARED else None)
flags_row = st.columns(4)
flags_row[0].metric("超过联合组建上限", f"{counts['joint_over_cap']}个",
                    help=f"联合党支部覆盖单位不超过{policy.joint_cap}个（002 (二)二；001 §8为5个，可在侧栏“政策参数”中调整）；"
                         "网格党支部、区域性党组织不受此限")
flags_row[1].metric("含应单独组建单位", f"{counts['with_should_form_own']}个",
                    delta=f"{counts['should_form_own_units']}家单位", delta_color="off", delta_arrow="off",
                    help=f"成员单位正式党员{policy.own_org_min_formal_members}名以上，应单独组建（001 §6、§8）")
flags_row[2].metric("空壳党组织", f"{counts['empty_shell']}个",
                    help=f"正式党员不足{policy.empty_shell_below_members}名（004 三(三)二、001 §8）")
flags_row[3].metric("换届逾期", f"{counts['term_overdue']}个",
                    help=f"党委任期{policy.committee_term_years}年、党总支和党支部{policy.branch_term_years}年（001 §14），"
                         f"按统计日期{policy.as_of_date():%Y-%m-%d}计算")

# --- the list -------------------------------------------------------------------------------
st.subheader("共建党组织一览")
filters = st.columns([2, 1, 2])
chosen_kinds = filters[0].multiselect("类型", list(orgs.ORG_KINDS), key="joint_kinds", placeholder="全部类型")
stands_out_only = filters[1].checkbox("只看超限/应单独组建", key="joint_stands_out")
query = filters[2].text_input("搜索党组织名称", key="joint_query", placeholder="例如：联合党支部")
shown = orgs.filter_orgs(shared, chosen_kinds, stands_out_only, query)
table = orgs.org_display_table(shown)


def _highlight(row: pd.Series) -> list[str]:
    """Over-cap orgs red, orgs with members that should form their own org amber."""
    status = str(row["状态"])
    if orgs.OVER_CAP in status:
        colour = "background-color: #fde0dc"
    elif orgs.SHOULD_FORM_OWN in status:
        colour = "background-color: #fff1cc"
    else:
        colour = ""
    return [colour] * len(row)


st.caption(f"共{len(table)}个；红色底为超过联合组建上限（{policy.joint_cap}个单位），黄色底为有成员单位应单独组建。")
if table.empty:
    st.info("没有符合条件的党组织。")
else:
    st.dataframe(table.style.apply(_highlight, axis=1).format(na_rep="—"), hide_index=True, width="stretch", placeholder="—",
                 height=420, column_config={
                     "党组织名称": st.column_config.TextColumn(width=280, pinned=True),
                     "类型": st.column_config.TextColumn(width=100), "状态": st.column_config.TextColumn(width=190),
                     "覆盖单位": st.column_config.NumberColumn(width=70), "正式党员": st.column_config.NumberColumn(width=70),
                     "应单独组建单位": st.column_config.NumberColumn(width=100),
                     "上次换届": st.column_config.TextColumn(width=95), "任期届满": st.column_config.TextColumn(width=95),
                     "所在网格": st.column_config.TextColumn(width=200), "整改建议": st.column_config.TextColumn(width="large")})
    st.download_button("下载共建党组织一览（xlsx）",
                       data=widgets.audited(partial(to_xlsx, {"共建党组织": table}, note=note), "共建党组织一览.xlsx"),
                       file_name="共建党组织一览.xlsx", key="joint_list_download",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

# --- one org ----------------------------------------------------------------------------------
st.subheader("查看单个党组织")
if shown.empty:
    st.stop()
labels = {key: f"{name}（{kind}，{n}个单位，{status}）" for key, name, kind, n, status in
          zip(shown["org_key"], shown["name"], shown["kind"], shown["units"], shown["status"])}
org_key = st.selectbox("选择党组织", list(labels), format_func=labels.get, key="joint_org")
org = shown[shown["org_key"] == org_key].iloc[0]
members = orgs.org_members(units, org_key)

st.markdown(f"#### {md(org['name'])}")
facts = st.columns(5)
facts[0].metric("类型", org["kind"])
facts[1].metric("覆盖单位", f"{int(org['units'])}个")
facts[2].metric("正式党员", f"{int(org['formal_members'])}名")
facts[3].metric("上次换届", "未记录" if pd.isna(org["elected"]) else f"{org['elected']:%Y-%m-%d}")
facts[4].metric("应单独组建单位", f"{int(org['should_form_own'])}家")
st.text(f"所在网格：{org['grids'] or '—'}　｜　任期届满："
        + ("未记录" if pd.isna(org["term_ends"]) else f"{org['term_ends']:%Y-%m-%d}（任期{int(org['term_years'])}年）"))
if org["actions"]:
    for action in org["actions"].split("；"):
        st.warning(md(action))
else:
    st.success("未发现问题。")

show_all = st.checkbox("地图上同时显示其他共建党组织", key="joint_show_all",
                       help="默认只显示所选党组织的成员单位和连线")
map_units = units[units["status"].eq(JOINT)] if show_all else members
placed = members[members["x"].notna()]
view = county_map.MapView(
    units=map_units, grid_rates=state.grid_rates(), basemap=basemap, tianditu_key=widgets.tianditu_key(),
    layers=frozenset({"grids", "grid_labels", "parks", "buildings", "markets", "links", "units"}),
    focus_bounds=points_bounds(placed["x"], placed["y"]) if len(placed) else None,
    focus_grids=() if len(placed) else tuple(members["grid_id"].dropna().unique()), height=520)
widgets.show_county_map(analysis, view, key="joint_map")
st.caption("连线从党组织所在单位（台账中第一个已定位的成员单位）连到各成员单位；红色粗线为超过联合组建上限的党组织。")
if len(placed) < len(members):
    st.caption(f"另有{len(members) - len(placed)}家成员单位无法定位，未在地图上显示。")

st.markdown(f"##### 成员单位（{len(members)}家）")
member_table = orgs.member_table(members)
st.dataframe(member_table.style.apply(
    lambda row: ["background-color: #fff1cc" if row[orgs.SHOULD_FORM_OWN] else ""] * len(row), axis=1).format(na_rep="—"),
    hide_index=True, width="stretch", placeholder="—")
st.download_button("下载成员单位（xlsx）",
                   data=widgets.audited(partial(to_xlsx, {"成员单位": member_table}, note=note), "成员单位.xlsx"),
                   file_name="成员单位.xlsx", key="joint_members_download",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
