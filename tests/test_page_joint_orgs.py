"""The 联合党支部 page, driven as a user does: read the counts, keep only the orgs that stand
out, open one, look at its links on the map and download its members. Figures are compared
with the services and the rule counts on the demo county."""

from __future__ import annotations

import io

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

import apptest_support
from apptest_support import map_script, metric, shows
from conftest import REPO
from services import orgs

APP = str(REPO / "streamlit_app.py")


@pytest.fixture(scope="module")
def shared(demo):
    return orgs.shared_orgs(demo.assessment.orgs, demo.units, demo.assessment.policy)


def open_page() -> AppTest:
    return apptest_support.open_page("pages/joint_orgs.py")


def org_list(at: AppTest):
    return next(d.value for d in at.dataframe if "整改建议" in d.value.columns)


def members_table(at: AppTest):
    return next(d.value for d in at.dataframe if "应单独组建" in d.value.columns)


def test_the_page_lists_every_shared_org_with_the_rule_counts(demo, shared):
    at = open_page()
    assert at.title[0].value == "联合党支部"
    flags = demo.assessment.flag_counts()
    assert metric(at, "超过联合组建上限") == f"{flags['joint_over_cap']}个"
    table = org_list(at)
    assert len(table) == len(shared)
    assert set(table["类型"]) <= set(orgs.ORG_KINDS)
    orgs_frame = demo.assessment.orgs
    for kind in ("联合党支部", "网格党支部", "区域性党组织"):
        assert metric(at, kind) == f"{int(orgs_frame['org_type'].eq(kind).sum())}个"
        assert int(table["类型"].eq(kind).sum()) == int(orgs_frame["org_type"].eq(kind).sum())
    # over-cap orgs say so in 状态 and come first
    over = table["状态"].str.contains("超限")
    assert int(over.sum()) == flags["joint_over_cap"]
    assert over.iloc[:flags["joint_over_cap"]].all()


def test_only_over_cap_or_should_form_own(demo, shared):
    at = open_page()
    at.checkbox(key="joint_stands_out").check().run()
    table = org_list(at)
    over_cap = set(shared.loc[shared["flag_joint_over_cap"], "name"])
    with_should = set(shared.loc[shared["should_form_own"] > 0, "name"])
    assert set(table["党组织名称"]) == over_cap | with_should
    assert int(table["状态"].str.contains("超限").sum()) == demo.assessment.flag_counts()["joint_over_cap"]
    # the units that should form their own org, among the listed orgs' members
    should = demo.units[demo.units["flag_should_form_own"] & demo.units["covering_org"].isin(shared["org_key"])]
    assert table["应单独组建单位"].sum() == len(should)


def test_filter_by_type_and_name(shared):
    at = open_page()
    at.multiselect(key="joint_kinds").set_value(["网格党支部"]).run()
    table = org_list(at)
    assert set(table["类型"]) == {"网格党支部"} and len(table) == int(shared["kind"].eq("网格党支部").sum())
    at.text_input(key="joint_query").input("第1网格").run()
    assert all("第1网格" in n for n in org_list(at)["党组织名称"])


def test_choosing_an_org_shows_its_members_links_and_download(demo, shared, downloads):
    at = open_page()
    first = shared.iloc[0]  # over cap, listed first and chosen by default
    assert at.selectbox(key="joint_org").value == first["org_key"]
    members = demo.units[demo.units["covering_org"] == first["org_key"]]
    table = members_table(at)
    assert len(table) == first["units"] == len(members)
    assert set(table["企业名称"]) == set(members["name"])
    assert list(table.loc[table["应单独组建"] == "是", "企业名称"]) == \
        list(members.loc[members["flag_should_form_own"], "name"])
    assert any("超过" in w.value for w in at.warning)

    script = map_script(at)
    assert shows(script, "联合党支部连线") and all(shows(script, n) for n in members["name"])
    assert shows(script, first["name"])  # the links' tooltip names the org

    other = shared[~shared["stands_out"] & shared["units"].ge(2)].iloc[0]
    at.selectbox(key="joint_org").set_value(other["org_key"]).run()
    other_members = demo.units[demo.units["covering_org"] == other["org_key"]]
    assert set(members_table(at)["企业名称"]) == set(other_members["name"])
    other_script = map_script(at)
    assert not shows(other_script, members["name"].iloc[0])
    assert shows(other_script, other_members["name"].iloc[0])

    book = openpyxl.load_workbook(io.BytesIO(downloads(at.download_button(key="joint_members_download"))))
    rows = list(book["成员单位"].iter_rows(values_only=True))
    assert rows[0][0] == "虚构示例数据" and rows[1][:3] == ("台账行号", "企业名称", "应单独组建")
    assert {r[1] for r in rows[2:]} == set(other_members["name"])


def test_show_all_shared_orgs_on_the_map(demo, shared):
    at = open_page()
    at.checkbox(key="joint_show_all").check().run()
    script = map_script(at)
    second = shared.iloc[1]
    assert shows(script, second["name"])  # another org's links are drawn too


def test_the_org_list_download_has_every_listed_org(shared, downloads):
    at = open_page()
    book = openpyxl.load_workbook(io.BytesIO(downloads(at.download_button(key="joint_list_download"))))
    rows = list(book["共建党组织"].iter_rows(values_only=True))
    assert rows[1][:3] == ("党组织名称", "类型", "状态")
    assert [r[0] for r in rows[2:]] == list(shared["name"])
