"""The analysis every page shows, computed once per data version and policy, shared by all
sessions (``st.cache_resource``: treat it as read-only)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from services.analysis import Analysis
from services.rates import coverage_rates
from services.settings import DEFAULT_POLICY, Policy
from services.workspace import county_folder, data_version, is_fictional, load_folder

_POLICY_KEY = "policy_overrides"


@st.cache_resource(show_spinner="正在计算覆盖情况……", max_entries=8)
def _analysis(folder: str, version: str, joint_cap: int, radius_m: float, as_of: dt.date) -> Analysis:
    from pathlib import Path

    policy = DEFAULT_POLICY.with_overrides(joint_cap=joint_cap, service_radius_m=radius_m, as_of=as_of)
    return load_folder(Path(folder), policy)


@st.cache_resource(max_entries=16)
def _grid_rates(folder: str, version: str, joint_cap: int, radius_m: float, as_of: dt.date):
    analysis = _analysis(folder, version, joint_cap, radius_m, as_of)
    return coverage_rates(analysis.units, by="grid_id", groups=analysis.county.grids["id"])


def policy() -> Policy:
    """The policy in force for this session (the sidebar's 政策参数 may change it)."""
    overrides = st.session_state.get(_POLICY_KEY, {})
    return DEFAULT_POLICY.with_overrides(**overrides)


def _key() -> tuple:
    folder = county_folder()
    current = policy()
    return (str(folder), data_version(folder), current.joint_cap, float(current.service_radius_m),
            current.as_of_date())


def analysis() -> Analysis:
    """The current county's analysis (cached by data version and policy)."""
    return _analysis(*_key())


def grid_rates():
    """Coverage rates of every grid of the current analysis (cached with it)."""
    return _grid_rates(*_key())


@st.cache_resource(max_entries=8)
def _fictional(folder: str, version: str) -> bool:
    from pathlib import Path

    return is_fictional(Path(folder))


def fictional() -> bool:
    """Whether the county shown is the fictional demo (read once per data version, not on
    every rerun of every page)."""
    folder = county_folder()
    return _fictional(str(folder), data_version(folder))


def policy_panel() -> None:
    """Sidebar expander to change the policy numbers that differ between documents."""
    current = policy()
    with st.sidebar.expander("政策参数", expanded=False):
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

