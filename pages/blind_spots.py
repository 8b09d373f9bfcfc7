"""空白点: every unit with neither organisation nor work coverage, priority ones first, with
the nearest instructor who could take it on; a work list for the 两新工委 and grid leaders."""

import datetime as dt
import re
from functools import partial

import streamlit as st

from services.blind_spots import (REASON_CHOICES, blind_spot_counts, blind_spot_table, blind_spots,
                                  filter_blind_spots)
from services.exports import to_csv, to_xlsx
from services.workspace import FICTIONAL_NOTE

from dashboard import county_map, state, widgets

PICK = "blind_pick"  # the unit the map flies to (set by the selectbox or a selected table row)


def _plain(text) -> str:
    """Data shown inside Markdown, with every Markdown character escaped (names stay names)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~<>$:])", r"\\\1", str(text))


widgets.page_header("空白点")
analysis = state.analysis()
spots = blind_spots(analysis)

# --- filters (sidebar, like the county map) ---------------------------------------------
st.sidebar.subheader("筛选")
towns = st.sidebar.multiselect("乡镇街道", sorted(spots["town_name"].dropna().unique()), key="blind_towns",
                               placeholder="全部")
grid_pool = spots[spots["town_name"].isin(towns)] if towns else spots
grids = st.sidebar.multiselect("网格", sorted(grid_pool["grid_id"].dropna().unique()), key="blind_grids",
                               placeholder="全部")
reasons = st.sidebar.multiselect("未建党组织原因", list(REASON_CHOICES), key="blind_reasons", placeholder="全部")
priority_only = st.sidebar.checkbox("只看重点空白点", key="blind_priority",
                                    help="百人以上企业未建、五十人以上企业无党员、三十人以上社会组织未建（001 §6、002 (二)二）")
basemap = widgets.basemap_choice()
shown = filter_blind_spots(spots, towns, grids, priority_only, reasons)

# --- figures ------------------------------------------------------------------------------
counts = blind_spot_counts(shown)
cards = st.columns(4)
cards[0].metric("空白点", f"{counts['blind']:,}", help="既无党组织覆盖、也无党的工作覆盖的单位")
cards[1].metric("重点空白点", f"{counts['priority']:,}", help="负有组建或发展党员责任的规模单位（R3）")
cards[2].metric("未填写未建原因", f"{counts['missing_reason']:,}", help="“五个清”要求记录未建党组织原因（002 (一)）")
cards[3].metric("未定位", f"{counts['unplaced']:,}", help="台账没有可用的坐标、楼宇、园区或网格，地图上无法显示")
if len(shown) != len(spots):
    st.caption(f"全县共 {len(spots):,} 个空白点，当前筛选显示 {len(shown):,} 个。")

# --- the list -----------------------------------------------------------------------------
table = blind_spot_table(analysis, shown)


def _pick_from_table(rows=tuple(shown["row"])):
    """A row selected in the table becomes the unit the map flies to."""
    selected = st.session_state["blind_table"]["selection"]["rows"]
    if selected:
        st.session_state[PICK] = rows[selected[0]]


st.subheader("空白点清单")
st.caption("重点空白点在前，按从业人员数从多到少排列；距离为到指导员所服务最近单位、到最近党群服务中心的大地距离。"
           "选中一行可在下方地图上定位。")
metres = {c: st.column_config.NumberColumn(c, format="%d") for c in table if c.endswith("（米）")}
st.dataframe(table, hide_index=True, width="stretch", height=420, key="blind_table", on_select=_pick_from_table,
             selection_mode="single-row",
             column_config={**metres, "整改建议": st.column_config.TextColumn("整改建议", width="large"),
                            "台账行号": st.column_config.NumberColumn("台账行号", format="%d")})

today = dt.date.today().isoformat()
note = FICTIONAL_NOTE if state.fictional() else None
left, right, _ = st.columns([1, 1, 4])
# The files are made when clicked, not on every rerun (a city's 20,000 rows take seconds as .xlsx),
# and each click is recorded in the audit log.
left.download_button("下载 Excel（.xlsx）", widgets.audited(partial(to_xlsx, {"空白点": table}, note=note),
                                                         f"空白点清单_{today}.xlsx"),
                     file_name=f"空白点清单_{today}.xlsx", key="blind_xlsx",
                     mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
right.download_button("下载 CSV", widgets.audited(partial(to_csv, table), f"空白点清单_{today}.csv"),
                      file_name=f"空白点清单_{today}.csv", mime="text/csv", key="blind_csv")

# --- the map ------------------------------------------------------------------------------
st.subheader("空白点分布")
labels = {int(r): f"{n}（第{int(r)}行{'' if p else '，未定位'}）"
          for r, n, p in zip(shown["row"], shown["name"], shown["placed"])}
if st.session_state.get(PICK) not in labels:  # nothing chosen yet, or filtered out
    st.session_state[PICK] = None
pick = st.selectbox("定位到单位", list(labels), format_func=labels.get, key=PICK,
                    placeholder="选择或输入单位名称，地图将定位到该单位")
if pick is not None:
    spot = shown[shown["row"] == pick].iloc[0]
    suggestion = spot["nearest_available_instructor"]
    if not spot["placed"]:
        why = spot["unplaced_reason"] if isinstance(spot["unplaced_reason"], str) else "缺少可用的位置信息"
        st.warning(f"该单位未定位（{_plain(why)}），无法在地图上显示，请补齐台账。")
    elif suggestion is not None and suggestion == suggestion:
        st.caption(f"建议选派指导员：{_plain(suggestion)}（约{spot['available_distance_m']:,.0f}米，"
                   f"已服务{int(spot['available_load'])}个单位）")

blind_units = analysis.units[analysis.units["row"].isin(shown["row"])]
county_grids = analysis.county.grids
focus = tuple(grids) or tuple(county_grids.loc[county_grids["town"].isin(towns), "id"])
view = county_map.MapView(units=blind_units, grid_rates=state.grid_rates(), basemap=basemap,
                          tianditu_key=widgets.tianditu_key(), focus_grids=focus, highlight_row=pick,
                          layers=frozenset({"grids", "grid_labels", "centres", "radius", "units"}))
widgets.show_county_map(analysis, view, key="blind_map")
