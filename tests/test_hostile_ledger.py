"""A careless or hostile ledger (issue 5): unit names, addresses and org names that are markup,
quotes, ampersands, spreadsheet formulas, or 5,000 characters long. Imported into a store of
its own, they must show as the very text typed everywhere — tables, Markdown, the map's popups
and tooltips, every download — run nowhere (no script, no formula), and come back unchanged
when the exported ledger is imported again.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re

import openpyxl
import pytest

import apptest_support
from apptest_support import map_script
from conftest import DEMO, MAP_FRAME, SCREENSHOTS, open_map, running_app, screenshot, unit, write_ledger
from dashboard.popups import markdown_text, text
from services.ledger import read_ledger
from services.store import open_store
from services.workspace import load_folder, load_store, seed_store

GRID = "QH-01-03"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
HOSTILE = [SCRIPT, IMG, '"引号"公司', "'单引号'公司", "A&B公司", '=HYPERLINK("http://x","点我")', "+1+2", "-3",
           "@SUM(A1)", "长名称" * 1666 + "公司"]  # the last: 5,000 characters
FORMULA_LIKE = [s for s in HOSTILE if s[0] in "=+-@"]
MARKUP = [s for s in HOSTILE if set(s) & set("<>\"'&")]
ORG_SUFFIX = "联合党支部"


def org_name(hostile: str) -> str:
    """The org named after a hostile text (the text first, so formula-like org names stay so)."""
    return hostile + ORG_SUFFIX


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A store holding only the hostile ledger (on the demo county's layers): one blind unit
    named (and addressed) each hostile text, and for each text a joint branch of that name
    shared by two units. Returns the store's path and the ledger's rows."""
    folder = tmp_path_factory.mktemp("hostile")
    spots = load_folder(DEMO).units
    spots = spots[spots["grid_id"].eq(GRID) & spots["placed_by"].eq("coordinates")][["x", "y"]].to_numpy()
    assert len(spots) >= 3 * len(HOSTILE)
    rows = []
    for i, name in enumerate(HOSTILE):
        lon, lat = spots[i]
        rows.append(unit(name=name, address=name, lon=float(lon), lat=float(lat), employees=120,
                         reason_no_org="其他"))
        for j in (1, 2):
            lon, lat = spots[len(HOSTILE) * j + i]
            rows.append(unit(name=f"共建成员{i}{j}有限公司", lon=float(lon), lat=float(lat), employees=20,
                             formal_members=1, org_name=org_name(name), org_type="联合党支部"))
    # A CSV, as a county's export often is: openpyxl would store a typed "=…" as a formula.
    path = write_ledger(folder / "hostile.csv", rows)
    store_path = str(folder / "s.gpkg")
    store = open_store(store_path)
    seed_store(store, DEMO)
    store.import_ledger(read_ledger(path, keep_cells=True), "测试", source=path.name)
    store.confirm_removals(store.absent_units()["credit_code"].tolist(), "测试")  # only the hostile units stay
    assert len(store.unit_cells()) == len(rows)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COUNTY_STORE", store_path)
        yield store_path, rows


def code_of(rows, name: str) -> str:
    return next(r["统一社会信用代码"] for r in rows if r["企业名称"] == name)


# --- what the pages show ------------------------------------------------------------------------

TEXT_ELEMENTS = ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader")


def markdown_of(at) -> list[str]:
    """Every text the page hands to Streamlit's Markdown renderer."""
    return [element.value for kind in TEXT_ELEMENTS for element in at.get(kind)]


LIVE_MARKUP = re.compile(r"(?<!\\)<\s*/?\s*(script|img)", re.IGNORECASE)  # a tag Markdown would read as HTML


def no_live_markup(values: list[str]) -> None:
    """No tag in Markdown source unless its ``<`` is backslash-escaped (shown as text)."""
    for value in values:
        assert not LIVE_MARKUP.search(value), value


def column(at, header: str) -> set[str]:
    """Every cell of ``header`` in the page's tables."""
    cells = set()
    for table in at.dataframe:
        frame = table.value.data if hasattr(table.value, "data") else table.value
        if header in frame.columns:
            cells |= set(frame[header].dropna().astype(str))
    return cells


def test_tables_and_markdown_show_the_names_as_typed(hostile):
    at = apptest_support.open_page("pages/grid.py", {"grid": GRID})
    assert set(HOSTILE) <= column(at, "企业名称")
    assert set(HOSTILE) <= column(at, "地址")
    assert {org_name(s) for s in HOSTILE} <= column(at, "党组织名称")
    no_live_markup(markdown_of(at))

    at.switch_page("pages/blind_spots.py").run()
    assert set(HOSTILE) <= column(at, "企业名称")
    labels = at.selectbox(key="blind_pick").options
    assert any(label.startswith(SCRIPT + "（") for label in labels)  # offered as text
    no_live_markup(markdown_of(at))

    # 联合党支部: the list, then the branch named <script>…: its heading is escaped Markdown.
    at.switch_page("pages/joint_orgs.py").run()
    assert {org_name(s) for s in HOSTILE} <= column(at, "党组织名称")
    orgs = load_store(open_store(hostile[0])).assessment.orgs
    key = orgs.loc[orgs["name"] == org_name(SCRIPT), "org_key"].iloc[0]
    at.selectbox(key="joint_org").set_value(key).run()
    assert not at.exception, at.exception
    assert f"#### {markdown_text(org_name(SCRIPT))}" in markdown_of(at)
    assert column(at, "企业名称") == {f"共建成员{HOSTILE.index(SCRIPT)}{j}有限公司" for j in (1, 2)}
    no_live_markup(markdown_of(at))

    for page in ("pages/county_map.py", "pages/places.py", "pages/centres.py", "pages/data.py"):
        at.switch_page(page).run()
        assert not at.exception, at.exception
        no_live_markup(markdown_of(at))


def test_the_map_carries_the_names_only_as_escaped_text(hostile):
    """The map's data reaches Leaflet as JSON strings; once JSON's escapes are read, each name,
    address and org name is HTML-escaped text (popups.text), never markup."""
    _, rows = hostile
    at = apptest_support.open_page("pages/county_map.py")
    at.text_input(key="search").input(code_of(rows, SCRIPT)).run()
    script = map_script(at)
    assert "openPopup" in script  # the searched unit's popup opens (see the browser test below)
    strings = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), script)
    for name in HOSTILE:
        escaped = json.dumps(text(name), ensure_ascii=False)
        assert f'"n": {escaped}' in strings, name  # the popup's name and the marker's tooltip
        assert f'"a": {escaped}' in strings, name  # the popup's address
        assert json.dumps(f"{text(org_name(name))}：2个单位", ensure_ascii=False) in strings  # the link's tooltip
    for name in MARKUP:
        assert name not in strings, name
    assert not re.search(r"<\s*(script|img)", strings, re.IGNORECASE)


# --- what the downloads hold --------------------------------------------------------------------


def files_of(downloads, made_on_click) -> dict[str, bytes]:
    """Every file offered so far, ready or made on the click (clicked here)."""
    files = {name: bytes(data) if not isinstance(data, str) else data.encode() for name, data in downloads.items()}
    files.update({name: make() for name, make in made_on_click.items()})
    return {name: data.encode() if isinstance(data, str) else data for name, data in files.items()}


def pick(files: dict, stem: str, suffix: str) -> bytes:
    """The file ``stem`` + suffix; on this demo-derived store ``stem（虚构示例数据）`` + suffix, and the
    blind spots' list carries the day (``空白点清单_2026-…``)."""
    return next(data for name, data in files.items()
                if re.fullmatch(rf"{stem}(（[^）]*）|_[-0-9]+)?{re.escape(suffix)}", name))


def xlsx_texts(data: bytes) -> set[str]:
    """The text cells of a workbook, after checking that no cell is a formula and that every
    formula-like text is a text cell with Excel's quote prefix (shown as typed, never run)."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    texts = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert cell.data_type == "s"
                    if cell.value.startswith(("=", "+", "-", "@")):
                        assert cell.quotePrefix, (cell.coordinate, cell.value)
                    texts.add(cell.value)
    return texts


def csv_cells(data: bytes) -> set[str]:
    return {cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for cell in row}


def assert_csv_neutralised(data: bytes, names) -> None:
    """Formula-like texts start with an apostrophe (and are never there bare); others as typed."""
    cells = csv_cells(data)
    for name in names:
        if name.startswith(("=", "+", "-", "@")):
            assert "'" + name in cells and name not in cells, name
        else:
            assert name in cells, name


def test_every_download_holds_the_names_as_text(hostile, downloads, made_on_click):
    at = apptest_support.open_page("pages/grid.py", {"grid": GRID})
    at.switch_page("pages/blind_spots.py").run()
    at.switch_page("pages/joint_orgs.py").run()
    at.switch_page("pages/county_map.py").run()
    at.switch_page("pages/data.py").run()
    assert not at.exception, at.exception
    files = files_of(downloads, made_on_click)
    orgs = {org_name(s) for s in HOSTILE}

    for data, expected in ((files[f"网格台账_{GRID}.xlsx"], set(HOSTILE) | orgs),
                           (pick(files, "空白点清单", ".xlsx"), set(HOSTILE)),
                           (files["共建党组织一览.xlsx"], orgs),
                           (pick(files, "单位清单", ".xlsx"), set(HOSTILE) | orgs),
                           (pick(files, "台账", ".xlsx"), set(HOSTILE) | orgs)):
        cells = xlsx_texts(data)
        assert expected <= cells
        assert not {"'" + s for s in FORMULA_LIKE} & cells  # the quote prefix is a style, not a character
    todo = xlsx_texts(files[f"待办清单_{GRID}.xlsx"])
    assert any(SCRIPT in cell for cell in todo) and any(cell.startswith("=HYPERLINK") for cell in todo)

    assert_csv_neutralised(pick(files, "空白点清单", ".csv"), HOSTILE)
    assert_csv_neutralised(pick(files, "单位清单", ".csv"), [*HOSTILE, *orgs])
    assert_csv_neutralised(pick(files, "台账", ".csv"), [*HOSTILE, *orgs])

    summary = files[f"网格汇总_{GRID}.html"].decode("utf-8")
    assert html.escape(SCRIPT) in summary and html.escape(IMG) in summary
    assert "<script" not in summary and "<img" not in summary


def test_the_exported_ledger_imports_back_unchanged(hostile, made_on_click, tmp_path):
    store_path, rows = hostile
    at = apptest_support.open_page("pages/data.py")
    assert not at.exception, at.exception
    store = open_store(store_path)
    for suffix in (".xlsx", ".csv"):
        name = next(n for n in made_on_click if n.startswith("台账") and n.endswith(suffix))
        path = tmp_path / f"exported{suffix}"
        path.write_bytes(made_on_click[name]())
        ledger = read_ledger(path, keep_cells=True)
        assert not ledger.rejected, [p.reason for p in ledger.rejected]
        back = {r.credit_code: (r.name, blank(r.address), blank(r.org_name)) for r in ledger.units.itertuples()}
        typed = {r["统一社会信用代码"]: (r["企业名称"], r.get("地址"), r.get("党组织名称")) for r in rows}
        assert back == typed, suffix
        plan = store.plan_import(ledger)
        assert plan.is_empty, (suffix, plan)


def blank(value):
    return None if value is None or value != value else value


# --- in a real browser ----------------------------------------------------------------------------


def test_in_the_browser_popups_and_tooltips_show_the_text_and_run_nothing(browser, hostile):
    store_path, rows = hostile
    with running_app({"COUNTY_STORE": store_path}) as url:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        open_map(page, f"{url}/")
        for name in (SCRIPT, IMG):
            search = page.get_by_label("搜索单位（名称或统一社会信用代码）")
            search.fill(code_of(rows, name))
            page.keyboard.press("Enter")
            frame = page.frame_locator(MAP_FRAME).first
            popup = frame.locator(".leaflet-popup-content .unit-popup-name")
            popup.filter(has_text=name).wait_for(timeout=60_000)
            assert popup.inner_text() == name
            content = frame.locator(".leaflet-popup-content")
            assert f"地址\t{name}" in content.inner_text()
            assert content.locator("script, img").count() == 0
            screenshot(page, f"hostile_ledger_popup_{HOSTILE.index(name)}")

            # Close the popup (its tip covers the marker) and hover the marker: its tooltip is
            # the name as text, too.
            frame.locator(".leaflet-popup-close-button").click()
            popup.wait_for(state="detached")
            page.locator(MAP_FRAME).first.scroll_into_view_if_needed()
            point = frame.locator("body").evaluate("""(body, code) => {
                const layer = Object.values(window.map._layers).find(l => l.feature && l.feature.properties
                    && l.feature.properties.c === code && String(l.options.className).includes("unit-marker"));
                const xy = window.map.latLngToContainerPoint(layer.getLatLng());
                const box = window.map.getContainer().getBoundingClientRect();
                return [xy.x + box.left, xy.y + box.top]; }""", code_of(rows, name))
            box = page.locator(MAP_FRAME).first.bounding_box()
            page.mouse.move(box["x"] + point[0], box["y"] + point[1])
            tooltip = frame.locator(".leaflet-tooltip").filter(has_text=name)
            tooltip.wait_for(timeout=30_000)
            assert tooltip.inner_text().startswith(name + "（")
            assert tooltip.locator("script, img").count() == 0
            # The map alone, as it is now (a full-page screenshot would resize the page and move
            # the pointer off the marker).
            SCREENSHOTS.mkdir(exist_ok=True)
            shot = SCREENSHOTS / f"hostile_ledger_tooltip_{HOSTILE.index(name)}.png"
            page.locator(MAP_FRAME).first.screenshot(path=str(shot))

            # Clicking the marker opens the popup the units' layer builds for it: the name as text.
            page.mouse.click(box["x"] + point[0], box["y"] + point[1])
            popup.filter(has_text=name).wait_for(timeout=30_000)
            assert popup.inner_text() == name
            assert content.locator("script, img").count() == 0
            frame.locator(".leaflet-popup-close-button").click()
            popup.wait_for(state="detached")
        assert dialogs == []
        assert page.frame_locator(MAP_FRAME).first.locator('img[src="x"]').count() == 0
        page.close()
