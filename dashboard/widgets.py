"""Streamlit pieces shared by the pages: banner, KPI cards, filters, tables, the map."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pandas as pd
import streamlit as st

from services import accounts
from services.actions import FLAG_LABELS
from services.coverage import STATUS_LABELS
from services.filters import UnitFilter
from services.rates import totals

from dashboard import assets, county_map, map_component, ranking, state

BASEMAP_KEY = "basemap"  # the session's basemap choice (sidebar), shared by the map pages
FICTIONAL_BANNER = "当前显示的是虚构示例数据（青禾县），不代表任何真实单位。"


def page_header(title: str) -> None:
    """The page title, and on the demo county the 虚构示例数据 banner every screen carries.

    Called first by every page, it also makes sure the page runs inside ``st.navigation``:
    when the first request to a freshly started server asks for a sub-page (a shared link such
    as ``/grid?grid=QH-01-01``), Streamlit still believes the app uses the legacy ``pages/``
    directory and runs that file alone, without the entry point's layout and navigation. The
    flag is cleared and the run restarted through the entry point.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
    st.title(title)
    if state.fictional():
        st.info(f"虚构示例数据 · {FICTIONAL_BANNER}", icon="ℹ️")


def audited(data: Callable[[], bytes | str] | bytes | str, file_name: str) -> Callable[[], bytes | str]:
    """A download button's ``data`` that records the export in the audit log when the file is
    made, i.e. when the user clicks (a deferred download runs only then).

    Unit names, members' counts and instructors' phones leave the county's system through
    these buttons, so who took which file is part of the record like an edit is. The callable
    runs in the server's file handler, after the script has finished and outside the session,
    so the store and the viewer's name are bound now. ``data`` may be ready bytes (a file that
    is cheap to make) or a callable that builds the file; bind its inputs (``functools.partial``)
    rather than closing over page variables that a later line may rebind.
    """
    store, who = state.store(), state.viewer().name

    def build():
        accounts.audit(store, who, "导出", file_name)
        return data() if callable(data) else data

    return build


def percent(value) -> str:
    """A rate as a percentage with two decimals; "—" when undefined (no units)."""
    return "—" if value is None or value != value else f"{value * 100:.2f}%"


def kpi_cards(units: pd.DataFrame) -> None:
    """The coverage figures of ``units`` (same function as the report's totals)."""
    row = totals(units)
    first = st.columns(6)
    first[0].metric("单位总数", f"{int(row['units']):,}")
    first[1].metric("单独组建", f"{int(row['own']):,}")
    first[2].metric("联合组建", f"{int(row['joint']):,}")
    first[3].metric("工作覆盖", f"{int(row['work']):,}")
    first[4].metric("空白点", f"{int(row['blind']):,}")
    first[5].metric("重点空白点", f"{int(row['priority_blind']):,}")
    second = st.columns(3)
    org_gap = None if row["org_coverage_rate"] != row["org_coverage_rate"] else row["org_coverage_rate"] - 1
    work_gap = None if row["work_coverage_rate"] != row["work_coverage_rate"] else row["work_coverage_rate"] - 1
    second[0].metric("党的组织覆盖率", percent(row["org_coverage_rate"]),
                     delta=None if org_gap is None else f"距100%目标 {org_gap * 100:.2f}个百分点",
                     delta_color="off", delta_arrow="off", help="(单独组建+联合组建)/在册单位；目标100%（002 一）")
    second[1].metric("党的工作覆盖率", percent(row["work_coverage_rate"]),
                     delta=None if work_gap is None else f"距100%目标 {work_gap * 100:.2f}个百分点",
                     delta_color="off", delta_arrow="off", help="(单独组建+联合组建+工作覆盖)/在册单位；目标100%（002 一）")
    second[2].metric("规上企业党组织组建率", percent(row["above_scale_formation_rate"]),
                     delta=f"{int(row['above_scale_own'])}/{int(row['above_scale'])}家", delta_color="off", delta_arrow="off",
                     help="规上企业中单独组建党组织的比例（004：44/496=8.87%）")


SCALES = {"全部": None, "规上企业": True, "规下": False}
#: The less used filters, built only while "更多筛选条件" is open, and their "all" values.
MORE_FILTERS = {"parks": (), "buildings": (), "industries": (), "kinds": (), "flags": (), "scale": "全部"}


def unit_filter_panel(units: pd.DataFrame, key: str = "filter") -> UnitFilter:
    """The sidebar filters. Town, grid, coverage status and "priority blind spots only" are
    always there; park, building, industry, kind, flag and scale sit in "更多筛选条件", built
    only while it is open (see :func:`_more_filters`)."""
    sidebar = st.sidebar
    sidebar.subheader("筛选")
    towns = sidebar.multiselect("乡镇街道", _choices(units, "town_name"), key=f"{key}_towns", placeholder="全部")
    grid_pool = units[units["town_name"].isin(towns)] if towns else units
    grids = sidebar.multiselect("网格", _choices(grid_pool, "grid_id"), key=f"{key}_grids", placeholder="全部")
    statuses = sidebar.multiselect("覆盖状态", list(STATUS_LABELS), format_func=STATUS_LABELS.get,
                                   key=f"{key}_statuses", placeholder="全部")
    priority = sidebar.checkbox("只看重点空白点", key=f"{key}_priority")
    more = _more_filters(units, key)
    return UnitFilter(towns=tuple(towns), grids=tuple(grids), statuses=tuple(statuses), priority_only=priority,
                      parks=more["parks"], buildings=more["buildings"], industries=more["industries"],
                      kinds=more["kinds"], flags=more["flags"], above_scale=SCALES[more["scale"]])


def _choices(units: pd.DataFrame, column: str) -> list:
    """The values a filter offers: those present in ``units``, sorted, blanks left out."""
    return sorted(v for v in units[column].dropna().unique().tolist() if v != "")


MORE_FILTER_LABELS = {"parks": "园区", "buildings": "商务楼宇", "industries": "行业", "kinds": "单位类型",
                      "flags": "问题提示", "scale": "规模"}


def _more_filters(units: pd.DataFrame, key: str) -> dict:
    """Park, building, industry, kind, flag and scale, in an expander whose widgets exist only
    while it is open; what was chosen keeps applying when it is closed, and says so.

    Why: every widget on the first screen delays the map in the browser; built only when
    opened, these six (the ones a leader seldom needs) brought the drawn map 0.3 s sooner,
    measured side by side in Chromium (BENCHMARKS.md). Streamlit drops a widget's state when
    the widget is not drawn, so the choices are kept under a key of their own
    (``<key>_more_values``) and given back to the widgets as defaults when it reopens."""
    kept_key = f"{key}_more_values"
    kept = st.session_state.get(kept_key, MORE_FILTERS)
    with st.sidebar.expander("更多筛选条件", key=f"{key}_more",
                             on_change="rerun") as panel:
        if panel.open:
            kept = st.session_state[kept_key] = _more_filter_widgets(units, key, kept)
    active = [name for name, value in kept.items() if value != MORE_FILTERS[name]]
    if active and not panel.open:
        st.sidebar.caption("更多筛选条件已启用：" + "、".join(
            f"{MORE_FILTER_LABELS[name]}：{kept[name]}" if name == "scale" else f"{MORE_FILTER_LABELS[name]}（{len(kept[name])}项）"
            for name in active))
        st.sidebar.button("清除更多筛选条件", key=f"{key}_more_clear", on_click=_clear_more_filters, args=(key,),
                          icon=":material/filter_alt_off:")
    return kept


def _more_filter_widgets(units: pd.DataFrame, key: str, kept: dict) -> dict:
    """The six widgets, starting from what was chosen before (values no longer offered dropped)."""
    options = {"parks": _choices(units, "park_name"), "buildings": _choices(units, "building_name"),
               "industries": _choices(units, "industry"), "kinds": ["enterprise", "social_org"],
               "flags": [f for f in FLAG_LABELS if f"flag_{f}" in units]}
    formats = {"kinds": lambda k: "非公企业" if k == "enterprise" else "社会组织", "flags": FLAG_LABELS.get}
    chosen = {name: tuple(st.multiselect(MORE_FILTER_LABELS[name], offered, default=[v for v in kept[name] if v in offered],
                                         format_func=formats.get(name, str), key=f"{key}_{name}", placeholder="全部"))
              for name, offered in options.items()}
    chosen["scale"] = st.radio(MORE_FILTER_LABELS["scale"], list(SCALES), index=list(SCALES).index(kept["scale"]),
                               horizontal=True, key=f"{key}_scale")
    return chosen


def _clear_more_filters(key: str) -> None:
    st.session_state[f"{key}_more_values"] = MORE_FILTERS


def basemap_choice(key: str | None = None) -> str:
    """The basemap selector; 天地图 only when a key is configured."""
    options = [county_map.OSM, county_map.GAODE, county_map.NO_BASEMAP]
    if tianditu_key():
        options.insert(2, county_map.TIANDITU)
    return st.sidebar.radio("底图", options, horizontal=True, key=key or BASEMAP_KEY,
                            help="高德地图使用GCJ-02坐标，叠加图层已自动偏移；内网无外网时选“无底图”")


def tianditu_key() -> str | None:
    """The Tianditu key from .streamlit/secrets.toml (``tianditu_key = "..."``), if any."""
    try:
        return st.secrets.get("tianditu_key")
    except Exception:  # no secrets file at all
        return None


def show_map(fmap, key: str, height: int = 640, on_change=None):
    """Draw a folium map with local assets; panning and zooming never rerun the script, only
    a click on the map does (``last_clicked``, see ``county_map.clicked_grid``). For maps made
    once, such as an upload's preview; the county's maps go through :func:`show_county_map`."""
    if _assets_missing():
        return None
    return map_component.show(map_component.render(fmap), key, height, on_change)


def show_county_map(analysis, view: county_map.MapView, key: str, on_change=None):
    """Draw ``county_map.build_map(analysis, view)``, rendered once per assessment and view
    (``county_map.fingerprint``) and kept for every session: a rerun that leaves the map as it
    was costs a lookup, not a render (see ``dashboard.map_component``)."""
    if _assets_missing():
        return None
    fingerprint = county_map.fingerprint(analysis, view)
    with contextlib.nullcontext() if fingerprint in RENDERED_MAPS else st.spinner("正在绘制地图……"):
        rendered = RENDERED_MAPS.get(fingerprint, lambda: _render(analysis, view))
    return map_component.show(rendered, key, view.height, on_change)


def prepare_county_map(analysis, view: county_map.MapView) -> None:
    """Render a map the user is likely to ask for next (the next briefing step) in the
    background, so that it is ready when they do."""
    RENDERED_MAPS.prepare(county_map.fingerprint(analysis, view), lambda: _render(analysis, view))


def county_page_view(units: pd.DataFrame, grid_rates: pd.DataFrame, basemap: str, focus_grids: tuple = (),
                     highlight_row=None) -> county_map.MapView:
    """The 全县一张图 page's map of ``units`` (one definition: the page draws it, and an import or
    the data watcher renders its unfiltered form ahead)."""
    return county_map.MapView(units=units, grid_rates=grid_rates, basemap=basemap, tianditu_key=tianditu_key(),
                              focus_grids=focus_grids, highlight_row=highlight_row)


def prepare_county_page() -> None:
    """Render the 全县一张图 map the user sees first (no filter, their basemap) in the background:
    called after an import, so the map page opened next shows the new data at once."""
    analysis = state.analysis()
    prepare_county_map(analysis, county_page_view(analysis.units, state.grid_rates(),
                                                  st.session_state.get(BASEMAP_KEY, county_map.OSM)))


def prepare_whole_county_map(analysis, wait: bool = False) -> None:
    """Render the 全县一张图 map of ``analysis`` as a whole-county viewer first sees it (no filter,
    OpenStreetMap), for the data watcher and the server's start (no session: the grid rates
    are those ``state.grid_rates`` gives such a viewer); in the background, or before
    returning when ``wait``."""
    view = county_page_view(analysis.units, state.rates_by_grid(analysis), county_map.OSM)
    if wait:
        RENDERED_MAPS.get(county_map.fingerprint(analysis, view), lambda: _render(analysis, view))
    else:
        prepare_county_map(analysis, view)


#: The county maps rendered in this process, by fingerprint.
RENDERED_MAPS = map_component.MapCache(capacity=32)


def _render(analysis, view: county_map.MapView) -> map_component.RenderedMap:
    return map_component.render(county_map.build_map(analysis, view))


def _assets_missing() -> bool:
    """Whether the map's local JavaScript is missing; if so, say how to install it."""
    missing = assets.missing_assets()
    if missing:
        st.error(f"{assets.MISSING_MESSAGE}（缺少 {len(missing)} 个文件，如 {missing[0]}）")
    return bool(missing)


def rate_table(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """A coverage_rates frame as a Chinese table, worst organisation coverage first."""
    table = frame.reset_index().rename(columns={frame.index.name or "index": label})
    table = table.sort_values(["org_coverage_rate", "units"], ascending=[True, False], na_position="last")
    return table.rename(columns={
        "units": "单位", "own": "单独组建", "joint": "联合组建", "work": "工作覆盖", "blind": "空白点",
        "priority_blind": "重点空白点", "above_scale": "规上企业", "above_scale_own": "规上单独组建",
        "org_coverage_rate": "组织覆盖率", "work_coverage_rate": "工作覆盖率",
        "above_scale_formation_rate": "规上组建率"})


#: Places listed at a glance in a ranking; the whole ranking is built on request.
RANKING_SHOWN = 10
FULL_RANKING_KEY = "full_ranking"  # whether the county page's sortable ranking is open


def show_ranking(table: pd.DataFrame, names: list[str], label: str) -> None:
    """The places of a :func:`rate_table` with the lowest organisation coverage, at most
    :data:`RANKING_SHOWN`, as a light HTML table (see :mod:`dashboard.ranking`)."""
    if table.empty:
        st.caption(f"{label}：当前筛选范围内没有单位")
        return
    shown = min(len(table), RANKING_SHOWN)
    st.caption(f"{label}（按组织覆盖率从低到高，共{len(table):,}个）" if shown == len(table)
               else f"{label}：组织覆盖率最低的{shown}个（共{len(table):,}个）")
    st.html(ranking.ranking_html(table, names, shown))


def show_rate_table(table: pd.DataFrame, height: int = 360) -> None:
    """Show a :func:`rate_table` with rates as bars."""
    bar = {c: st.column_config.ProgressColumn(c, format="percent", min_value=0.0, max_value=1.0)
           for c in ("组织覆盖率", "工作覆盖率", "规上组建率") if c in table}
    st.dataframe(table, hide_index=True, width="stretch", height=height, column_config=bar)
