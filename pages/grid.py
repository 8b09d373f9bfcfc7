"""网格: the grid leader's page — one grid, its units, what the rules call for, and downloads."""

from functools import partial

import streamlit as st

from services.actions import grid_todo
from services.exports import to_xlsx, unit_table
from services.rates import coverage_rates

from dashboard import county_map, state, unit_form, widgets
from dashboard.grid_summary import grid_summary_html
from dashboard.popups import markdown_text

widgets.page_header("网格")
analysis = state.analysis()
grids = analysis.assessment.grids
grid_ids = grids["id"].tolist()
if not grid_ids:  # e.g. a grid leader whose grid was removed by a new grid layer
    st.info("当前账号没有可查看的网格，请联系管理员核对账号的所管网格。")
    st.stop()
names = dict(zip(grids["id"], grids["name"]))

# Arriving by a link (?grid=…) or from a click on the county map chooses the grid; after that
# the selector rules, and the address follows it so the page can be bookmarked or shared.
wanted = st.query_params.get("grid")
if wanted != st.session_state.get("grid_param_applied"):
    st.session_state["grid_param_applied"] = wanted
    if wanted in names:
        st.session_state["grid_choice"] = wanted
if st.session_state.get("grid_choice") not in names:
    st.session_state["grid_choice"] = grid_ids[0]
grid_id = st.selectbox("选择网格", grid_ids, format_func=lambda g: f"{names[g]}（{g}）", key="grid_choice")
st.query_params["grid"] = grid_id
st.session_state["grid_param_applied"] = grid_id

grid = grids.set_index("id").loc[grid_id].to_dict() | {"id": grid_id}
units = analysis.units[analysis.units["grid_id"] == grid_id]
rates = coverage_rates(units).iloc[0].to_dict()
orgs = analysis.assessment.orgs
branches = orgs[orgs["org_key"].isin(units["org_key"].dropna()) & orgs["org_type"].eq("网格党支部")]

info = st.columns([2, 2, 3])
info[0].markdown(f"**所属乡镇街道**：{markdown_text(grid.get('town')) or '—'}")
info[1].markdown(f"**网格长**：{markdown_text(grid.get('leader')) or '⚠️ 未配备'}　{markdown_text(grid.get('leader_phone'))}")
info[2].markdown("**网格党支部**：" + ("、".join(markdown_text(n) for n in branches["name"]) if len(branches)
                                       else "⚠️ 未建立网格党支部"))
widgets.kpi_cards(units)
basemap = widgets.basemap_choice(key="grid_basemap")


def _pick_grid():
    """Clicking another grid on this map switches the page to it."""
    clicked = county_map.clicked_grid(analysis.county.grids, st.session_state.get("grid_map"), basemap)
    if clicked:
        st.session_state["grid_choice"] = clicked
        st.query_params["grid"] = clicked


view = county_map.MapView(units=units, grid_rates=state.grid_rates(), basemap=basemap,
                          tianditu_key=widgets.tianditu_key(), focus_grids=(grid_id,), height=520)
widgets.show_county_map(analysis, view, key="grid_map", on_change=_pick_grid)

todo = grid_todo(analysis, grid_id)
ledger = unit_table(units)
left, right = st.columns([3, 2])
with left:
    st.subheader(f"网格内单位（{len(units)}个）")
    st.dataframe(ledger, hide_index=True, width="stretch", height=420)
with right:
    st.subheader(f"待办事项（{len(todo)}项）")
    st.dataframe(todo.drop(columns="优先"), hide_index=True, width="stretch", height=420)

note = "虚构示例数据" if state.fictional() else None
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Each file is made when its button is clicked, and the export recorded in the audit log.
downloads = st.columns(3)
downloads[0].download_button("下载网格台账（Excel）", key="download_ledger", mime=XLSX,
                             data=widgets.audited(partial(to_xlsx, {"网格台账": ledger}, note=note),
                                                  f"网格台账_{grid_id}.xlsx"),
                             file_name=f"网格台账_{grid_id}.xlsx")
downloads[1].download_button("下载待办清单（Excel）", key="download_todo", mime=XLSX,
                             data=widgets.audited(partial(to_xlsx, {"待办清单": todo.drop(columns="优先")}, note=note),
                                                  f"待办清单_{grid_id}.xlsx"),
                             file_name=f"待办清单_{grid_id}.xlsx")
summary = grid_summary_html(grid, rates, units, todo, state.fictional(), analysis.assessment.policy.as_of_date())
downloads[2].download_button("下载一页纸汇总（可打印）", widgets.audited(summary.encode("utf-8"), f"网格汇总_{grid_id}.html"),
                             file_name=f"网格汇总_{grid_id}.html", mime="text/html", key="download_summary")

unit_form.edit_section(units, analysis.county.instructors)
