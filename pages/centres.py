"""党群服务中心: the centres with their level, area and the area standard, their service radius
on the map, the parks without one, and the units no centre reaches (the service gap)."""

from functools import partial

import pandas as pd
import streamlit as st

from services import places
from services.exports import to_xlsx
from services.workspace import FICTIONAL_NOTE

from dashboard import county_map, state, widgets

widgets.page_header("党群服务中心")
analysis = state.analysis()
units = analysis.units
policy = analysis.assessment.policy
radius = policy.service_radius_m
basemap = widgets.basemap_choice(key="centres_basemap")
note = FICTIONAL_NOTE if state.fictional() else None

if analysis.county.centres is None:
    st.warning("本县未提供党群服务中心图层（centres.geojson），无法判断服务半径。")
    st.stop()

centres = places.centre_table(analysis)
levels = places.centres_by_level(centres)
gap = places.service_gap_summary(units)
parks = places.place_table(analysis, "parks")
parks_without = parks[~parks["has_centre"]]
too_small = centres[centres["flag_centre_too_small"]]

# --- figures --------------------------------------------------------------------------------
first = st.columns(1 + max(len(levels), 1))
first[0].metric("党群服务中心", f"{len(centres)}个")
for column, (level, count) in zip(first[1:], levels.items()):
    column.metric(f"{level}", f"{int(count)}个")
second = st.columns(4)
standards = "、".join(f"{level}{area:,.0f}㎡" for level, area in policy.centre_min_area_m2.items())
second[0].metric("面积不达标", f"{len(too_small)}个", help=f"面积标准：{standards}（001 §20）")
second[1].metric("无党群服务中心的园区", f"{len(parks_without)}/{len(parks)}个",
                 help="园区内没有党群服务中心（001 §20：园区应建立党群服务中心）")
second[2].metric("服务半径外单位", f"{gap['outside']:,}家",
                 help=f"距每个党群服务中心都超过{radius:,.0f}米（服务半径可在侧栏“政策参数”中调整）")
second[3].metric("占已定位单位", widgets.percent(gap["share"]),
                 delta=f"{gap['outside']:,}/{gap['placed']:,}家", delta_color="off", delta_arrow="off",
                 help="无法定位的单位无法判断距离，不计入")

# --- the map ----------------------------------------------------------------------------------
st.subheader("服务半径")
controls = st.columns([2, 3])
shown = controls[0].radio("地图上的单位", ["服务半径外单位", "全部单位", "不显示单位"], horizontal=True, key="centres_units")
layer = analysis.county.centres.reset_index(drop=True)
focus = controls[1].selectbox("定位到服务中心", [-1, *range(len(layer))], key="centres_focus",
                              format_func=lambda i: "全县" if i < 0 else str(layer["name"].iloc[i]))
focus_bounds = None
if focus >= 0:
    point = layer.geometry.iloc[focus]
    focus_bounds = places.points_bounds([point.x], [point.y], min_view_m=radius * 2.4)
layers = {"grids", "parks", "buildings", "markets", "centres", "radius"}
if shown != "不显示单位":
    layers.add("units")
map_units = places.service_gap(units) if shown == "服务半径外单位" else units
view = county_map.MapView(units=map_units, grid_rates=state.grid_rates(), basemap=basemap,
                          tianditu_key=widgets.tianditu_key(), layers=frozenset(layers), focus_bounds=focus_bounds, height=600)
widgets.show_county_map(analysis, view, key="centres_map")
st.caption(f"虚线圈为各中心{radius:,.0f}米服务半径；点击★查看中心的级别、面积和开放时间。")

# --- the centres ------------------------------------------------------------------------------
st.subheader("服务中心一览")
st.dataframe(places.centre_display_table(centres, radius), hide_index=True, width="stretch", placeholder="—",
             height=38 + 35 * max(len(centres), 1),
             column_config={"名称": st.column_config.TextColumn(width=260, pinned=True),
                            "面积（㎡）": st.column_config.NumberColumn(format="%d"),
                            "面积标准（㎡）": st.column_config.NumberColumn(format="%d"),
                            "所在园区": st.column_config.TextColumn(width=170)})

left, right = st.columns(2)
with left:
    st.markdown("##### 面积不达标的中心")
    if too_small.empty:
        st.success("所有有面积标准的中心均达标。")
    else:
        st.dataframe(pd.DataFrame({
            "名称": too_small["name"], "级别": too_small["level"],
            "面积（㎡）": pd.to_numeric(too_small["area_m2"], errors="coerce"),
            "标准（㎡）": too_small["minimum_area_m2"], "差额（㎡）": too_small["area_gap_m2"]}),
            hide_index=True, width="stretch", placeholder="—",
            column_config={"名称": st.column_config.TextColumn(width=230), "级别": st.column_config.TextColumn(width=60),
                           **{c: st.column_config.NumberColumn(format="%d", width=62)
                              for c in ("面积（㎡）", "标准（㎡）", "差额（㎡）")}})
with right:
    st.markdown("##### 没有党群服务中心的园区")
    if parks.empty:
        st.info("本县没有园区图层。")
    elif parks_without.empty:
        st.success("每个园区都有党群服务中心。")
    else:
        st.dataframe(pd.DataFrame({
            "园区": parks_without["name"], "级别": parks_without["level"], "入驻单位": parks_without["units"],
            "最近的党群服务中心": parks_without["nearest_centre"],
            "距离": parks_without["nearest_centre_m"].map(places.distance_text)}),
            hide_index=True, width="stretch", placeholder="—")

# --- the service gap -------------------------------------------------------------------------
st.subheader(f"服务半径外的单位（{gap['outside']:,}家）")
by_town = places.service_gap_by(units, "town_name").reset_index().rename(columns={
    "town_name": "乡镇街道", "placed": "已定位单位", "outside": "服务半径外", "share": "占比"})
st.dataframe(by_town, hide_index=True, width="stretch", placeholder="—",
             column_config={"占比": st.column_config.ProgressColumn("占比", format="percent", min_value=0.0, max_value=1.0)})
towns = st.multiselect("乡镇街道", by_town["乡镇街道"].tolist(), key="centres_towns", placeholder="全部乡镇街道")
gap_units = units[units["town_name"].isin(towns)] if towns else units
gap_table = places.service_gap_table(gap_units)
columns = ["台账行号", "企业名称", "最近党群服务中心", "距最近中心（米）", "乡镇街道", "网格", "园区", "商务楼宇",
           "覆盖状态", "从业人员数", "正式党员数", "问题提示"]
st.caption(f"共{len(gap_table):,}家，按距最近中心由远到近排列。")
st.dataframe(gap_table[columns], hide_index=True, width="stretch", placeholder="—", height=420,
             column_config={"企业名称": st.column_config.TextColumn(pinned=True),
                            "距最近中心（米）": st.column_config.NumberColumn(format="localized")})
st.download_button("下载服务半径外单位（xlsx）",
                   data=widgets.audited(partial(to_xlsx, {"服务半径外单位": gap_table}, note=note), "服务半径外单位.xlsx"),
                   file_name="服务半径外单位.xlsx", key="centres_download",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
