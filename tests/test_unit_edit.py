"""A grid leader corrects a unit on the 网格 page (修改单位信息), as a user does it, with AppTest.

Each grid leader signs in with their own account (网格长 of the grid), so the history names
them. Every test here writes, so each opens a store of its own (``COUNTY_STORE`` in
``tmp_path``, seeded from the demo county on first open) and never touches the session's
shared store.
Two *processes* saving one unit at once is the store's concern: tests/test_store.py.
"""

from __future__ import annotations

import pytest

from apptest_support import map_units, metric, signed_in, table_with
from services.ledger import REASONS_NO_ORG
from services.store import open_store

GRID = "QH-01-01"  # a demo grid with blind units
FORM = "unit_edit_choice"


@pytest.fixture
def own_store(tmp_path, monkeypatch) -> str:
    """A store only this test writes to (the dashboard seeds it from the demo on first open)."""
    path = str(tmp_path / "s.gpkg")
    monkeypatch.setenv("COUNTY_STORE", path)
    return path


def field(at, label: str):
    """The form's widget labelled ``label`` (each label is used once on the page)."""
    widgets = [*at.number_input, *at.text_input, *at.selectbox, *at.date_input, *at.multiselect]
    return next(w for w in widgets if w.label == label)


def save(at):
    next(b for b in at.button if b.label == "保存修改").click().run()
    assert not at.exception, [e.message for e in at.exception]


def blind_unit(at) -> dict:
    """A blind enterprise of the grid, as the grid leader finds it in the units table."""
    units = table_with(at, "覆盖状态")
    return units[units["覆盖状态"].eq("空白点") & units["单位类型"].eq("非公企业")].iloc[0].to_dict()


def open_grid(user: str, query: dict | None = None):
    """``user``, the grid leader of GRID, signs in and opens the grid's page (by a link)."""
    return signed_in(user, "grid_leader", grids=(GRID,), page="pages/grid.py", query={"grid": GRID, **(query or {})})


def test_a_grid_leader_records_a_new_party_branch_and_every_figure_follows(own_store):
    at = open_grid("张网格长")
    own_before, blind_before = int(metric(at, "单独组建")), int(metric(at, "空白点"))
    unit = blind_unit(at)
    code, members = unit["统一社会信用代码"], int(unit["正式党员数"])
    version = open_store(own_store).unit(code)["version"]
    assert map_units(at)[code]["k"].startswith("blind")

    at.selectbox(key=FORM).select(code).run()
    assert field(at, "正式党员数").value == members, "the form starts at the stored values"
    field(at, "正式党员数").set_value(members + 3)
    field(at, "党组织名称").input(f"{unit['企业名称']}党支部")
    field(at, "党组织类型").select("党支部")
    field(at, "未建党组织原因").select("")
    save(at)

    message = at.success[0].value
    assert f"正式党员数：{members} → {members + 3}" in message
    assert "党组织类型：（空） → 党支部" in message and "张网格长" in message
    history = table_with(at, "修改人")
    row = history[history["字段"].eq("正式党员数")].iloc[0]
    assert (row["原值"], row["新值"], row["修改人"], row["操作"]) == (str(members), str(members + 3), "张网格长", "修改")

    stored = open_store(own_store).unit(code)
    assert stored["formal_members"] == str(members + 3) and stored["org_type"] == "党支部"
    assert stored["reason_no_org"] is None
    assert stored["version"] == version + 1 and stored["updated_by"] == "张网格长"

    # The unit now has a party branch of its own: the KPI cards and the units table say so.
    assert int(metric(at, "单独组建")) == own_before + 1
    assert int(metric(at, "空白点")) == blind_before - 1
    units = table_with(at, "覆盖状态")
    shown = units[units["统一社会信用代码"].eq(code)].iloc[0]
    assert shown["覆盖状态"] == "单独组建" and shown["正式党员数"] == members + 3
    assert field(at, "正式党员数").value == members + 3, "the form shows the saved unit"
    assert map_units(at)[code]["k"] == "own", "the map is drawn again, not kept from before the edit"


def test_a_recorded_reason_shows_at_once_in_the_units_popup_on_the_map(own_store):
    """A reason changes no figure, only what the unit's popup says: the map the page keeps
    between reruns must still be drawn again."""
    at = open_grid("张网格长")
    code = blind_unit(at)["统一社会信用代码"]
    reason = next(r for r in REASONS_NO_ORG if r != map_units(at)[code]["x"])

    at.selectbox(key=FORM).select(code).run()
    field(at, "未建党组织原因").select(reason)
    save(at)

    assert map_units(at)[code]["x"] == reason


def test_a_negative_count_is_refused_and_nothing_is_saved(own_store):
    at = open_grid("张网格长")
    code = blind_unit(at)["统一社会信用代码"]
    before = open_store(own_store).unit(code)

    at.selectbox(key=FORM).select(code).run()
    field(at, "从业人员数").set_value(-5)
    save(at)

    assert "从业人员数不能为负数" in at.error[0].value
    assert not at.success
    after = open_store(own_store).unit(code)
    assert after == before
    assert list(open_store(own_store).history(code)["action"]) == ["导入新增"]


def test_more_members_than_employees_is_saved_with_a_warning(own_store):
    at = open_grid("张网格长")
    unit = blind_unit(at)
    at.selectbox(key=FORM).select(unit["统一社会信用代码"]).run()
    field(at, "正式党员数").set_value(int(unit["从业人员数"]) + 1)
    field(at, "群团组织").set_value(["工会", "共青团"])
    save(at)

    assert at.success
    assert any("正式党员数超过从业人员数" in w.value for w in at.warning)
    stored = open_store(own_store).unit(unit["统一社会信用代码"])
    assert stored["formal_members"] == str(int(unit["从业人员数"]) + 1)
    assert stored["mass_orgs"] == "工会,共青团"
    units = table_with(at, "覆盖状态").set_index("统一社会信用代码")
    assert units.loc[unit["统一社会信用代码"], "覆盖状态"] == "工作覆盖", "a trade union is work coverage"


def test_two_leaders_editing_one_unit_are_told_not_overwritten(own_store):
    first = open_grid("甲网格长")
    unit = blind_unit(first)
    code, employees = unit["统一社会信用代码"], int(unit["从业人员数"])
    first.selectbox(key=FORM).select(code).run()
    second = open_grid("乙网格长", {"unit": code})  # arrives by a link to the unit
    assert second.selectbox(key=FORM).value == code

    field(first, "从业人员数").set_value(employees + 5)
    save(first)
    assert first.success

    field(second, "从业人员数").set_value(employees + 10)
    save(second)
    assert not second.success
    warning = next(w.value for w in second.warning if "未保存" in w.value)
    assert "甲网格长" in warning and "未保存" in warning
    theirs = table_with(second, "新值")
    assert theirs.iloc[0][["修改人", "字段", "原值", "新值"]].tolist() == [
        "甲网格长", "从业人员数", str(employees), str(employees + 5)]
    assert open_store(own_store).unit(code)["employees"] == str(employees + 5)
    assert field(second, "从业人员数").value == employees + 5, "the form reloaded the latest values"

    # Having seen the other change, the second leader re-applies theirs on the latest version.
    field(second, "从业人员数").set_value(employees + 10)
    save(second)
    assert "乙网格长" in second.success[0].value
    stored = open_store(own_store).unit(code)
    assert (stored["employees"], stored["version"]) == (str(employees + 10), 3)

