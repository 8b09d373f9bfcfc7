"""The 数据管理 page, driven as county staff use it: see where the data lives and what changed
it, download the template, upload a ledger and read its validation report, confirm an import
and see every page change, remove units the ledger no longer lists, check a grid layer and
replace a layer.

A test that writes opens a store of its own (``own_store``), seeded from the demo county on
first open; the others read the session's shared store and must leave it as it was.
"""

from __future__ import annotations

import io
import re

import geopandas as gpd
import openpyxl
import pytest
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

import apptest_support
from apptest_support import map_script, map_units, metric, shows, table_with
from conftest import HEADERS, credit_code, unit, write_ledger
from dashboard.popups import markdown_text
from services import accounts
from services.ledger import LEDGER_COLUMNS, read_ledger
from services.store import open_store

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def open_page() -> AppTest:
    return apptest_support.open_page("pages/data.py")


@pytest.fixture
def own_store(tmp_path, monkeypatch) -> str:
    """A store for this test only (filled from the demo when the app first opens it)."""
    path = str(tmp_path / "s.gpkg")
    monkeypatch.setenv("COUNTY_STORE", path)
    return path


def uploader(at: AppTest, label: str):
    return next(u for u in at.file_uploader if u.label.startswith(label))


def upload_ledger(at: AppTest, name: str, data: bytes) -> AppTest:
    uploader(at, "上传台账").upload(name, data, XLSX).run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def table_of(at: AppTest, *columns: str):
    """The first table on screen with all of ``columns``."""
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


def sheet_rows(data: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True))


def test_the_page_shows_where_the_data_lives_and_what_changed_it():
    at = open_page()
    assert at.title[0].value == "数据管理"
    assert any("虚构示例数据" in info.value for info in at.info)
    store = open_store()
    assert any(markdown_text(store.label) in m.value for m in at.markdown)
    assert metric(at, "数据版本") == str(store.version())
    assert metric(at, "单位数") == f"{len(store.unit_cells()):,}个"
    imports = table_with(at, "类型")
    assert list(imports.columns[:5]) == ["编号", "时间", "操作人", "类型", "文件"]
    first = imports.iloc[-1]
    assert (first["操作人"], first["类型"], first["新增"]) == ("系统", "台账", len(store.unit_cells()))


def test_the_template_downloads_with_the_ledger_headers(downloads):
    at = open_page()
    assert at.get("download_button")[0].proto.label == "下载台账模板（Excel）"
    rows = sheet_rows(downloads["台账模板.xlsx"])
    assert list(rows[0]) == list(LEDGER_COLUMNS)


def test_rejected_rows_are_listed_and_handed_back_for_correction(tmp_path, downloads):
    good = credit_code()
    bad = good[:-1] + ("1" if good[-1] != "1" else "2")  # wrong check character
    path = write_ledger(tmp_path / "三月台账.xlsx", [
        unit(name="甲公司"), unit(name="乙公司", credit_code=bad), unit(name="丙公司", formal_members=-2)])
    version = open_store().version()
    at = upload_ledger(open_page(), path.name, path.read_bytes())

    assert (metric(at, "读取行数"), metric(at, "保留"), metric(at, "拒收")) == ("3", "1", "2")
    rejected = table_with(at, "原因")
    assert list(rejected.columns[:4]) == ["行号", "列", "取值", "原因"]
    assert rejected["行号"].tolist() == [3, 4]
    assert rejected["列"].tolist() == ["统一社会信用代码", "正式党员数"]
    assert "校验" in rejected["原因"].iloc[0]
    assert "负" in rejected["原因"].iloc[1]

    assert any(b.proto.label == "下载被拒收的行（Excel）" for b in at.get("download_button"))
    rows = sheet_rows(downloads["三月台账_被拒收的行.xlsx"])
    header = list(rows[0])
    assert header[0] == "行号" and header[-1] == "错误原因"
    assert [r[0] for r in rows[1:]] == [3, 4]
    assert [r[header.index("企业名称")] for r in rows[1:]] == ["乙公司", "丙公司"]
    assert all(r[-1] for r in rows[1:])
    assert open_store().version() == version, "reading a ledger writes nothing"


def test_a_text_file_named_xlsx_is_refused_with_one_line(tmp_path):
    version = open_store().version()
    at = upload_ledger(open_page(), "台账.xlsx", "单位名称,人数\n甲公司,3\n".encode())
    assert len(at.error) == 1
    message = at.error[0].value
    assert "台账" in message and "不是Excel工作簿" in message and "\n" not in message
    assert not any(s.value == "校验结果" for s in at.subheader)
    assert not any(b.label == "确认导入" for b in at.button)
    assert open_store().version() == version


def test_importing_an_edited_ledger_updates_every_page(own_store, tmp_path, made_on_click):
    # The county's data administrator signs in; the county leader's figure before.
    at = apptest_support.signed_in("组织部管理员", "admin", page="pages/county_map.py")
    before = int(metric(at, "单位总数").replace(",", ""))

    # Export the ledger, raise one unit's formal members, add a unit, upload it again.
    at.switch_page("pages/data.py").run()
    rows = sheet_rows(made_on_click["台账（虚构示例数据）.xlsx"]())
    assert rows[0][0] == "虚构示例数据" and list(rows[1]) == HEADERS
    exported = accounts.audit_log(open_store(own_store)).iloc[0]
    assert (exported["who"], exported["action"], exported["detail"]) == ("组织部管理员", "导出", "台账（虚构示例数据）.xlsx")
    units = [dict(zip(HEADERS, r)) for r in rows[2:]]
    assert metric(at, "单位数") == f"{len(units):,}个"
    edited = units[0]
    old = int(edited["正式党员数"] or 0)
    edited["正式党员数"] = old + 4
    new = unit(name="新设示例科技有限公司", lon=edited["经度"], lat=edited["纬度"], employees=12)
    path = write_ledger(tmp_path / "四月台账.xlsx", [*units, new])
    upload_ledger(at, path.name, path.read_bytes())

    assert metric(at, "新增") == "1" and metric(at, "更新") == "1"
    assert metric(at, "未变") == f"{len(units) - 1:,}" and metric(at, "台账中已无") == "0"
    changes = table_of(at, "企业名称", "字段")
    assert changes.to_dict("records") == [{"企业名称": edited["企业名称"], "统一社会信用代码": edited["统一社会信用代码"],
                                           "字段": "正式党员数", "原值": str(old), "新值": str(old + 4)}]
    assert shows(map_script(at), "新设示例科技有限公司"), "the preview map shows where the new unit lands"

    button(at, "确认导入").click().run()
    assert not at.exception, at.exception
    assert any("新增1个、更新1个" in s.value for s in at.success)
    assert not any(b.label == "确认导入" for b in at.button), "the uploader is emptied after the import"

    history = table_of(at, "操作", "字段")
    change = history[history["字段"] == "正式党员数"].iloc[0]
    assert (change["操作"], change["统一社会信用代码"], change["原值"], change["新值"]) == (
        "导入更新", edited["统一社会信用代码"], str(old), str(old + 4))
    mine = history[history["操作人"] == "组织部管理员"]
    assert sorted(mine["操作"]) == ["导入新增", "导入更新"]
    latest = table_with(at, "类型").iloc[0]
    assert (latest["操作人"], latest["文件"], latest["新增"], latest["更新"]) == ("组织部管理员", "四月台账.xlsx", 1, 1)

    at.switch_page("pages/county_map.py").run()
    assert int(metric(at, "单位总数").replace(",", "")) == before + 1
    on_map = map_units(at)  # the map (drawn ahead by the import) shows the new data too
    assert on_map[new["统一社会信用代码"]]["n"] == "新设示例科技有限公司"
    assert on_map[edited["统一社会信用代码"]]["m"][0] == old + 4
    # The import kept a dated snapshot of the new figures, after the seeded one.
    from services.snapshots import list_snapshots

    snapshots = list_snapshots(open_store(own_store))
    assert len(snapshots) == 2 and snapshots["units"].iloc[-1] == before + 1


def test_an_import_is_refused_when_the_data_changed_after_the_preview(own_store, tmp_path):
    at = open_page()
    path = write_ledger(tmp_path / "台账.xlsx", [unit(name="甲公司")])
    upload_ledger(at, path.name, path.read_bytes())
    assert metric(at, "新增") == "1"

    # Someone else imports while this user is still reading the preview.
    store = open_store(own_store)
    other = write_ledger(tmp_path / "另一台账.csv", [unit(name="乙公司")])
    store.import_ledger(read_ledger(other, keep_cells=True), "其他人", source=other.name)
    version = store.version()

    button(at, "确认导入").click().run()
    assert any("预览之后数据已被他人修改" in w.value for w in at.warning)
    assert store.version() == version, "nothing was imported"
    assert metric(at, "台账中已无") != "0" and any(b.label == "确认导入" for b in at.button), \
        "the plan is computed again against the new data"


def test_units_the_ledger_no_longer_lists_are_removed_only_when_confirmed(own_store, tmp_path):
    at = apptest_support.open_page("pages/county_map.py")
    before = int(metric(at, "单位总数").replace(",", ""))
    at.switch_page("pages/data.py").run()
    store = open_store(own_store)
    cells = store.unit_cells()
    kept = [dict(zip(HEADERS, r)) for r in cells[list(cells.columns[:len(HEADERS)])].itertuples(index=False)]
    dropped = kept.pop(next(i for i, u in enumerate(kept) if u["经营状态"] != "注销"))
    path = write_ledger(tmp_path / "台账.csv", kept)
    upload_ledger(at, path.name, path.read_bytes())
    assert metric(at, "台账中已无") == "1"
    button(at, "确认导入").click().run()
    assert store.absent_units()["credit_code"].tolist() == [dropped["统一社会信用代码"]]
    assert metric(at, "待确认删除") == "1个"

    code = dropped["统一社会信用代码"]
    at.multiselect(key="removal_codes").select(code).run()
    assert button(at, "删除所选的1个单位").disabled, "deleting needs the confirmation ticked"
    at.checkbox(key="removal_confirmed").check().run()
    button(at, "删除所选的1个单位").click().run()
    assert any("已删除1个单位" in s.value for s in at.success)
    assert store.unit(code) is None
    assert store.history(code)["action"].tolist()[0] == "删除"

    at.switch_page("pages/county_map.py").run()
    assert int(metric(at, "单位总数").replace(",", "")) == before - 1


def test_overlapping_grids_are_shown_before_the_layer_is_replaced(tmp_path):
    grids = gpd.GeoDataFrame({"网格编号": ["A-01", "A-02", "A-03"], "网格名称": ["一", "二", "三"]},
                             geometry=[box(0, 0, 0.01, 0.01), box(0.005, 0, 0.015, 0.01), box(0.02, 0, 0.03, 0.01)],
                             crs="EPSG:4326")
    path = tmp_path / "新网格.geojson"
    grids.to_file(path, driver="GeoJSON")

    at = open_page()  # (the first page opened fills the session's store from the demo)
    version = open_store().version()
    at.selectbox(key="layer_kind").set_value("grids").run()
    uploader(at, "上传图层").upload(path.name, path.read_bytes(), "application/geo+json").run()
    assert not at.exception, at.exception

    assert metric(at, "读取的要素") == "3"
    overlaps = table_with(at, "重叠面积（平方米）")
    assert overlaps[["网格", "与网格"]].values.tolist() == [["A-01", "A-02"]]
    assert overlaps["重叠面积（平方米）"].iloc[0] > 500_000
    assert any("1对网格互相重叠" in w.value for w in at.warning)
    towns = open_store().load_county().towns
    assert set(table_with(at, "未被网格覆盖的面积（平方米）")["乡镇街道"]) == set(towns["name"]), \
        "the demo's towns are not covered by these grids at all"
    assert shows(map_script(at), "A-03")
    assert any(b.label == "确认替换图层" for b in at.button)
    assert open_store().version() == version


def test_a_file_over_the_size_limit_is_refused_before_reading(monkeypatch):
    from dashboard import data_admin

    monkeypatch.setattr(data_admin, "MAX_UPLOAD_MB", 0.001)  # 1 KB stands in for 50 MB
    at = upload_ledger(open_page(), "大台账.csv", ("企业名称,统一社会信用代码,从业人员数\n" * 100).encode())
    assert len(at.error) == 1 and "超过0.001 MB的上限" in at.error[0].value
    assert not any(s.value == "校验结果" for s in at.subheader)


def test_replacing_the_centres_layer_shows_on_the_centres_page(own_store, tmp_path):
    centres = gpd.GeoDataFrame({"名称": ["新建党群服务中心", "<b>楼宇服务站</b>"], "级别": ["县级", "楼宇"],
                                "面积": [600, 80]}, geometry=gpd.points_from_xy([102.70, 102.71], [25.00, 25.01]),
                               crs="EPSG:4326")
    path = tmp_path / "党群服务中心.geojson"
    centres.to_file(path, driver="GeoJSON")

    at = open_page()
    at.selectbox(key="layer_kind").set_value("centres").run()
    uploader(at, "上传图层").upload(path.name, path.read_bytes(), "application/geo+json").run()
    assert metric(at, "读取的要素") == "2"
    script = re.sub(r"\\u([0-9a-f]{4})", lambda m: chr(int(m.group(1), 16)), map_script(at))
    assert "&lt;b&gt;楼宇服务站&lt;/b&gt;" in script and "<b>楼宇服务站" not in script, "names are escaped on the map"
    button(at, "确认替换图层").click().run()
    assert any("已用“党群服务中心\\.geojson”替换党群服务中心（2条）" in s.value for s in at.success)
    latest = table_of(at, "类型").iloc[0]
    assert (latest["类型"], latest["文件"]) == ("图层", "党群服务中心.geojson")

    at.switch_page("pages/centres.py").run()
    assert not at.exception, at.exception
    assert metric(at, "党群服务中心") == "2个"
