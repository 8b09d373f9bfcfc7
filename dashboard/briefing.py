"""Streamlit pieces of the 汇报演示 page: presentation mode, the analysis a room may see, the
saved sequence and its editor, each step's headline, map and charts, and the take-away files.

A briefing is projected in a meeting room: the sidebar, Streamlit's header and toolbar are
hidden on this page only, the headline figure is set several times the body size so the back
row can read it, and the presenter steps with buttons, the arrow keys or a clicker (which sends
PageDown/PageUp). Unless the county is the fictional demo, the room sees the 演示 view
(anonymised: no unit name, person or code) until a county-level presenter explicitly asks for
real names.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import weakref
from functools import partial

import pandas as pd
import streamlit as st

from services import briefing, snapshots
from services.access import Viewer, anonymise
from services.analysis import Analysis
from services.brief_pdf import brief_pdf
from services.palette import PLACE_COLOURS, STATUS_COLOURS
from services.rates import totals
from services.static_map import map_png
from services.store import default_url
from services.workspace import FICTIONAL_NOTE

from dashboard import county_map, state, widgets
from dashboard.popups import markdown_text
from dashboard.takeaway import standalone_html

SETTING = "briefing_steps"
INDEX_KEY = "briefing_step"
REAL_NAMES_KEY = "briefing_real_names"
BASEMAP_KEY = "briefing_basemap"
MAP_HEIGHT = 600

# Presentation mode. Scoped to this page: Streamlit replaces the page's elements when another
# page is opened, and these style and script elements go with them.
_STYLE = """
<style>
  [data-testid="stSidebar"], [data-testid="stExpandSidebarButton"], [data-testid="stHeader"],
  [data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"],
  [data-testid="stAppDeployButton"], [data-testid="stMainMenu"] { display: none !important; }
  [data-testid="stMainBlockContainer"] { padding: 0.8rem 1.6rem 2rem 1.6rem; max-width: 100%; }
  .st-key-briefing_title h2 { font-size: 2.4rem; line-height: 1.2; padding: 0.2rem 0; }
  .st-key-briefing_title p { font-size: 1.15rem; color: #555; }
  .st-key-briefing_headline [data-testid="stMetricValue"] { font-size: 5.5rem; line-height: 1.05;
    font-weight: 700; color: #B8001F; }
  .st-key-briefing_headline [data-testid="stMetricLabel"] p { font-size: 1.7rem; line-height: 1.3; }
  .st-key-briefing_sentence p { font-size: 1.75rem; line-height: 1.5; }
  .st-key-briefing_previous button, .st-key-briefing_next button, .st-key-briefing_exit a {
    font-size: 1.25rem; min-height: 3rem; }
  .st-key-briefing_progress [data-testid="stMetricValue"] { font-size: 2.6rem; }
  .briefing-fictional { display: inline-block; background: #B8001F; color: #fff; font-size: 1.5rem;
    font-weight: 700; padding: 0.25rem 0.9rem; border-radius: 0.4rem; white-space: nowrap; }
</style>
"""
# → / PageDown: next step; ← / PageUp: previous. Keys typed into a field are the field's. The
# script is fixed text (no data in it); it finds the buttons by the class Streamlit gives a
# keyed widget's container (st-key-<key>) and clicks them, as the presenter would.
#: Which key presses which button (by the button's widget key).
STEP_KEYS = {"ArrowRight": "briefing_next", "PageDown": "briefing_next",
             "ArrowLeft": "briefing_previous", "PageUp": "briefing_previous"}
_KEYS = """
<script>
(function () {
  var steps = STEP_KEYS;
  if (window.__briefingKeys) { document.removeEventListener("keydown", window.__briefingKeys, true); }
  window.__briefingKeys = function (event) {
    var key = steps[event.key];
    var target = event.target;
    if (!key || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)
                   || (target.getAttribute && target.getAttribute("role") === "combobox"))) { return; }
    var button = document.querySelector(".st-key-" + key + " button");
    if (!button || button.disabled) { return; }
    event.preventDefault();
    button.click();
  };
  document.addEventListener("keydown", window.__briefingKeys, true);
})();
</script>
""".replace("STEP_KEYS", json.dumps(STEP_KEYS))


def presentation_mode() -> None:
    """Hide the app's chrome on this page, make the headline large, listen to the keys.

    Like :func:`dashboard.widgets.page_header` (which this page does not call: its title and
    banner would take a projector's best lines), it first makes sure the page runs inside the
    app's navigation when a fresh server's first request is this page's link.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
    st.html(_STYLE)
    st.html(_KEYS, unsafe_allow_javascript=True)


# --- what the room may see -----------------------------------------------------------------


def may_show_real_names(viewer: Viewer) -> bool:
    """Only a presenter who sees the whole county by name (管理员, 县级) may lift the 演示 view."""
    return viewer.role in ("admin", "county")


def shown_analysis() -> tuple[Analysis, bool]:
    """The analysis the room sees and whether it is anonymised.

    The fictional demo is shown as it is (its names are invented); real data is anonymised
    unless an admin or county presenter ticked 显示真实名称; a 演示 account's analysis is
    anonymised already (:func:`dashboard.state.analysis`).
    """
    viewer = state.viewer()
    analysis = state.analysis()
    if viewer.anonymised:
        return analysis, True
    if state.fictional() or (may_show_real_names(viewer) and st.session_state.get(REAL_NAMES_KEY)):
        return analysis, False
    return _remembered("anonymised", analysis, anonymise), True


def area_label(viewer: Viewer) -> str:
    """What the viewer's figures cover, as the sentences say it ("全县", "禾丰镇", "本网格")."""
    if viewer.whole_county:
        return "全县"
    if viewer.role == "town":
        return "、".join(viewer.towns) or "本乡镇街道"
    return "本网格" if len(viewer.grids) == 1 else "所辖网格"


_REMEMBERED: dict = {}
_LOCK = threading.Lock()


def _remembered(what: str, analysis: Analysis, make):
    """``make(analysis)``, computed once for this very analysis object.

    The analyses come from :mod:`dashboard.state`'s caches (one object per data version,
    policy and viewer), so keying on the object keeps a result exactly as long as its analysis
    is current: stepping through the briefing never anonymises 100k units twice. A weak
    reference makes sure a recycled ``id`` is never mistaken for the old analysis.
    """
    key = (what, id(analysis))
    with _LOCK:
        hit = _REMEMBERED.get(key)
        if hit is not None and hit[0]() is analysis:
            return hit[1]
    value = make(analysis)
    with _LOCK:
        for stale in [k for k, (ref, _) in _REMEMBERED.items() if ref() is None]:
            del _REMEMBERED[stale]
        _REMEMBERED[key] = (weakref.ref(analysis), value)
    return value


# --- the sequence --------------------------------------------------------------------------


def setting_key(viewer: Viewer) -> str:
    """Whole-county presenters share one sequence; a town or grid account keeps its own (its
    steps name places only it may see)."""
    return SETTING if viewer.whole_county else f"{SETTING}:{viewer.name}"


def sequence(analysis: Analysis) -> list[briefing.Step]:
    """The saved sequence (steps this analysis cannot show left out), else the default one."""
    saved = state.store().setting(setting_key(state.viewer()))
    if saved is None:
        return _remembered("default_steps", analysis, briefing.default_steps)
    return [step for step in briefing.steps_from_json(saved) if briefing.usable(analysis, step)]


def _save(steps: list[briefing.Step]) -> None:
    viewer = state.viewer()
    state.store().save_setting(setting_key(viewer), briefing.steps_to_json(steps), viewer.name)


def current_index(count: int) -> int:
    """The step on screen, kept within the sequence (which may have been shortened)."""
    index = min(max(int(st.session_state.get(INDEX_KEY, 0)), 0), max(count - 1, 0))
    st.session_state[INDEX_KEY] = index
    return index


def _go(delta: int, count: int) -> None:
    st.session_state[INDEX_KEY] = min(max(st.session_state.get(INDEX_KEY, 0) + delta, 0), count - 1)


# --- the screen ------------------------------------------------------------------------------


def top_bar(headline: briefing.Headline, index: int, count: int, fictional: bool, anonymised: bool) -> None:
    """The step's title, where the presenter is in the sequence, the fictional-data label, and
    the buttons (上一步, 下一步, 退出演示)."""
    title, badge, previous, following, leave = st.columns([7, 2, 1.2, 1.2, 1.3], vertical_alignment="center")
    with title.container(key="briefing_title"):
        st.markdown(f"## {markdown_text(headline.title)}")
        st.markdown(f"第{index + 1}步，共{count}步" + ("　·　演示视图（已隐去单位名称）" if anonymised else ""))
    if fictional:  # fixed text, no data in it
        badge.markdown(f"<span class='briefing-fictional'>{FICTIONAL_NOTE}</span>", unsafe_allow_html=True)
    previous.button("上一步", key="briefing_previous", width="stretch", disabled=index == 0,
                    on_click=_go, args=(-1, count), help="也可按键盘 ← 或 PageUp")
    following.button("下一步", key="briefing_next", width="stretch", type="primary", disabled=index >= count - 1,
                     on_click=_go, args=(1, count), help="也可按键盘 → 或 PageDown")
    with leave.container(key="briefing_exit"):
        st.page_link("pages/county_map.py", label="退出演示", icon=":material/close:")


def show_headline(headline: briefing.Headline) -> None:
    """The one figure (large) and the one sentence."""
    figure, sentence = st.columns([1, 2.6], vertical_alignment="center")
    with figure.container(key="briefing_headline"):
        st.metric(markdown_text(headline.figure_label), headline.figure_value)
    with sentence.container(key="briefing_sentence"):
        st.markdown(markdown_text(headline.sentence))


def map_view(view: briefing.StepView, marks: tuple = ()) -> county_map.MapView:
    """The step's map as :func:`dashboard.county_map.build_map` takes it."""
    return _map_view(view, marks, state.grid_rates(), st.session_state.get(BASEMAP_KEY, county_map.OSM),
                     widgets.tianditu_key())


def _map_view(view: briefing.StepView, marks: tuple, grid_rates, basemap: str, tianditu_key) -> county_map.MapView:
    return county_map.MapView(units=view.units, grid_rates=grid_rates, basemap=basemap, tianditu_key=tianditu_key,
                              layers=view.layers, focus_grids=view.focus_grids, focus_bounds=view.focus_bounds,
                              height=MAP_HEIGHT, marks=marks)


def prepare_next(analysis: Analysis, sequence: list[briefing.Step], index: int, anonymised: bool) -> None:
    """Render the next step's map in the background while the presenter talks over this one:
    on a city a step's map takes up to a few seconds to render the first time, and the room
    should not wait for it after 下一步. For the progress step that includes the comparison its
    panel shows first (the first snapshot against 现在) and the changes it marks on the map.
    Call it last: the page is complete before the work starts."""
    if index + 1 >= len(sequence):
        return
    step = sequence[index + 1]
    # What comes from the session is read here; the rest is computed in the background.
    session = (state.grid_rates(), st.session_state.get(BASEMAP_KEY, county_map.OSM), widgets.tianditu_key())
    if step.kind == "progress":  # its data is made in the background too (snapshots of a city)
        context = (anonymised, state.viewer(), state.full_analysis(), snapshots.list_snapshots(state.store()))
    else:
        context = None

    def render_next():
        marks = _default_marks(progress(analysis, *context)) if context is not None else ()
        step_view = briefing.step_view(analysis, step)
        widgets.prepare_county_map(map_area(analysis, step_view), _map_view(step_view, marks, *session))

    threading.Thread(target=render_next, name="briefing-next-step", daemon=True).start()


def _default_marks(upcoming: Progress) -> tuple:
    """The progress step's map marks before the presenter picks two other snapshots."""
    if upcoming.listing.empty:
        return ()
    before, after = upcoming.default_choice()
    _, _, comparison = upcoming.comparison(before, after)
    return progress_marks(upcoming, comparison, briefing.moved_grids(comparison.grids))


def map_area(analysis: Analysis, view: briefing.StepView) -> Analysis:
    """The analysis with only the grids the step's map draws (display only: every figure was
    computed before); the same analysis when the map shows the whole area."""
    if view.grids is None:
        return analysis
    grids = analysis.county.grids
    county = dataclasses.replace(analysis.county, grids=grids[grids["id"].isin(view.grids)])
    return dataclasses.replace(analysis, county=county)


def show_map(analysis: Analysis, view: county_map.MapView) -> None:
    """The step's map (one key for every step: each step's map is a new component anyway)."""
    widgets.show_county_map(analysis, view, key="briefing_map")


def town_chart(analysis: Analysis) -> None:
    """The towns ranked by organisation coverage, as bars, with the whole area's rate as a
    dashed line (the towns left of it are the ones the sentence names)."""
    ranking = briefing.town_ranking(analysis)
    if ranking.empty:
        return
    frame = pd.DataFrame({"乡镇街道": ranking["town"], "组织覆盖率": ranking["org_coverage_rate"],
                          "单位": ranking["units"]})
    x = {"field": "组织覆盖率", "type": "quantitative", "axis": {"format": "%"}, "scale": {"domain": [0, 1]}}
    y = {"field": "乡镇街道", "type": "nominal", "sort": frame["乡镇街道"].tolist(), "title": None}
    average = totals(analysis.units)["org_coverage_rate"]
    _chart(frame, {
        "height": MAP_HEIGHT - 40, "title": "组织覆盖率（红色虚线为平均）",
        "layer": [
            {"mark": {"type": "bar", "color": "#756bb1"},
             "encoding": {"x": x, "y": y, "tooltip": [
                 {"field": "乡镇街道", "type": "nominal"},
                 {"field": "组织覆盖率", "type": "quantitative", "format": ".2%"},
                 {"field": "单位", "type": "quantitative"}]}},
            {"mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 16},
             "encoding": {"x": x, "y": y, "text": {"field": "组织覆盖率", "type": "quantitative", "format": ".1%"}}},
            _rule("x", average, "组织覆盖率", size=2)],
        "config": {"axis": {"labelFontSize": 16, "titleFontSize": 16}}})


def _chart(frame: pd.DataFrame, spec: dict) -> None:
    """A chart the width of its column, from a Vega-Lite spec written as a dict.

    Why not altair: building an altair chart validates every piece against the Vega-Lite JSON
    schema, 40–130 ms per chart on this VM, and the 汇报演示 page draws its charts on every
    step; the presenter waits for that on each click. A dict goes to the browser as it is."""
    st.vega_lite_chart(frame, spec, width="stretch")


def _rule(channel: str, value: float, field: str, size: float = 1) -> dict:
    """A dashed red rule at ``value`` (a target or an average), with its own one-row data."""
    return {"data": {"values": [{field: value}]},
            "mark": {"type": "rule", "color": "#B8001F", "strokeDash": [6, 4], "size": size},
            "encoding": {channel: {"field": field, "type": "quantitative"}}}


# --- progress over time ----------------------------------------------------------------------


@st.cache_resource(max_entries=16, show_spinner=False)
def _stored(url: str, snapshot_id: int, taken_at: str, viewer: Viewer, anonymised: bool) -> snapshots.Snapshot:
    """A stored snapshot as the room may see it, loaded and cut once (a city's 100k units take
    a second to anonymise). A snapshot's figures never change, only its label may;
    ``taken_at`` is in the key so a store made anew at the same place never serves an old
    store's snapshot."""
    return _as_shown(snapshots.load_snapshot(state.store(), snapshot_id), viewer, anonymised)


def _as_shown(snapshot: snapshots.Snapshot, viewer: Viewer, anonymised: bool) -> snapshots.Snapshot:
    """A snapshot as the room may see it: the viewer's area, anonymised like the map."""
    shown = snapshots.for_viewer(snapshot, viewer)
    if anonymised and not viewer.anonymised:
        shown = snapshots.for_viewer(shown, Viewer(viewer.name, "demo"))
    return shown


def _snapshot(row, anonymised: bool, viewer: Viewer, full: Analysis) -> snapshots.Snapshot:
    """The snapshot of a :func:`services.snapshots.list_snapshots` row (``id`` 0: 现在) as shown
    to ``viewer`` (``full``: the whole county now; both passed in, as a background thread has
    no session to read them from).

    现在 is built from the whole county (units are matched by credit code, which the shown
    analysis may have masked), then cut and anonymised like a stored one; it is remembered
    with the analysis it was made from."""
    if int(row["id"]) == 0:
        return _remembered(f"now:{viewer}:{anonymised}", full,
                           lambda whole: _as_shown(briefing.current_snapshot(whole), viewer, anonymised))
    shown = _stored(default_url(), int(row["id"]), str(row["taken_at"]), viewer, anonymised)
    return dataclasses.replace(shown, label=row["label"])


def _compare(before, after, anonymised: bool, viewer: Viewer, full: Analysis) -> snapshots.Comparison:
    """:func:`services.snapshots.compare` of two listed snapshots, remembered with the current
    analysis (stepping back to the progress view does not compare 100k units again)."""
    key = f"compare:{viewer}:{anonymised}:{before['id']}:{before['taken_at']}:{after['id']}:{after['taken_at']}"
    return _remembered(key, full, lambda _: snapshots.compare(_snapshot(before, anonymised, viewer, full),
                                                              _snapshot(after, anonymised, viewer, full)))


def history(analysis: Analysis, listing: pd.DataFrame, anonymised: bool, viewer: Viewer,
            full: Analysis) -> pd.DataFrame:
    """Coverage rates over the snapshots, oldest first, then 现在 (the analysis shown)."""
    if viewer.whole_county:
        rows = listing[["id", "label", "taken_at", "org_coverage_rate", "work_coverage_rate"]].copy()
    else:  # the viewer's share of each snapshot, recomputed from its units
        shown = [_snapshot(row, anonymised, viewer, full).totals for _, row in listing.iterrows()]
        rows = pd.DataFrame({"id": listing["id"], "label": listing["label"], "taken_at": listing["taken_at"],
                             "org_coverage_rate": [s["org_coverage_rate"] for s in shown],
                             "work_coverage_rate": [s["work_coverage_rate"] for s in shown]})
    now = totals(analysis.units)
    rows["now"] = False
    rows.loc[len(rows)] = {"id": 0, "label": "现在", "taken_at": "", "now": True,
                           "org_coverage_rate": now.get("org_coverage_rate"),
                           "work_coverage_rate": now.get("work_coverage_rate")}
    return rows.reset_index(drop=True)


def rate_chart(rates: pd.DataFrame) -> None:
    """Organisation and work coverage over the snapshots, against the 100% target."""
    points = rates.assign(时间=[f"{i + 1}. {label}" for i, label in enumerate(rates["label"])])
    frame = points.melt(id_vars=["时间"], value_vars=["org_coverage_rate", "work_coverage_rate"],
                        var_name="指标", value_name="覆盖率")
    frame["指标"] = frame["指标"].map({"org_coverage_rate": "党的组织覆盖率", "work_coverage_rate": "党的工作覆盖率"})
    _chart(frame, {
        "height": 260, "title": "覆盖率变化（红色虚线为100%目标）",
        "layer": [
            {"mark": {"type": "line", "point": {"size": 80}},
             "encoding": {
                 "x": {"field": "时间", "type": "nominal", "sort": points["时间"].tolist(), "title": None,
                       "axis": {"labelAngle": 0}},
                 "y": {"field": "覆盖率", "type": "quantitative", "axis": {"format": "%"},
                       "scale": {"domain": [0, 1]}, "title": None},
                 "color": {"field": "指标", "type": "nominal",
                           "scale": {"domain": ["党的组织覆盖率", "党的工作覆盖率"], "range": ["#54278f", "#E69F00"]},
                           "legend": {"orient": "bottom", "title": None}},
                 "tooltip": [{"field": "时间", "type": "nominal"}, {"field": "指标", "type": "nominal"},
                             {"field": "覆盖率", "type": "quantitative", "format": ".2%"}]}},
            _rule("y", 1.0, "覆盖率")],
        "config": {"axis": {"labelFontSize": 14, "titleFontSize": 14}, "legend": {"labelFontSize": 14}}})


@dataclasses.dataclass
class Progress:
    """The snapshots as the progress step shows them: the stored list and the rates over time
    (snapshots, then 现在), for the viewer's area."""

    analysis: Analysis
    listing: pd.DataFrame
    rates: pd.DataFrame
    anonymised: bool
    viewer: Viewer
    full: Analysis  # the whole county now (现在 is built from it)

    def rows(self, before: int, after: int) -> tuple[dict, dict]:
        """The rates' rows of two listed snapshots (0: 现在), as :func:`_compare` takes them."""
        rows = self.rates.set_index("id")
        return tuple(rows.loc[key].to_dict() | {"id": key} for key in (before, after))

    def comparison(self, before: int, after: int) -> tuple[dict, dict, snapshots.Comparison]:
        before_row, after_row = self.rows(before, after)
        return before_row, after_row, _compare(before_row, after_row, self.anonymised, self.viewer, self.full)

    def default_choice(self) -> tuple[int, int]:
        """What the panel compares until the presenter picks: the first snapshot and 现在."""
        return int(self.listing["id"].iloc[0]), 0


def progress(analysis: Analysis, anonymised: bool, viewer: Viewer | None = None, full: Analysis | None = None,
             listing: pd.DataFrame | None = None) -> Progress:
    """The progress step's data; ``viewer``, ``full`` and ``listing`` default to the session's
    (a background thread passes them)."""
    viewer = viewer if viewer is not None else state.viewer()
    full = full if full is not None else state.full_analysis()
    listing = listing if listing is not None else snapshots.list_snapshots(state.store())
    return Progress(analysis, listing, history(analysis, listing, anonymised, viewer, full), anonymised, viewer, full)


def progress_marks(progress: Progress, comparison: snapshots.Comparison, moved: pd.DataFrame) -> tuple:
    """The map's :class:`~dashboard.county_map.Marks` of what changed between two snapshots."""
    changed = [(name, colour, frame.assign(label=[f"{name}：{n}" for n in frame["name"]]), 10)
               for name, colour, frame in (("新实现组织覆盖", STATUS_COLOURS["own"], comparison.new_orgs),
                                           ("消除的空白点", PLACE_COLOURS["park"], comparison.closed_blind),
                                           ("新增空白点", STATUS_COLOURS["blind"], comparison.new_blind))]
    changed.append(("覆盖率变化的网格", "#000000", briefing.moved_grid_points(progress.analysis, moved), 16))
    return tuple(county_map.Marks(name, colour, points, radius) for name, colour, points, radius in changed
                 if len(points))


def progress_panel(progress: Progress) -> tuple:
    """The progress step's side panel: rates over time, the before/after choice and what
    changed; returns the map's :class:`~dashboard.county_map.Marks` of the changed units."""
    listing = progress.listing
    rate_chart(progress.rates)
    if listing.empty:
        st.info("还没有快照：至少需要两次导入的快照才能比较前后变化（每次导入台账时自动保存一次）。")
        return ()
    options = [*listing["id"].astype(int), 0]
    labels = {0: "现在（当前数据）", **{int(i): f"{label}（{str(t)[:10]}）"
                                       for i, label, t in zip(listing["id"], listing["label"], listing["taken_at"])}}
    if len(listing) < 2:
        st.info(f"目前只有1次快照（{markdown_text(listing['label'].iloc[0])}）：至少需要两次导入的快照才能比较两次导入之间的变化，"
                "下面将它与当前数据比较。")
    left, right = st.columns(2)
    before = left.selectbox("之前", options, format_func=labels.get, key="briefing_before", index=0)
    after = right.selectbox("之后", options, format_func=labels.get, key="briefing_after", index=len(options) - 1)
    if before == after:
        st.caption("请选择两个不同的时间点。")
        return ()
    before_row, after_row, comparison = progress.comparison(before, after)
    with st.container(key="briefing_progress"):
        cards = st.columns(3)
        cards[0].metric("新实现组织覆盖", f"{len(comparison.new_orgs):,}个")
        cards[1].metric("消除空白点", f"{len(comparison.closed_blind):,}个")
        cards[2].metric("新增空白点", f"{len(comparison.new_blind):,}个")
    st.markdown(markdown_text(briefing.change_sentence(
        len(comparison.new_orgs), len(comparison.closed_blind), len(comparison.new_blind),
        before_row["label"], after_row["label"])))
    moved = briefing.moved_grids(comparison.grids)
    if len(moved):
        _chart(moved.assign(变化=moved["change"])[["label", "变化"]], {
            "height": 140 + 40 * len(moved), "title": "变化最大的网格",  # title and axes take ~110 px of it
            "mark": "bar",
            "encoding": {
                "x": {"field": "变化", "type": "quantitative", "title": "组织覆盖率变化（百分点）"},
                "y": {"field": "label", "type": "nominal", "sort": "-x", "title": None, "axis": {"labelLimit": 280}},
                "color": {"condition": {"test": "datum['变化'] > 0", "value": "#009E73"}, "value": "#D55E00"},
                "tooltip": [{"field": "label", "type": "nominal", "title": "网格"},
                            {"field": "变化", "type": "quantitative", "format": ".2f"}]},
            "config": {"axis": {"labelFontSize": 13}}})
    return progress_marks(progress, comparison, moved)


# --- take-away files -------------------------------------------------------------------------


def _file_name(text: str) -> str:
    """A file name from a title (no path separators or characters Windows refuses)."""
    return re.sub(r'[\\/:*?"<>|\s]+', "_", text).strip("_")


def takeaways(analysis: Analysis, on_map: Analysis, step: briefing.Step, headline: briefing.Headline,
              view: county_map.MapView, fictional: bool) -> None:
    """The current view as files to take away: the offline map (the map on screen, ``on_map``
    and ``view``), the PDF brief (the county and every town, or the county and the grid on
    screen), the map as a 1920×1080 picture. Made on the click, from the analysis the room
    sees, and recorded in the audit log."""
    county = analysis.county.name or "本县"
    title = f"{county} {headline.title}"
    suffix = f"（{FICTIONAL_NOTE}）" if fictional else ""
    stem = _file_name(f"{county}_{headline.title}")
    grid = step.target if step.kind == "grid" else None
    files = (
        ("下载离线地图（HTML）", f"{stem}_离线地图{suffix}.html", "text/html",
         partial(standalone_html, on_map, view, fictional=fictional, title=title), "briefing_html"),
        ("下载汇报材料（PDF）", f"{_file_name(county)}_汇报材料{suffix}.pdf", "application/pdf",
         partial(brief_pdf, analysis, grids=[grid] if grid else None, fictional=fictional, county_name=county),
         "briefing_pdf"),
        ("下载当前视图图片（PNG 1920×1080）", f"{stem}_地图{suffix}.png", "image/png",
         partial(map_png, analysis, width=1920, height=1080, focus=grid, title=title, fictional=fictional),
         "briefing_png"),
    )
    for column, (label, name, mime, make, key) in zip(st.columns(len(files)), files):
        column.download_button(label, data=widgets.audited(make, name), file_name=name, mime=mime, key=key,
                               on_click="ignore", icon=":material/download:", width="stretch")


# --- options and the sequence editor ---------------------------------------------------------


def options(fictional: bool) -> None:
    """Real names (admin and county presenters, real data only) and the basemap."""
    viewer = state.viewer()
    left, right = st.columns([2, 3])
    if not fictional and not viewer.anonymised and may_show_real_names(viewer):
        left.checkbox("显示真实名称", key=REAL_NAMES_KEY,
                      help="默认以演示视图汇报：不显示单位名称、人员和信用代码。仅在内部会议上勾选。")
    basemaps = [county_map.OSM, county_map.GAODE, county_map.NO_BASEMAP]
    if widgets.tianditu_key():
        basemaps.insert(2, county_map.TIANDITU)
    right.radio("底图", basemaps, horizontal=True, key=BASEMAP_KEY, help="会场无外网时选“无底图”")


def sequence_editor(analysis: Analysis, steps: list[briefing.Step], index: int) -> None:
    """Reorder, drop and add steps; every change is saved at once for the next briefing."""
    with st.expander("编辑汇报顺序", icon=":material/format_list_numbered:"):
        st.caption("调整后立即保存，下次打开“汇报演示”时按此顺序。"
                   + ("" if state.viewer().whole_county else "（本账号单独保存）"))
        for i, step in enumerate(steps):
            row = st.columns([0.5, 6, 1, 1, 1, 1], vertical_alignment="center")
            row[0].markdown(f"**{i + 1}**" + ("　◀" if i == index else ""))
            row[1].markdown(markdown_text(briefing.step_label(analysis, step)))
            row[2].button("上移", key=f"briefing_up_{i}", disabled=i == 0, on_click=_move, args=(steps, i, -1))
            row[3].button("下移", key=f"briefing_down_{i}", disabled=i == len(steps) - 1,
                          on_click=_move, args=(steps, i, 1))
            row[4].button("删除", key=f"briefing_drop_{i}", disabled=len(steps) == 1, on_click=_drop, args=(steps, i))
            row[5].button("跳到", key=f"briefing_jump_{i}", on_click=_jump, args=(i,))
        kind_column, target_column, add_column = st.columns([2, 4, 1], vertical_alignment="bottom")
        kind = kind_column.selectbox("添加步骤", briefing.KINDS, format_func=briefing.KIND_LABELS.get,
                                     key="briefing_add_kind")
        target = None
        if kind in briefing.TARGET_LAYERS:
            choices = briefing.target_choices(analysis, kind)
            target = target_column.selectbox(f"选择{briefing.KIND_LABELS[kind]}", list(choices),
                                             format_func=choices.get, key="briefing_add_target")
        add_column.button("添加", key="briefing_add", type="primary",
                          disabled=kind in briefing.TARGET_LAYERS and target is None,
                          on_click=_add, args=(steps, kind, target))
        st.button("恢复默认顺序", key="briefing_reset", on_click=_reset, args=(analysis,))


def _move(steps, i: int, delta: int) -> None:
    changed = list(steps)
    changed[i], changed[i + delta] = changed[i + delta], changed[i]
    _save(changed)


def _drop(steps, i: int) -> None:
    _save([step for j, step in enumerate(steps) if j != i])


def _add(steps, kind: str, target: str | None) -> None:
    _save([*steps, briefing.Step(kind, target)])
    st.session_state[INDEX_KEY] = len(steps)  # show what was added


def _jump(i: int) -> None:
    st.session_state[INDEX_KEY] = i


def _reset(analysis: Analysis) -> None:
    _save(briefing.default_steps(analysis))
    st.session_state[INDEX_KEY] = 0
