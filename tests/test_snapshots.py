"""Progress over time, as a briefing uses it: the county's first figures are kept when it is
loaded, a re-import keeps new ones, and the two are compared: the blind spot a grid closed,
the org it formed, its grid's rise, the county totals side by side; each viewer sees only
their part, and a briefing audience no unit's name.

Every test runs on the embedded GeoPackage file and on a real PostGIS server.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from conftest import DEMO, REPO
from services.access import MASKED_CODE, Viewer
from services.accounts import audit_log
from services.coverage import BLIND, OWN
from services.ledger import read_ledger
from services.rates import coverage_rates, totals
from services.snapshots import (LIST_COLUMNS, Snapshot, compare, for_viewer, list_snapshots, load_snapshot,
                                rename_snapshot, take_snapshot)
from services.workspace import load_store



def a_blind_spot(store) -> pd.Series:
    """A blind unit the map shows in a grid, as someone picks it on the 盲区 page."""
    units = load_store(store).units
    return units[units["status"].eq(BLIND) & units["grid_id"].notna()].iloc[0]


def ledger_where_it_formed_an_org(unit: pd.Series, folder) -> str:
    """The demo ledger, re-saved with ``unit`` now having its own branch (3 formal members)."""
    book = openpyxl.load_workbook(DEMO / "ledger.xlsx")
    sheet = book.active
    headers = [cell.value for cell in sheet[1]]
    codes = [sheet.cell(row=r, column=headers.index("统一社会信用代码") + 1).value
             for r in range(1, sheet.max_row + 1)]
    row = codes.index(unit["credit_code"]) + 1
    for header, value in (("正式党员数", 3), ("党组织名称", f"{unit['name']}党支部"), ("党组织类型", "党支部")):
        sheet.cell(row=row, column=headers.index(header) + 1).value = value
    path = folder / "台账.xlsx"
    book.save(path)
    return str(path)


# --- the first figures -----------------------------------------------------------------------


def test_loading_the_county_keeps_its_first_figures_as_a_snapshot(demo_store):
    snapshots = list_snapshots(demo_store)

    assert list(snapshots.columns) == list(LIST_COLUMNS)
    assert snapshots["label"].tolist() == ["初始数据"]
    first = load_snapshot(demo_store, snapshots["id"].iloc[0])
    units = load_store(demo_store).units
    expected = totals(units)
    assert first.totals.keys() == expected.to_dict().keys()
    for key, value in expected.items():
        assert first.totals[key] == pytest.approx(value), key
    assert first.import_id == demo_store.imports()["fid"].iloc[0]
    by_grid = coverage_rates(units, by="grid_id")
    grids = first.grids.set_index("grid_id")
    assert len(grids) == 60 and grids["name"].notna().all()
    assert (grids.loc[by_grid.index, "blind"] == by_grid["blind"]).all()
    assert first.towns["units"].sum() == units["town_name"].notna().sum()  # unplaced units have no town
    assert len(first.units) == len(units) and set(first.units["status"]) <= {"own", "joint", "work", "blind"}
    assert audit_log(demo_store)[["who", "action"]].iloc[0].tolist() == ["系统", "保存快照"]


def test_a_snapshot_of_the_demo_is_quick_and_small(demo_store):
    """Measured, not asserted: the figures go in the report (a city is ~50× the demo)."""
    started = time.perf_counter()
    analysis = load_store(demo_store)
    assessed = time.perf_counter()
    snapshot_id = take_snapshot(demo_store, analysis, label="测量")
    saved = time.perf_counter()
    snapshot = load_snapshot(demo_store, snapshot_id)
    loaded = time.perf_counter()
    table = demo_store.tables["snapshots"]
    with demo_store.engine.connect() as conn:
        row = conn.execute(sa.select(table.c.totals, table.c.towns, table.c.grids, table.c.units)
                           .where(table.c.fid == snapshot_id)).one()
    sizes = [len(row.totals.encode()), len(row.towns.encode()), len(row.grids.encode()), len(row.units)]
    print(f"\n[{demo_store.backend}] {len(snapshot.units)} units: assess {assessed - started:.2f}s, "
          f"save {saved - assessed:.3f}s, load {loaded - saved:.3f}s; stored {sum(sizes) / 1024:.1f} KB "
          f"(totals {sizes[0]} B, towns {sizes[1]} B, grids {sizes[2]} B, units {sizes[3]} B = "
          f"{sizes[3] / len(snapshot.units):.1f} B/unit)")
    assert snapshot.label == "测量"


# --- a re-import, compared -------------------------------------------------------------------


def test_a_blind_spot_closed_by_a_reimport_shows_in_the_comparison(demo_store, tmp_path):
    unit = a_blind_spot(demo_store)
    ledger = read_ledger(ledger_where_it_formed_an_org(unit, tmp_path), keep_cells=True)
    demo_store.import_ledger(ledger, "县委组织部", source="台账.xlsx")
    second_id = take_snapshot(demo_store, who="县委组织部")

    snapshots = list_snapshots(demo_store)
    assert len(snapshots) == 2 and snapshots["id"].tolist()[-1] == second_id  # oldest first
    assert snapshots["label"].iloc[1].endswith(" 导入")
    assert snapshots["blind"].diff().iloc[1] == -1 and snapshots["own"].diff().iloc[1] == 1
    assert snapshots["org_coverage_rate"].iloc[1] > snapshots["org_coverage_rate"].iloc[0]

    rename_snapshot(demo_store, snapshots["id"].iloc[0], "年初", who="县委组织部")
    first, second = (load_snapshot(demo_store, i) for i in snapshots["id"])
    assert (first.label, second.label) == ("年初", snapshots["label"].iloc[1])
    assert second.import_id == demo_store.imports()["fid"].iloc[0] != first.import_id
    assert audit_log(demo_store)["action"].iloc[0] == "重命名快照"

    change = compare(first, second)
    assert change.closed_blind["credit_code"].tolist() == [unit["credit_code"]]
    closed = change.closed_blind.iloc[0]
    assert (closed["name"], closed["grid_id"], closed["status_before"], closed["status_after"]) == (
        unit["name"], unit["grid_id"], BLIND, OWN)
    assert math.isclose(closed["x"], unit["x"], abs_tol=1e-6) and math.isclose(closed["y"], unit["y"], abs_tol=1e-6)
    assert change.new_orgs["credit_code"].tolist() == [unit["credit_code"]]
    assert change.new_blind.empty
    moved = change.totals["after"] - change.totals["before"]
    assert (moved["blind"], moved["own"], moved["units"]) == (-1, 1, 0)
    top = change.grids.iloc[0]
    assert top["grid_id"] == unit["grid_id"] and top["change"] > 0
    assert (change.grids["change"].iloc[1:] == 0).all()


def test_a_unit_that_left_the_ledger_closes_its_blind_spot_and_a_newcomer_opens_one():
    def snapshot(label, units):
        frame = pd.DataFrame(units, columns=["credit_code", "name", "status", "grid_id", "x"]).assign(
            priority_blind=False, town_name="甲镇", y=25.0, above_scale=False)
        grids = coverage_rates(frame, by="grid_id").rename_axis("grid_id").reset_index()
        return Snapshot(1, "2026-01-01 09:00:00", label, None, totals(frame).to_dict(), pd.DataFrame({"town": []}),
                        grids, frame)

    before = snapshot("年初", [("A", "甲公司", BLIND, "G1", 102.1), ("B", "乙公司", "work", "G1", 102.2)])
    after = snapshot("现在", [("B", "乙公司", BLIND, "G2", 102.3), ("C", "丙公司", OWN, "G2", 102.4)])

    change = compare(before, after)

    closed = change.closed_blind.iloc[0]
    assert len(change.closed_blind) == 1
    assert (closed["credit_code"], closed["grid_id"], closed["x"], closed["status_after"]) == ("A", "G1", 102.1, None)
    assert change.new_blind[["credit_code", "status_before", "grid_id"]].values.tolist() == [["B", "work", "G2"]]
    assert change.new_orgs[["credit_code", "status_before"]].values.tolist() == [["C", None]]
    grids = change.grids.set_index("grid_id")  # a grid with no unit on one side has no rate there
    assert grids.loc["G1", "org_coverage_rate_before"] == 0 and math.isnan(grids.loc["G2", "org_coverage_rate_before"])
    assert grids["change"].isna().all()


def test_each_viewer_sees_only_their_part_of_the_progress(demo_store, tmp_path):
    unit = a_blind_spot(demo_store)
    demo_store.import_ledger(read_ledger(ledger_where_it_formed_an_org(unit, tmp_path), keep_cells=True), "县委组织部")
    take_snapshot(demo_store)
    first, second = (load_snapshot(demo_store, i) for i in list_snapshots(demo_store)["id"])
    other_grid = next(g for g in second.grids["grid_id"] if g != unit["grid_id"])

    leader = Viewer("网格长乙", "grid_leader", grids=(other_grid,))
    theirs = for_viewer(second, leader)
    assert set(theirs.units["grid_id"]) == {other_grid}
    assert theirs.grids["grid_id"].tolist() == [other_grid]
    assert theirs.totals["units"] == len(theirs.units) == theirs.grids["units"].iloc[0] == theirs.towns["units"].sum()
    assert compare(for_viewer(first, leader), theirs).closed_blind.empty

    own_leader = Viewer("网格长甲", "grid_leader", grids=(unit["grid_id"],))
    assert compare(for_viewer(first, own_leader), for_viewer(second, own_leader)).closed_blind[
        "credit_code"].tolist() == [unit["credit_code"]]

    audience = Viewer("演示", "demo")
    before, after = for_viewer(first, audience), for_viewer(second, audience)
    assert set(after.units["credit_code"]) == {MASKED_CODE}
    assert not set(after.units["name"]) & set(second.units["name"])
    assert after.totals == second.totals
    closed = compare(before, after).closed_blind
    assert len(closed) == 1 and closed["credit_code"].iloc[0] == MASKED_CODE
    assert closed["name"].iloc[0].startswith("某") and closed["name"].iloc[0] != unit["name"]
    assert closed["grid_id"].iloc[0] == unit["grid_id"]


def test_an_import_from_the_command_line_keeps_a_snapshot(demo_store, tmp_path):
    unit = a_blind_spot(demo_store)
    path = ledger_where_it_formed_an_org(unit, tmp_path)

    result = subprocess.run([sys.executable, "-m", "services", "import", "--ledger", path, "--db", demo_store.url,
                             "--who", "县委组织部"], cwd=REPO, capture_output=True, text=True, timeout=600)

    assert result.returncode == 0, result.stdout + result.stderr
    snapshots = list_snapshots(demo_store)
    assert f"已保存快照 #{snapshots['id'].iloc[-1]}" in result.stdout.splitlines()
    assert snapshots["blind"].tolist()[-1] == snapshots["blind"].tolist()[0] - 1
    assert audit_log(demo_store)[["who", "action"]].iloc[0].tolist() == ["县委组织部", "保存快照"]
