"""园区与楼宇: every park, business building and market with its tenants, their coverage, its
regional org and its service centre; open one to see it on the map and list its tenants."""

import re
from functools import partial

import pandas as pd
import streamlit as st

from services import places
from services.exports import to_xlsx, unit_table
from services.workspace import FICTIONAL_NOTE

from dashboard import county_map, state, widgets
from dashboard.popups import markdown_text as md

widgets.page_header("园区与楼宇")
analysis = state.analysis()
units = analysis.units
basemap = widgets.basemap_choice(key="places_basemap")
tables = {kind: places.place_table(analysis, kind) for kind in places.PLACE_KINDS}
LABELS = places.PLACE_LABELS

# --- the county's places at a glance -------------------------------------------------------
summary = places.places_summary(tables, units)
cards = st.columns(5)
cards[0].metric("园区", f"{summary['parks']}个", delta=f"{summary['parks_without_centre']}个无党群服务中心",
                delta_color="off", delta_arrow="off", help="园区应建立党群服务中心（001 §20）")
cards[1].metric("商务楼宇", f"{summary['buildings']}栋", delta=f"{summary['buildings_with_centre']}栋有党群服务站点",
                delta_color="off", delta_arrow="off",
                help=f"楼内或{places.ON_SITE_CENTRE_M:,.0f}米内有党群服务中心（站）即视为有")
cards[2].metric("商圈市场", f"{summary['markets']}个")
cards[3].metric("入驻单位", f"{summary['tenants']:,}家", help="位于园区、商务楼宇或商圈市场内的在册单位")
cards[4].metric("已建区域性党组织", f"{summary['with_regional_org']}/{summary['places']}",
                help="园区综合党委、楼宇党组织、商圈市场党组织（区域性党组织）覆盖其入驻单位")



def _show_summary(table: pd.DataFrame) -> None:
    """A place summary table sized to fit the page: rates as bars, counts narrow, name pinned."""
    config = {column: st.column_config.NumberColumn(width=60) for column in
              ("入驻单位", "单独组建", "联合组建", "工作覆盖", "空白点", "重点空白点", "楼层数", "级别")}
    config.update({c: st.column_config.ProgressColumn(c, format="percent", min_value=0.0, max_value=1.0, width=104)
                   for c in ("组织覆盖率", "工作覆盖率")})
    config[table.columns[0]] = st.column_config.TextColumn(width=132, pinned=True)
    config["级别"] = st.column_config.TextColumn(width=52)
    config["区域性党组织"] = st.column_config.TextColumn(width=190)
    config["党群服务中心"] = st.column_config.TextColumn(
        width=140, help=f"园区：园区内有党群服务中心；楼宇、市场：楼内或{places.ON_SITE_CENTRE_M:,.0f}米内有中心（站）。"
                        "无时给出最近中心的距离")
    st.dataframe(table, hide_index=True, width="stretch", placeholder="—", height=min(38 + 35 * len(table), 460),
                 column_config=config)


st.caption("组织覆盖率 =（单独组建+联合组建）/ 入驻单位；工作覆盖率另含工作覆盖。按组织覆盖率从低到高排列。"
           "“区域性党组织”列为覆盖入驻单位最多的区域性党组织；未建时显示覆盖入驻单位最多的其他共建党组织（注明类型）。")
tabs = st.tabs([f"{LABELS[kind]}（{len(tables[kind])}）" for kind in places.PLACE_KINDS])
for tab, kind in zip(tabs, places.PLACE_KINDS):
    with tab:
        if tables[kind].empty:
            st.info(f"本县没有{LABELS[kind]}图层。")
        else:
            _show_summary(places.place_display_table(tables[kind], kind, short=True))

st.download_button(
    "下载园区、楼宇、市场汇总（xlsx）",
    data=widgets.audited(partial(to_xlsx, {LABELS[kind]: places.place_display_table(tables[kind], kind)
                                           for kind in places.PLACE_KINDS},
                                 note=FICTIONAL_NOTE if state.fictional() else None), "园区楼宇市场汇总.xlsx"),
    file_name="园区楼宇市场汇总.xlsx", key="places_summary_download",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)

# --- one place -----------------------------------------------------------------------------
st.subheader("查看单个园区、楼宇或市场")
kinds = [kind for kind in places.PLACE_KINDS if len(tables[kind])]
if not kinds:
    st.info("本县没有园区、商务楼宇或商圈市场图层。")
    st.stop()
wanted_kind = st.query_params.get("kind")
kind = st.radio("类别", kinds, format_func=LABELS.get, horizontal=True, key="places_kind",
                index=kinds.index(wanted_kind) if wanted_kind in kinds else 0)
table = tables[kind]
names = table["name"].tolist()
tenant_counts = dict(zip(table["name"], table["units"]))
wanted = st.query_params.get("place")
name = st.selectbox(f"选择{LABELS[kind]}", names, key=f"places_{kind}",
                    index=names.index(wanted) if wanted in names else 0,
                    format_func=lambda n: f"{n}（入驻{tenant_counts[n]}家）")
place = table[table["name"] == name].iloc[0]
tenants = places.place_tenants(units, kind, name)

facts = []
if kind == "parks" and place.get("level") == place.get("level") and place.get("level"):
    facts.append(f"级别：{place['level']}")
if kind == "buildings" and place.get("floors") == place.get("floors"):
    facts.append(f"楼层：{int(place['floors'])}层")
facts.append(f"区域性党组织：{places.regional_org_text(place)}")
facts.append(f"党群服务中心：{places.centre_text(place)}")
st.markdown(f"#### {LABELS[kind]}：{md(name)}")
st.text(" ｜ ".join(facts))  # st.text: data never read as Markdown

if pd.isna(place["regional_org"]):
    st.warning(f"该{LABELS[kind]}尚未建立区域性党组织，入驻单位由各自或联合党组织覆盖（001 §4：园区、楼宇单位隶属园区、楼宇党组织）。")
elif not place["regional_org_typed"]:
    st.info(f"覆盖入驻单位最多的是{md(place['regional_org_type'])}“{md(place['regional_org'])}”，尚未建立区域性党组织。")
if kind == "parks" and not place["has_centre"]:
    st.error("园区内没有党群服务中心（001 §20：每个园区应建立党群服务中心）。"
             f"最近的是{md(place['nearest_centre']) or '—'}，{places.distance_text(place['nearest_centre_m'])}。")

widgets.kpi_cards(tenants)

drawn = places.spread_stacked(tenants)
bounds = places.place_bounds(analysis, kind, name, tenants=drawn)
view = county_map.MapView(units=drawn, grid_rates=state.grid_rates(), basemap=basemap,
                          tianditu_key=widgets.tianditu_key(), focus_bounds=bounds, height=560)
widgets.show_county_map(analysis, view, key="places_map")
caption = "地图只显示该处的入驻单位，连线为共建党组织与其成员单位。"
if drawn["spread"].any():
    caption += f"{int(drawn['spread'].sum())}家单位按楼宇（同一位置）定位，图上环绕该位置排开显示，为示意位置。"
st.caption(caption)

orgs_here = places.place_orgs(units, analysis.assessment.orgs, kind, name)
st.markdown("##### 覆盖入驻单位的党组织")
if orgs_here.empty:
    st.info("入驻单位均未建立或纳入党组织。")
else:
    st.dataframe(places.place_orgs_display(orgs_here), hide_index=True, width="stretch", placeholder="—")

st.markdown(f"##### 入驻单位（{len(tenants)}家）")
tenant_table = unit_table(tenants)
st.dataframe(tenant_table, hide_index=True, width="stretch", placeholder="—", height=min(38 + 35 * max(len(tenant_table), 1), 420))
safe_name = re.sub(r'[\\/:*?"<>|\s]+', "_", str(name))
st.download_button(
    "下载入驻单位（xlsx）",
    data=widgets.audited(partial(to_xlsx, {"入驻单位": tenant_table, "党组织": places.place_orgs_display(orgs_here)},
                                 note=FICTIONAL_NOTE if state.fictional() else None), f"{safe_name}_入驻单位.xlsx"),
    file_name=f"{safe_name}_入驻单位.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="places_download",
)
