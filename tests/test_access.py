"""Who sees what, at the services level: the analysis every page is made from, cut to the
viewer; and the accounts behind sign-in. (The pages and the browser are tested in
test_roles.py and test_accounts.py.)"""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pandas as pd
import pytest

from conftest import DEMO, REPO
from services import accounts
from services.access import MASKED_CODE, AccessDenied, Viewer, edit_unit, mask_name, mask_org, scope
from services.rates import totals
from services.store import open_store
from services.workspace import load_store, seed_store

GRID = "QH-01-07"


@pytest.fixture
def county(demo):
    """The whole demo county, as the headless report reads it."""
    return demo


def test_a_grid_leader_gets_their_grid_and_nothing_else(county):
    mine = scope(county, Viewer("网格长甲", "grid_leader", grids=(GRID,)))

    assert set(mine.units["grid_id"]) == {GRID} and len(mine.units) == (county.units["grid_id"] == GRID).sum()
    assert set(mine.ledger.units["credit_code"]) == set(mine.units["credit_code"])
    assert mine.county.grids["id"].tolist() == [GRID] and mine.assessment.grids["id"].tolist() == [GRID]
    assert set(mine.county.towns["name"]) == set(mine.units["town_name"])
    # Orgs and instructors only as far as they serve the grid's units.
    assert set(mine.assessment.orgs["org_key"]) <= set(mine.units["org_key"].dropna()) | set(
        mine.units["covering_org"].dropna())
    assert set(mine.county.instructors["name"]) <= set(mine.units["instructor"].dropna())
    assert mine.ledger.rejected_rows.empty


def test_a_town_account_gets_its_towns(county):
    town = county.units["town_name"].dropna().iloc[0]
    mine = scope(county, Viewer("镇干部", "town", towns=(town,)))

    assert set(mine.units["town_name"]) == {town}
    assert len(mine.units) == (county.units["town_name"] == town).sum()
    assert set(mine.county.grids["town"]) == {town}


def test_the_briefing_role_sees_every_figure_and_no_person(county):
    shown = scope(county, Viewer("演示", "demo"))

    assert totals(shown.units).equals(totals(county.units))
    assert set(shown.units["credit_code"]) == {MASKED_CODE}
    assert shown.units["address"].isna().all()
    real_names = set(county.units["name"])
    assert not real_names & set(shown.units["name"])
    people = set(county.county.instructors["name"]) | set(county.county.grids["leader"].dropna())
    phones = set(county.county.instructors["phone"].dropna()) | set(county.county.grids["leader_phone"].dropna())
    for frame in (shown.units, shown.assessment.grids, shown.assessment.instructors, shown.county.grids,
                  shown.county.instructors, shown.assessment.orgs, shown.ledger.units):
        text = frame.astype(str).to_numpy().ravel().tolist()
        assert not (people | phones) & set(text)
    # Links between units and their orgs still hold under the stand-in names.
    assert set(shown.units["org_key"].dropna()) <= set(shown.assessment.orgs["org_key"])


@pytest.mark.parametrize("name, masked", [
    ("青禾远海酒店管理股份有限公司", "某酒店股份有限公司"),
    ("青禾县启明科技有限公司", "某科技有限公司"),
    ("青禾县养老服务协会", "某养老协会"),
    ("张三", "某单位"),
])
def test_a_masked_name_keeps_only_the_kind_of_unit(name, masked):
    assert mask_name(name) == masked


def test_a_masked_org_name_keeps_only_the_kind_of_org():
    assert mask_org("青禾远海酒店党支部") == "某党支部"
    assert mask_org("兴业路商圈联合党支部") == "某联合党支部"


# --- accounts ----------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    store = open_store(str(tmp_path / "county.gpkg"))
    seed_store(store, DEMO)
    return store


def test_the_first_administrator_is_made_from_the_command_line(store):
    assert not accounts.has_accounts(store)
    made = subprocess.run([sys.executable, "-m", "services", "users", "add", "王主任", "--role", "admin",
                           "--password-stdin", "--db", store.url], input="长期有效的口令2026\n", text=True,
                          capture_output=True, cwd=REPO)

    assert made.returncode == 0, made.stderr
    assert accounts.has_accounts(store)
    assert accounts.sign_in(store, "王主任", "长期有效的口令2026") == Viewer("王主任", "admin")
    short = subprocess.run([sys.executable, "-m", "services", "users", "add", "李四", "--role", "admin",
                            "--password-stdin", "--db", store.url], input="123\n", text=True, capture_output=True,
                           cwd=REPO)
    assert short.returncode == 2 and "密码至少8位" in short.stderr


def test_passwords_are_kept_only_as_salted_hashes(store):
    accounts.add_account(store, "甲", "county", "同一个口令abc")
    accounts.add_account(store, "乙", "county", "同一个口令abc")

    with sqlite3.connect(store.url) as db:
        hashes = [h for (h,) in db.execute("SELECT password_hash FROM accounts")]
    assert all(h.startswith("$argon2id$") for h in hashes) and hashes[0] != hashes[1]
    with open(store.url, "rb") as handle:
        assert "同一个口令abc".encode() not in handle.read()


def test_guessing_a_password_is_slowed_down(store):
    accounts.add_account(store, "网格长甲", "grid_leader", "正确的口令123", grids=(GRID,))
    clock = [1_000_000.0]
    refusals = []
    for _ in range(4):
        with pytest.raises(accounts.SignInError) as refused:
            accounts.sign_in(store, "网格长甲", "猜的口令", clock=lambda: clock[0])
        refusals.append(refused.value.wait_s)
    assert refusals[:2] == [0, 0] and refusals[2] == 30  # the third failure locks for 30 s
    with pytest.raises(accounts.SignInError, match="后再试"):
        accounts.sign_in(store, "网格长甲", "正确的口令123", clock=lambda: clock[0])  # even the right one
    clock[0] += 31
    with pytest.raises(accounts.SignInError):
        accounts.sign_in(store, "网格长甲", "又猜错了", clock=lambda: clock[0])
    clock[0] += 30
    with pytest.raises(accounts.SignInError, match="后再试"):  # the wait doubles: 60 s now
        accounts.sign_in(store, "网格长甲", "正确的口令123", clock=lambda: clock[0])
    clock[0] += 31
    assert accounts.sign_in(store, "网格长甲", "正确的口令123", clock=lambda: clock[0]).grids == (GRID,)

    log = accounts.audit_log(store)
    assert (log["action"] == "登录失败").sum() == 4 and log["action"].iloc[0] == "登录"


def test_an_unknown_name_and_a_wrong_password_get_the_same_answer(store):
    accounts.add_account(store, "甲", "county", "口令口令口令口令1")
    answers = []
    for name in ("甲", "不存在的人"):
        with pytest.raises(accounts.SignInError) as refused:
            accounts.sign_in(store, name, "错的口令")
        answers.append(str(refused.value))
    assert answers[0] == answers[1] == "账号或密码错误"


def test_edits_are_allowed_only_within_the_viewers_grid(store):
    analysis = load_store(store)
    units = analysis.units
    mine = units[units["grid_id"] == GRID].iloc[0]
    other = units[units["grid_id"].notna() & (units["grid_id"] != GRID)].iloc[0]
    version = lambda code: store.unit(code)["version"]  # noqa: E731
    leader = Viewer("网格长甲", "grid_leader", grids=(GRID,))
    other_before = store.unit(other.credit_code)

    result = edit_unit(store, analysis, leader, mine.credit_code, {"activists": 2},
                       expected_version=version(mine.credit_code))
    assert result.changes["activists"][1] == "2"
    assert store.history(mine.credit_code)["who"].iloc[0] == "网格长甲"
    with pytest.raises(AccessDenied, match="所辖范围"):
        edit_unit(store, analysis, leader, other.credit_code, {"activists": 2},
                  expected_version=version(other.credit_code))
    with pytest.raises(AccessDenied, match="只能查看"):
        edit_unit(store, analysis, Viewer("县领导", "county"), mine.credit_code, {"activists": 3},
                  expected_version=version(mine.credit_code))
    assert store.unit(other.credit_code) == other_before


def test_every_write_is_in_the_audit_log(store, tmp_path):
    from conftest import unit, write_ledger
    from services.ledger import read_ledger

    write_ledger(tmp_path / "new.csv", [unit(name="新单位")])
    store.import_ledger(read_ledger(tmp_path / "new.csv", keep_cells=True), "县委组织部", source="new.csv")
    code = store.unit_cells()["credit_code"].iloc[0]
    record = store.unit(code)
    store.edit_unit(code, {"activists": int(record["activists"] or 0) + 1}, expected_version=record["version"],
                    who="网格长甲")

    log = accounts.audit_log(store)
    assert log[["who", "action"]].head(2).values.tolist() == [["网格长甲", "修改单位"], ["县委组织部", "导入台账"]]
    assert "new.csv" in log["detail"].iloc[1] and "入党积极分子数" in log["detail"].iloc[0]
    assert pd.notna(log["at"]).all()


def test_a_disabled_account_is_no_longer_a_viewer(store):
    accounts.add_account(store, "网格长乙", "grid_leader", "口令口令口令口令2", grids=(GRID,))
    assert accounts.current_viewer(store, "网格长乙") == Viewer("网格长乙", "grid_leader", grids=(GRID,))

    accounts.set_disabled(store, "网格长乙", True, who="管理员")

    assert accounts.current_viewer(store, "网格长乙") is None
    assert accounts.current_viewer(store, "没有这个人") is None
