"""The store and the analysis every page shows, computed once per data version and policy,
shared by all sessions (``st.cache_resource``: treat it as read-only).

The data version comes from the store on every rerun (one tiny query), so an edit or an import
by anyone shows on every page at once.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from services.access import OPEN_VIEWER, Viewer, scope
from services.analysis import Analysis
from services.rates import coverage_rates
from services.settings import DEFAULT_POLICY, Policy
from services.store import Store, default_url
from services.workspace import load_store, workspace_store

from dashboard import warmup

_POLICY_KEY = "policy_overrides"
POLICY_PANEL_KEY = "policy_panel"  # whether the sidebar's 政策参数 is open


@st.cache_resource(show_spinner="正在打开数据库……")
def _store(url: str) -> Store:
    store = workspace_store(url)
    warmup.start(url, store.version, lambda version: _prepare(url, version))
    return store


def _prepare(url: str, version: int, wait: bool = False) -> None:
    """What the data watcher does for a new data version (``dashboard.warmup``): the default
    policy's figures, through the pages' own cache, and the whole county's first map
    (rendered in the background, or before returning when ``wait``)."""
    from dashboard import widgets  # widgets reads this module

    widgets.prepare_whole_county_map(_default_analysis(url, version), wait=wait)


def warm_up() -> None:
    """Open the store and prepare the current version's figures and 全县一张图 map, outside any
    session: what the server does as it starts (``dashboard.serve``), so that its first visitor
    finds them ready. (The data watcher, started by opening the store, prepares the same
    version; both go through the same caches, so the work is done once.)"""
    from dashboard import assets

    assets.use_local_assets()  # as streamlit_app.py does on every run: no script has run yet
    url = default_url()
    _prepare(url, _store(url).version(), wait=True)


def store() -> Store:
    """The county's store (``DATABASE_URL`` or the GeoPackage file), opened once per process."""
    return _store(default_url())


@st.cache_resource(show_spinner="正在计算覆盖情况……", max_entries=8)
def _analysis(url: str, version: int, joint_cap: int, radius_m: float, as_of: dt.date) -> Analysis:
    policy = DEFAULT_POLICY.with_overrides(joint_cap=joint_cap, service_radius_m=radius_m, as_of=as_of)
    return load_store(_store(url), policy)


@st.cache_resource(max_entries=64)
def _grid_rates(key: tuple, viewer: Viewer):
    return rates_by_grid(_scoped(key, viewer))


def rates_by_grid(analysis: Analysis):
    """The coverage rates of every grid of ``analysis``: what the map's grid choropleth shows
    (one definition: a map rendered ahead must get exactly the figures the page would)."""
    return coverage_rates(analysis.units, by="grid_id", groups=analysis.county.grids["id"])


def policy() -> Policy:
    """The policy in force for this session (the sidebar's 政策参数 may change it)."""
    overrides = st.session_state.get(_POLICY_KEY, {})
    return DEFAULT_POLICY.with_overrides(**overrides)


def _key() -> tuple:
    url = default_url()
    current = policy()
    return (url, _store(url).version(), current.joint_cap, float(current.service_radius_m), current.as_of_date())


@st.cache_resource(max_entries=64)
def _scoped(key: tuple, viewer: Viewer) -> Analysis:
    return scope(_analysis(*key), viewer)


def viewer() -> Viewer:
    """Who is looking: set by the sign-in gate (``dashboard.auth``) before any page runs."""
    return st.session_state.get(VIEWER_KEY) or OPEN_VIEWER


VIEWER_KEY = "viewer"


def analysis() -> Analysis:
    """The current county's analysis as this session's viewer may see it (their grid or towns
    only; anonymised for 演示), cached by data version, policy and viewer. Every page takes its
    units, figures, maps and downloads from here, so none can show more."""
    return _scoped(_key(), viewer())


def default_analysis() -> Analysis:
    """The whole county at the current data version under the default policy: what a dated
    snapshot keeps, and what every session that has not changed the policy starts from. The
    import computes it here, through the shared cache, so the pages opened after an import
    find the new figures ready instead of assessing the county again."""
    url = default_url()
    return _default_analysis(url, _store(url).version())


def _default_analysis(url: str, version: int) -> Analysis:
    return _analysis(url, version, DEFAULT_POLICY.joint_cap, float(DEFAULT_POLICY.service_radius_m),
                     DEFAULT_POLICY.as_of_date())


def full_analysis() -> Analysis:
    """The whole county, for checks that must see everything (an edit's scope check). Never
    shown as it is."""
    return _analysis(*_key())


def grid_rates():
    """Coverage rates of every grid the viewer may see (cached with the analysis)."""
    return _grid_rates(_key(), viewer())


@st.cache_resource(max_entries=8)
def _fictional(url: str, version: int) -> bool:
    return _store(url).fictional


def fictional() -> bool:
    """Whether the county shown is the fictional demo (read once per data version, not on
    every rerun of every page)."""
    url = default_url()
    return _fictional(url, _store(url).version())


def policy_panel() -> None:
    """Sidebar expander to change the policy numbers that differ between documents.

    Its inputs are sent only while it is open: a date input and a number input make the
    browser fetch and compile their widget code before it shows the page, which delayed every
    first view of every page (and its map) for a panel most visits never open.
    """
    current = policy()
    with st.sidebar.expander("政策参数", key=POLICY_PANEL_KEY, on_change="rerun") as panel:
        if not panel.open:
            return
        cap = st.radio("联合党支部覆盖单位上限", [3, 5], index=0 if current.joint_cap == 3 else 1, horizontal=True,
                       help="002 (二)二 为3个；001 §8 为“原则上不超过5家”")
        radius = st.number_input("党群服务中心服务半径（米）", min_value=100, max_value=20000,
                                 value=int(current.service_radius_m), step=100)
        as_of = st.date_input("统计日期（换届期限按此计算）", value=current.as_of_date())
    new = {"joint_cap": int(cap), "service_radius_m": float(radius), "as_of": as_of}
    if new != {"joint_cap": current.joint_cap, "service_radius_m": float(current.service_radius_m),
               "as_of": current.as_of_date()}:
        st.session_state[_POLICY_KEY] = new
        st.rerun()
