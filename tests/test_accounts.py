"""Accounts and sign-in, driven as people use them with Streamlit's AppTest: the first start
without accounts, the first administrator made on the command line or on the 账号管理 page,
signing in, wrong passwords, an idle session, what each role may open and change, and the
audit log of it all.

Every test creates accounts, so each opens a store of its own (``COUNTY_STORE`` in
``tmp_path``, seeded from the demo county on first open).
"""

from __future__ import annotations

import io
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from apptest_support import (APP, PASSWORD, add_account, navigation, screen_text, sign_in, signed_in,
                             table_with)
from conftest import REPO
from services import access, accounts
from services.store import open_store
from services.workspace import load_store

GRID = "QH-01-01"  # a demo grid
OTHER_GRID = "QH-03-02"  # a demo grid in another town
PAGE_FILES = {"全县一张图": "pages/county_map.py", "网格": "pages/grid.py", "园区与楼宇": "pages/places.py",
              "联合党支部": "pages/joint_orgs.py", "空白点": "pages/blind_spots.py",
              "党群服务中心": "pages/centres.py", "汇报演示": "pages/briefing.py", "数据管理": "pages/data.py",
              "账号管理": "pages/accounts.py"}
NO_ACCOUNT_BANNER = "尚未创建任何账号"


@pytest.fixture
def own_store(tmp_path, monkeypatch) -> str:
    """A store only this test writes to (the dashboard seeds it from the demo on first open)."""
    path = str(tmp_path / "s.gpkg")
    monkeypatch.setenv("COUNTY_STORE", path)
    return path


def new_session() -> AppTest:
    """Someone opens the app in a new browser tab."""
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def on_sign_in_page(at: AppTest) -> bool:
    return navigation(at) == ["登录"] and [s.value for s in at.subheader] == ["登录"]


def log_of(store: str):
    return accounts.audit_log(open_store(store))


# --- (a) the first start ---------------------------------------------------------------------


def test_with_no_account_every_page_opens_without_sign_in_and_says_so(own_store):
    at = new_session()
    assert navigation(at) == list(PAGE_FILES), "every page, 数据管理 and 账号管理 included"
    for title, page in PAGE_FILES.items():
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        if title == "汇报演示":  # the projector view: a headline, no page title, no banner on the screen
            continue
        assert at.title[0].value == title
        assert any(NO_ACCOUNT_BANNER in w.value for w in at.warning), page
    assert accounts.accounts(open_store(own_store)).empty


def test_the_first_administrator_made_on_the_accounts_page_turns_sign_in_on(own_store):
    at = new_session().switch_page("pages/accounts.py").run()
    assert any("请先创建一个管理员账号" in w.value for w in at.warning)
    role = at.selectbox(key="account_role")
    assert (role.value, role.disabled) == ("admin", True), "the first account must be an administrator"

    at.text_input(key="account_name").input("管理员甲")
    at.text_input(key="account_password").input(PASSWORD)
    at.text_input(key="account_password_repeat").input(PASSWORD)
    button(at, "创建账号").click().run()
    assert not at.exception, at.exception

    assert on_sign_in_page(at), "the open session ends with the first account"
    assert any("已创建管理员账号“管理员甲”" in i.value and "请用该账号登录" in i.value for i in at.info)
    created = accounts.accounts(open_store(own_store))
    assert created[["name", "role", "created_by"]].values.tolist() == [["管理员甲", "admin", "（尚无账号）"]]

    # The administrator signs in (a new tab) and has every page again.
    at = sign_in(new_session(), "管理员甲")
    assert at.title[0].value == "全县一张图"
    assert navigation(at) == list(PAGE_FILES)
    assert not any(NO_ACCOUNT_BANNER in w.value for w in at.warning)


# --- (b) the first administrator made on the command line -----------------------------------


def test_after_the_first_account_a_new_session_sees_only_the_sign_in_page(own_store):
    new_session()  # the first start seeds the store from the demo county
    store = open_store(own_store)
    secret_names = set(store.unit_cells()["name"]) | set(store.load_county().grids["name"])
    made = subprocess.run(
        [sys.executable, "-m", "services", "users", "add", "管理员甲", "--role", "admin", "--password-stdin",
         "--db", own_store], input=f"{PASSWORD}\n", capture_output=True, text=True, cwd=REPO)
    assert made.returncode == 0, made.stderr
    assert "已创建账号“管理员甲”（管理员）" in made.stdout and PASSWORD not in made.stdout + made.stderr

    at = new_session()
    assert on_sign_in_page(at)
    assert [t.value for t in at.title] == ["网格党建覆盖一张图"]
    text = screen_text(at)
    assert not [title for title in PAGE_FILES if title != "网格" and title in text], "no other page is named"
    assert not [name for name in secret_names if name in text], "no unit or grid of the county is shown"
    assert not at.dataframe and not at.metric

    # A link to a grid leads to the same sign-in page.
    at.query_params["grid"] = GRID
    at.run()
    assert on_sign_in_page(at) and not [name for name in secret_names if name in screen_text(at)]

    sign_in(at, "管理员甲")
    assert at.title[0].value == "全县一张图"
    assert any(m.label == "单位总数" for m in at.metric)
    assert "管理员甲" in at.sidebar.markdown[0].value
    entry = log_of(own_store).iloc[0]
    assert (entry["who"], entry["action"], entry["detail"]) == ("管理员甲", "登录", "管理员")


# --- (c) wrong passwords ---------------------------------------------------------------------


def test_wrong_passwords_are_throttled_and_logged(own_store):
    add_account("管理员甲", "admin")
    at = new_session()
    sign_in(at, "管理员甲", "wrong-password-1")
    assert at.error[0].value == "账号或密码错误"
    sign_in(at, "管理员甲", "wrong-password-2")
    assert at.error[0].value == "账号或密码错误"
    sign_in(at, "管理员甲", "wrong-password-3")
    assert re.search(r"错误次数过多，请\d+秒后再试", at.error[0].value), at.error[0].value

    sign_in(at, "管理员甲", PASSWORD)
    assert re.search(r"请\d+秒后再试", at.error[0].value), "even the right password waits"
    assert on_sign_in_page(at) and "viewer" not in at.session_state

    log = log_of(own_store)
    attempts = log[log["who"].eq("管理员甲")].iloc[::-1]  # oldest first
    assert attempts["action"].tolist()[-4:] == ["登录失败", "登录失败", "登录失败", "登录被拒"]
    assert [d for d in attempts["detail"].tolist()[-4:-1]] == ["密码错误（第1次）", "密码错误（第2次）", "密码错误（第3次）"]
    assert not (log["action"] == "登录").any()

    # Another administrator sees the account locked on 账号管理.
    other = signed_in("管理员乙", page="pages/accounts.py")
    assert table_with(other, "账号").set_index("账号").loc["管理员甲", "状态"] == "锁定中"


# --- (d) an idle session -----------------------------------------------------------------------


def test_an_idle_session_is_sent_back_to_sign_in(own_store):
    at = signed_in("管理员甲", page="pages/grid.py")
    assert at.title[0].value == "网格"
    at.session_state["last_seen"] = time.time() - 3600  # an hour without a click
    at.run()

    assert on_sign_in_page(at)
    assert any("长时间未操作" in i.value for i in at.info)
    entry = log_of(own_store).iloc[0]
    assert (entry["who"], entry["action"]) == ("管理员甲", "会话超时")


# --- (e) what each role may open and change ----------------------------------------------------


def test_a_county_account_reads_everything_and_changes_nothing(own_store):
    at = signed_in("县领导", "county", page="pages/grid.py", query={"grid": GRID})
    assert navigation(at) == [t for t in PAGE_FILES if t not in ("数据管理", "账号管理")]
    assert at.title[0].value == "网格"
    assert not any(s.value == "修改单位信息" for s in at.subheader)
    assert not [s for s in at.selectbox if s.key == "unit_edit_choice"]
    assert any("县级账号，只能查看" in c.value for c in at.caption)

    # Nor can the services be talked into it: the role itself is refused.
    store = open_store(own_store)
    analysis = load_store(store)
    code = analysis.units[analysis.units["grid_id"].eq(GRID)]["credit_code"].iloc[0]
    viewer = at.session_state["viewer"]
    with pytest.raises(access.AccessDenied, match="只能查看"):
        access.edit_unit(store, analysis, viewer, code, {"employees": "99"},
                         expected_version=store.unit(code)["version"])


def test_a_grid_leader_edits_units_of_their_grid_only(own_store):
    at = signed_in("张网格长", "grid_leader", grids=(GRID,), page="pages/grid.py")
    assert navigation(at) == [t for t in PAGE_FILES if t not in ("数据管理", "账号管理")]
    choices = at.selectbox(key="grid_choice").options
    assert len(choices) == 1 and GRID in choices[0], "their grid is the only one to choose"

    units = table_with(at, "覆盖状态")
    code, employees = units["统一社会信用代码"].iloc[0], units["从业人员数"].iloc[0]
    at.selectbox(key="unit_edit_choice").select(code).run()
    next(w for w in at.number_input if w.label == "从业人员数").set_value(int(employees) + 7)
    button(at, "保存修改").click().run()
    assert "修改人：张网格长" in at.success[0].value
    store = open_store(own_store)
    assert (store.unit(code)["employees"], store.unit(code)["updated_by"]) == (str(int(employees) + 7), "张网格长")

    # A unit of another grid cannot be reached, not even by its code typed into the services.
    analysis = load_store(store)
    other = analysis.units[analysis.units["grid_id"].eq(OTHER_GRID)]["credit_code"].iloc[0]
    before = store.unit(other)
    with pytest.raises(access.AccessDenied, match="所辖范围"):
        access.edit_unit(store, analysis, at.session_state["viewer"], other, {"employees": "1"},
                         expected_version=before["version"])
    assert store.unit(other) == before


# --- (f) the 账号管理 page ---------------------------------------------------------------------


def test_the_administrator_creates_and_disables_a_grid_leader(own_store, downloads):
    at = signed_in("管理员甲", page="pages/accounts.py")
    assert table_with(at, "账号")[["账号", "角色", "所辖范围", "状态"]].values.tolist() == [
        ["管理员甲", "管理员", "全县", "正常"]]

    at.selectbox(key="account_role").select("grid_leader").run()
    grids = at.multiselect(key="account_grids")
    assert any(GRID in label for label in grids.options), "grids are offered by name and id"
    at.text_input(key="account_name").input("李网格长")
    grids.select(GRID)
    at.text_input(key="account_password").input("short")
    at.text_input(key="account_password_repeat").input("short")
    button(at, "创建账号").click().run()
    assert any("密码至少8位" in e.value for e in at.error), "the services' reason is shown"

    at.text_input(key="account_password").input("li-wangge-2024")
    at.text_input(key="account_password_repeat").input("li-wangge-2024")
    button(at, "创建账号").click().run()
    assert any("已创建账号“李网格长”（网格长）" in s.value for s in at.success)
    listed = table_with(at, "账号").set_index("账号")
    assert listed.loc["李网格长", "角色"] == "网格长" and GRID in listed.loc["李网格长", "所辖范围"]
    assert listed.loc["李网格长", "状态"] == "正常"
    assert "$argon2" not in screen_text(at) and not any("hash" in c for c in listed.columns)

    at.selectbox(key="account_pick").select("李网格长").run()
    button(at, "停用账号").click().run()
    assert any("已停用账号“李网格长”" in s.value for s in at.success)
    assert table_with(at, "账号").set_index("账号").loc["李网格长", "状态"] == "已停用"

    refused = sign_in(new_session(), "李网格长", "li-wangge-2024")
    assert "已停用" in refused.error[0].value and on_sign_in_page(refused)

    at.multiselect(key="audit_who").select("管理员甲")
    at.multiselect(key="audit_actions").select("创建账号").select("停用账号").run()
    log = table_with(at, "详情")
    assert log[["操作人", "操作", "详情"]].values.tolist() == [
        ["管理员甲", "停用账号", "李网格长"], ["管理员甲", "创建账号", "李网格长（网格长）"]]
    rows = list(openpyxl.load_workbook(io.BytesIO(downloads["审计日志.xlsx"])).worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == ["时间", "操作人", "操作", "详情"]
    assert [r[1:] for r in rows[1:]] == [("管理员甲", "停用账号", "李网格长"),
                                         ("管理员甲", "创建账号", "李网格长（网格长）")]
    entry = log_of(own_store).iloc[0]
    assert (entry["who"], entry["action"], entry["detail"]) == ("管理员甲", "导出", "审计日志.xlsx")


def test_a_password_is_reset_and_an_account_deleted_but_never_your_own(own_store):
    add_account("王县领导", "county")
    at = signed_in("管理员甲", page="pages/accounts.py")
    at.selectbox(key="account_pick").select("管理员甲").run()
    assert button(at, "停用账号").disabled and button(at, "删除账号").disabled, "no locking yourself out"

    at.selectbox(key="account_pick").select("王县领导").run()
    at.text_input(key="account_reset_password").input("new-password-2024")
    at.text_input(key="account_reset_password_repeat").input("new-password-2024")
    button(at, "重设密码").click().run()
    assert any("已重设“王县领导”的密码" in s.value for s in at.success)
    assert sign_in(new_session(), "王县领导", "new-password-2024").title[0].value == "全县一张图"

    assert button(at, "删除账号").disabled, "deleting needs the confirmation ticked"
    at.checkbox(key="account_delete_confirmed").check().run()
    button(at, "删除账号").click().run()
    assert any("已删除账号“王县领导”" in s.value for s in at.success)
    assert table_with(at, "账号")["账号"].tolist() == ["管理员甲"]
    assert "账号或密码错误" in sign_in(new_session(), "王县领导", "new-password-2024").error[0].value
    actions = log_of(own_store).query("who == '管理员甲'")["action"].tolist()
    assert {"重设密码", "删除账号"} <= set(actions)


def test_a_data_export_is_recorded_with_who_took_which_file(own_store, downloads):
    at = signed_in("县领导", "county", page="pages/blind_spots.py")
    file_name = next(name for name in downloads.makers if str(name).startswith("空白点清单_") and name.endswith(".xlsx"))
    assert downloads[file_name][:2] == b"PK"
    entry = log_of(own_store).iloc[0]
    assert (entry["who"], entry["action"], entry["detail"]) == ("县领导", "导出", file_name)


# --- (g) passwords at rest ------------------------------------------------------------------------


def test_passwords_are_stored_only_as_argon2_hashes(own_store):
    at = signed_in("管理员甲", page="pages/accounts.py")
    at.selectbox(key="account_role").select("town").run()
    town = at.multiselect(key="account_towns").options[0]
    at.text_input(key="account_name").input("乡镇干部")
    at.multiselect(key="account_towns").select(town)
    at.text_input(key="account_password").input("town-secret-7391")
    at.text_input(key="account_password_repeat").input("town-secret-7391")
    button(at, "创建账号").click().run()
    assert any("已创建账号“乡镇干部”（乡镇街道）" in s.value for s in at.success)

    with sqlite3.connect(own_store) as db:
        rows = db.execute("SELECT name, password_hash FROM accounts ORDER BY fid").fetchall()
    assert [name for name, _ in rows] == ["管理员甲", "乡镇干部"]
    assert all(hashed.startswith("$argon2id$") for _, hashed in rows)
    files = [path for path in Path(own_store).parent.iterdir() if path.name.startswith(Path(own_store).name)]
    for password in (PASSWORD, "town-secret-7391"):
        for path in files:  # the GeoPackage and any journal beside it
            assert password.encode() not in path.read_bytes(), path.name


def test_a_session_of_a_disabled_account_ends_at_its_next_click(own_store):
    at = signed_in("周网格长", "grid_leader", grids=(GRID,))
    accounts.set_disabled(open_store(), "周网格长", True, who="管理员")

    at.run()

    assert on_sign_in_page(at)
    assert any("已停用或删除" in info.value for info in at.info)


def test_a_grid_leader_whose_grid_no_longer_exists_is_told_so(own_store):
    at = signed_in("吴网格长", "grid_leader", grids=("已撤销的网格",), page="pages/grid.py")

    assert not at.exception
    assert any("没有可查看的网格" in info.value for info in at.info)
    for title in ("全县一张图", "园区与楼宇", "联合党支部", "空白点", "党群服务中心"):
        at.switch_page(PAGE_FILES[title]).run()
        assert not at.exception, (title, at.exception)
