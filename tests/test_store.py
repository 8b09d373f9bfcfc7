"""The store, as staff use it: load a county, re-import ledgers, correct units, export — the
same tests against the embedded GeoPackage file and a real PostGIS server.

Each test gets an empty store of each kind (``store_url``); ``demo_store`` is one filled with
the demo county, as the dashboard's first start fills it.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import geopandas.testing
import openpyxl
import pandas as pd
import pyogrio
import pytest

from conftest import DEMO, REPO, unit, write_ledger
from services.ledger import read_ledger
from services.store import ConflictError, EditRejected, open_store
from services.store.export import FORMATS, export_store
from services.workspace import county_layers, read_folder, seed_store

LAYER_KINDS = ("towns", "grids", "parks", "buildings", "markets", "centres")



def cli(*args: str, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    """``python -m services …`` as a user types it, from the project folder."""
    result = subprocess.run([sys.executable, "-m", "services", *args], cwd=REPO, capture_output=True, text=True,
                            timeout=600)
    if check_rc is not None:
        assert result.returncode == check_rc, result.stdout + result.stderr
    return result


def snapshot(store) -> tuple:
    """Everything a user could see of the store: version, units as stored, history, imports."""
    return (store.version(), store.unit_cells().to_dict("records"), store.history().to_dict("records"),
            store.imports().to_dict("records"))


# --- a county in, the same county out ------------------------------------------------------


def test_a_county_read_from_the_store_is_the_county_of_its_files(demo_store):
    ledger, county = read_folder(DEMO)
    stored_ledger, stored_county = demo_store.load_ledger(), demo_store.load_county()

    pd.testing.assert_frame_equal(stored_ledger.units.drop(columns="row"), ledger.units.drop(columns="row"),
                                  check_dtype=False)
    assert [(p.column, p.reason) for p in stored_ledger.flagged] == [(p.column, p.reason) for p in ledger.flagged]
    for kind in LAYER_KINDS:
        geopandas.testing.assert_geodataframe_equal(getattr(stored_county, kind), getattr(county, kind))
    pd.testing.assert_frame_equal(stored_county.instructors, county.instructors)
    assert stored_county.name == county.name == "青禾县"
    assert demo_store.fictional


def test_the_embedded_store_opens_in_gis_software_as_layers(tmp_path):
    store = open_store(str(tmp_path / "county.gpkg"))
    seed_store(store, DEMO)
    layers = dict(pyogrio.list_layers(tmp_path / "county.gpkg"))

    assert {"units", *LAYER_KINDS} <= set(layers)
    assert layers["units"] == "Point"
    grids = gpd.read_file(tmp_path / "county.gpkg", layer="grids")
    assert len(grids) == 60 and grids.crs.to_epsg() == 4326
    units = gpd.read_file(tmp_path / "county.gpkg", layer="units")
    assert len(units) == 2000 and units.geometry.notna().sum() > 1000


@pytest.mark.parametrize("fmt", FORMATS)
def test_import_export_import_changes_nothing(demo_store, tmp_path, fmt):
    before = demo_store.load_county()
    export_store(demo_store, tmp_path / "out", fmt)

    ledger, county = read_folder(tmp_path / "out", keep_cells=True)
    result = demo_store.import_ledger(ledger, "测试员", layers=county_layers(county))

    assert (result.added, result.changed, result.unchanged, result.absent) == (0, 0, 2000, 0)
    after = demo_store.load_county()
    for kind in LAYER_KINDS:
        geopandas.testing.assert_geodataframe_equal(getattr(after, kind), getattr(before, kind), check_less_precise=True)
    pd.testing.assert_frame_equal(after.instructors, before.instructors)


# --- re-import -------------------------------------------------------------------------


def test_a_reimported_ledger_updates_by_credit_code_and_keeps_what_it_no_longer_lists(demo_store, tmp_path):
    stored = demo_store.unit_cells()
    first, second, dropped = stored.iloc[0], stored.iloc[1], stored.iloc[2]
    book = openpyxl.load_workbook(DEMO / "ledger.xlsx")
    sheet = book.active
    codes = [sheet.cell(row=r, column=2).value for r in range(1, sheet.max_row + 1)]
    sheet.cell(row=codes.index(first.credit_code) + 1, column=17).value = 7  # 正式党员数
    sheet.cell(row=codes.index(second.credit_code) + 1, column=25).value = "新指导员"  # 党建指导员
    sheet.delete_rows(codes.index(dropped.credit_code) + 1)
    new_unit = unit(name="新登记科技有限公司", employees=12)
    sheet.append([new_unit.get(h) for h in [c.value for c in sheet[1]]])
    book.save(tmp_path / "台账.xlsx")
    ledger = read_ledger(tmp_path / "台账.xlsx", keep_cells=True)

    plan = demo_store.plan_import(ledger)
    assert (len(plan.added), len(plan.changed), plan.unchanged, len(plan.absent)) == (1, 2, 1997, 1)
    result = demo_store.import_ledger(ledger, "县委组织部", source="台账.xlsx")

    assert (result.added, result.changed, result.unchanged, result.absent) == (1, 2, 1997, 1)
    assert demo_store.unit(first.credit_code)["formal_members"] == "7"
    assert demo_store.unit(first.credit_code)["version"] == first.version + 1
    history = demo_store.history(first.credit_code)
    change = history[history["action"] == "导入更新"].iloc[0]
    assert (change["field"], change["old"], change["new"], change["who"]) == (
        "formal_members", first.formal_members, "7", "县委组织部")
    # The unit the ledger no longer lists is kept, counted, and listed for confirmation.
    assert demo_store.absent_units()["credit_code"].tolist() == [dropped.credit_code]
    assert len(demo_store.load_ledger().units) == 2001
    assert demo_store.confirm_removals([dropped.credit_code, first.credit_code], "县委组织部") == 1
    assert demo_store.unit(dropped.credit_code) is None and demo_store.unit(first.credit_code) is not None
    assert demo_store.history(dropped.credit_code)["action"].iloc[0] == "删除"
    imports = demo_store.imports()
    assert imports.iloc[0][["who", "source", "added", "changed", "absent"]].tolist() == [
        "县委组织部", "台账.xlsx", 1, 2, 1]


def test_a_unit_listed_again_is_no_longer_waiting_for_removal(demo_store, tmp_path):
    stored = demo_store.unit_cells()
    rows = [unit(name=n, credit_code=c, employees=e) for n, c, e in
            zip(stored["name"][:3], stored["credit_code"][:3], stored["employees"][:3])]
    write_ledger(tmp_path / "a.csv", rows[:2])
    demo_store.import_ledger(read_ledger(tmp_path / "a.csv", keep_cells=True), "甲")
    assert stored["credit_code"].iloc[2] in set(demo_store.absent_units()["credit_code"])

    write_ledger(tmp_path / "b.csv", rows)
    demo_store.import_ledger(read_ledger(tmp_path / "b.csv", keep_cells=True), "甲")
    assert stored["credit_code"].iloc[2] not in set(demo_store.absent_units()["credit_code"])


# --- edits ---------------------------------------------------------------------------


def test_an_edit_is_checked_recorded_and_a_stale_one_refused(demo_store):
    record = demo_store.unit_cells().iloc[0]
    version = record.version

    result = demo_store.edit_unit(record.credit_code, {"formal_members": 5, "instructor": "王老师"},
                                  expected_version=version, who="网格长甲")
    assert result.version == version + 1
    assert result.changes["formal_members"] == (record.formal_members, "5")
    with pytest.raises(EditRejected, match="不能为负数"):
        demo_store.edit_unit(record.credit_code, {"activists": -1}, expected_version=version + 1, who="网格长甲")
    with pytest.raises(ConflictError, match="网格长甲") as conflict:
        demo_store.edit_unit(record.credit_code, {"formal_members": 9}, expected_version=version, who="网格长乙")

    assert set(conflict.value.changes["field"]) == {"正式党员数", "党建指导员"}
    now = demo_store.unit(record.credit_code)
    assert (now["formal_members"], now["instructor"], now["version"]) == ("5", "王老师", version + 1)
    history = demo_store.history(record.credit_code)
    edits = history[history["action"] == "修改"]
    assert set(zip(edits["field"], edits["new"], edits["who"])) == {
        ("formal_members", "5", "网格长甲"), ("instructor", "王老师", "网格长甲")}
    assert len(demo_store.load_ledger().units) == 2000


_EDIT_SCRIPT = """
import sys
from services.store import ConflictError, open_store
store = open_store(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()  # both processes hold the same version until told to go
try:
    store.edit_unit(sys.argv[2], {"formal_members": sys.argv[3]}, expected_version=int(sys.argv[4]), who=sys.argv[5])
    print("saved", flush=True)
except ConflictError as error:
    print("conflict", error, flush=True)
"""


def test_two_people_editing_one_unit_at_once_never_overwrite_each_other(demo_store):
    record = demo_store.unit_cells().iloc[5]
    editors = [subprocess.Popen([sys.executable, "-c", _EDIT_SCRIPT, demo_store.url, record.credit_code, value,
                                 str(record.version), who], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True) for value, who in (("11", "甲"), ("22", "乙"))]
    for editor in editors:
        assert editor.stdout.readline().strip() == "ready"
    for editor in editors:
        editor.stdin.write("go\n")
        editor.stdin.flush()
    outcomes = [editor.communicate(timeout=120)[0].strip() for editor in editors]

    assert sorted(o.split()[0] for o in outcomes) == ["conflict", "saved"]
    winner = "11" if outcomes[0] == "saved" else "22"
    assert demo_store.unit(record.credit_code)["formal_members"] == winner
    assert demo_store.unit(record.credit_code)["version"] == record.version + 1


# --- nothing lost ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_ledger(tmp_path_factory) -> Path:
    """A 20 MB ledger: the demo's units copied with fresh credit codes (a city district's size)."""
    from services.credit_code import make_code

    demo = pd.read_excel(DEMO / "ledger.xlsx", engine="calamine", dtype=object)
    copies = pd.concat([demo] * 40, ignore_index=True)
    copies["统一社会信用代码"] = [make_code(f"91530100{i:09d}") for i in range(len(copies))]
    copies["企业名称"] = copies["企业名称"] + pd.Series(range(len(copies))).astype(str)
    path = tmp_path_factory.mktemp("big") / "big.csv"
    copies.to_csv(path, index=False, encoding="utf-8-sig")
    assert path.stat().st_size >= 20 * 1024 * 1024
    return path


def test_a_20_mb_ledger_imports_from_the_command_line(demo_store, big_ledger):
    result = cli("import", "--ledger", str(big_ledger), "--db", demo_store.url, "--who", "测试员")

    assert "新增 80000" in result.stdout and "拒收 0" in result.stdout
    assert len(demo_store.load_ledger().units) == 2000 + 80000


def test_a_killed_import_leaves_the_store_exactly_as_it_was(demo_store, big_ledger):
    before = snapshot(demo_store)
    importer = subprocess.Popen([sys.executable, "-m", "services", "import", "--ledger", str(big_ledger),
                                 "--db", demo_store.url], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    for line in importer.stderr:  # wait until it is writing units, then kill it mid-transaction
        if line.startswith("已写入"):
            importer.send_signal(signal.SIGKILL)
            break
    importer.wait(timeout=60)

    assert importer.returncode == -signal.SIGKILL
    assert "导入完成" not in importer.stdout.read()
    assert snapshot(open_store(demo_store.url)) == before


def test_an_import_that_fails_midway_changes_nothing(demo_store, tmp_path, monkeypatch):
    before = snapshot(demo_store)
    write_ledger(tmp_path / "new.csv", [unit(name=f"新单位{i}") for i in range(10)])
    ledger = read_ledger(tmp_path / "new.csv", keep_cells=True)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(demo_store), "_set_meta", broken)  # fails after the units are written
    with pytest.raises(OSError):
        demo_store.import_ledger(ledger, "测试员", layers=county_layers(demo_store.load_county()))
    monkeypatch.undo()
    assert snapshot(demo_store) == before


# --- bad input from the command line ----------------------------------------------------


def test_rejected_rows_are_listed_and_the_rest_imported(store_url, tmp_path):
    rows = [unit(name="好单位"), unit(name="坏代码", credit_code="91530100MA0000000X"),
            unit(name="负数单位", formal_members=-2), unit(name="三人单位", formal_members="3人", employees="12人")]
    write_ledger(tmp_path / "台账.xlsx", rows, title="某县非公企业和社会组织台账")

    result = cli("import", "--ledger", str(tmp_path / "台账.xlsx"), "--geodata", str(DEMO), "--db", store_url)

    assert "新增 2" in result.stdout and "拒收 2" in result.stdout
    assert "第4行 统一社会信用代码" in result.stdout and "第5行 正式党员数：正式党员数不能为负数" in result.stdout
    assert sorted(open_store(store_url).unit_cells()["name"]) == ["三人单位", "好单位"]


@pytest.mark.parametrize("content, message", [
    ("企业名称,统一社会信用代码\n甲,1\n", "内容不是Excel工作簿"),
    ("", "文件为空"),
])
def test_a_file_that_is_no_ledger_is_refused_and_nothing_written(demo_store, tmp_path, content, message):
    before = snapshot(demo_store)
    path = tmp_path / "台账.xlsx"
    path.write_text(content, encoding="utf-8")

    result = cli("import", "--ledger", str(path), "--db", demo_store.url, check_rc=2)

    error = result.stderr.splitlines()[-1]  # after the progress lines: one line naming the file
    assert error.startswith("错误：台账.xlsx") and message in error
    assert snapshot(demo_store) == before


def test_a_sheet_with_headers_only_imports_nothing(demo_store, tmp_path):
    before = snapshot(demo_store)
    write_ledger(tmp_path / "空台账.xlsx", [])

    result = cli("import", "--ledger", str(tmp_path / "空台账.xlsx"), "--db", demo_store.url, check_rc=2)

    assert "没有可导入的单位" in result.stderr
    assert snapshot(demo_store) == before


def test_a_zipped_shapefile_without_prj_is_imported_and_reported(store_url, tmp_path):
    import zipfile

    grids = gpd.read_file(DEMO / "grids.geojson")
    grids.to_file(tmp_path / "网格.shp", encoding="GBK")
    folder = tmp_path / "geodata"
    folder.mkdir()
    with zipfile.ZipFile(folder / "grids.zip", "w") as archive:
        for suffix in (".shp", ".shx", ".dbf", ".cpg"):
            archive.write(tmp_path / f"网格{suffix}", f"网格{suffix}")
    shutil.copy(DEMO / "towns.geojson", folder / "towns.geojson")

    result = cli("import", "--ledger", str(DEMO / "ledger.xlsx"), "--geodata", str(folder), "--db", store_url)

    assert ".prj" in result.stdout
    assert len(open_store(store_url).load_county().grids) == 60


def test_the_messy_ledger_of_the_foundation_keeps_every_value_and_flag_in_the_store(store_url, tmp_path):
    from test_ledger import messy_workbook

    path = tmp_path / "台账.xlsx"
    codes = messy_workbook(path)
    result = cli("import", "--ledger", str(path), "--geodata", str(DEMO), "--db", store_url)

    assert "新增 5" in result.stdout and "拒收 4" in result.stdout
    for row, column in ((8, "统一社会信用代码"), (9, "统一社会信用代码"), (10, "流动党员数"), (11, "从业人员数")):
        assert f"第{row}行 {column}" in result.stdout
    # What the file said is what the store gives back: the same typed units, the same flags.
    from_file = read_ledger(path)
    from_store = open_store(store_url).load_ledger()
    columns = [c for c in from_file.units.columns if c != "row"]
    same_unit = {"org_elected": "datetime64[s]"}  # one date, whichever resolution pandas picked
    pd.testing.assert_frame_equal(from_store.units[columns].astype(same_unit), from_file.units[columns].astype(same_unit),
                                  check_dtype=False)
    assert sorted((p.column, p.reason) for p in from_store.flagged) == sorted(
        (p.column, p.reason) for p in from_file.flagged)
    assert set(from_store.units["credit_code"]) == {codes[0], codes[1], codes[2], codes[3], codes[7]}
