"""全县一张图: the county's coverage at a glance, for county leaders."""

import streamlit as st

from services.exports import to_csv, to_xlsx, unit_table
from services.filters import apply_filter, search_units
from services.rates import coverage_rates

from dashboard import county_map, state, widgets
from dashboard.popups import markdown_text

widgets.page_header("全县一张图")
analysis = state.analysis()
units = analysis.units
unit_filter = widgets.unit_filter_panel(units)
basemap = widgets.basemap_choice()
shown = apply_filter(units, unit_filter)

widgets.kpi_cards(shown)

query = st.text_input("搜索单位（名称或统一社会信用代码）", key="search", placeholder="例如：科技有限公司 或 91530…")
highlight = None
if query:
    hits = search_units(units, query)
    if hits.empty:
        st.warning("没有找到匹配的单位")
    else:
        labels = {int(r): f"{n}（{c}，第{int(r)}行）" for r, n, c in zip(hits["row"], hits["name"], hits["credit_code"])}
        highlight = st.selectbox("匹配的单位", list(labels), format_func=labels.get, key="search_hit")
        if highlight is not None and highlight not in set(shown["row"]):
            st.caption("该单位不在当前筛选范围内，已在地图上单独标出。")
            shown = units[units["row"].isin(set(shown["row"]) | {highlight})]


view = widgets.county_page_view(shown, state.grid_rates(), basemap, focus_grids=unit_filter.grids,
                                highlight_row=highlight)
widgets.show_county_map(analysis, view, key="county_map")
clicked = county_map.clicked_grid(analysis.county.grids, st.session_state.get("county_map"), basemap)
if clicked:
    name = analysis.county.grids.set_index("id").loc[clicked, "name"]
    st.page_link("pages/grid.py", label=f"打开所点网格：{markdown_text(name)}（{markdown_text(clicked)}）",
                 icon=":material/arrow_forward:",
                 query_params={"grid": clicked})

# The filtered view as a spreadsheet (built only when clicked: a city's table is large; each
# click is recorded in the audit log).
note = "虚构示例数据" if state.fictional() else None
suffix = f"（{note}）" if note else ""
downloads = st.container(horizontal=True)  # each button as wide as its label
downloads.download_button(f"下载筛选结果（Excel，{len(shown):,}个单位）", file_name=f"单位清单{suffix}.xlsx",
                          data=widgets.audited(lambda shown=shown: to_xlsx({"单位清单": unit_table(shown)}, note=note),
                                               f"单位清单{suffix}.xlsx"), key="download_view_xlsx",
                          mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                          icon=":material/download:")
downloads.download_button("下载筛选结果（CSV）", file_name=f"单位清单{suffix}.csv", mime="text/csv",
                          data=widgets.audited(lambda shown=shown: to_csv(unit_table(shown)), f"单位清单{suffix}.csv"),
                          key="download_view_csv", icon=":material/download:")

st.subheader("乡镇街道与网格排名")
town_table = widgets.rate_table(coverage_rates(shown, by="town_name"), "乡镇街道")
grid_table = widgets.rate_table(coverage_rates(shown, by="grid_id"), "网格")
names = dict(zip(analysis.county.grids["id"], analysis.county.grids["name"]))
grid_table.insert(1, "网格名称", grid_table["网格"].map(names))
left, right = st.columns([9, 11])  # the grids' table has one column more
with left:
    widgets.show_ranking(town_table, ["乡镇街道"], "乡镇街道")
with right:
    widgets.show_ranking(grid_table, ["网格", "网格名称"], "网格")
with st.expander("全部乡镇街道和网格排名（可排序）", key=widgets.FULL_RANKING_KEY, on_change="rerun") as full_ranking:
    if full_ranking.open:  # built only when opened: its sortable tables are heavy in the browser
        left, right = st.columns(2)
        with left:
            widgets.show_rate_table(town_table)
        with right:
            widgets.show_rate_table(grid_table)
