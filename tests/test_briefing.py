"""汇报演示, driven as a presenter does with AppTest: step through the whole sequence with 下一步,
compare every headline figure with the headless report, change the sequence and find it again
in a new session, present real data (anonymised by default), take the files away.

The report is ``python -m services report --json`` on the demo county as of today (the
dashboard's default as-of date), run once for the module.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from collections import Counter

import geopandas as gpd
import pytest
from PIL import Image

from apptest_support import open_page, screen_text, signed_in
from conftest import DEMO, close_blind_spot
from services import places
from services.briefing import KIND_LABELS, Step, default_steps, steps_to_json
from services.store import open_store
from services.workspace import load_folder

PAGE = "pages/briefing.py"


@pytest.fixture
def own_store(tmp_path, monkeypatch) -> str:
    """A store only this test writes to (seeded from the demo county on first open)."""
    path = str(tmp_path / "s.gpkg")
    monkeypatch.setenv("COUNTY_STORE", path)
    return path


# --- what a presenter sees ---------------------------------------------------------------------


def title(at) -> str:
    """The step's title as on screen (Markdown-escaped data unescaped)."""
    heading = next(m.value for m in at.markdown if m.value.startswith("## "))
    return re.sub(r"\\(.)", r"\1", heading[3:])


def position(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("第") and "步，共" in m.value)


def figure(at) -> tuple[str, str]:
    """The headline figure: (label, value)."""
    headline = at.metric[0]
    return re.sub(r"\\(.)", r"\1", headline.label), headline.value


def sentence(at) -> str:
    """The headline sentence (the first Markdown after the figure that ends a sentence)."""
    texts = [re.sub(r"\\(.)", r"\1", m.value) for m in at.markdown]
    return next(t for t in texts if t.endswith("。") and "，" in t)


def next_step(at):
    button = at.button(key="briefing_next")
    assert not button.disabled
    button.click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def map_script(at) -> str:
    """The Leaflet script of the step's map (the one st_folium component; charts are the
    other elements AppTest does not know)."""
    (found,) = [json.loads(e.proto.json_args)["script"] for e in at.main
                if type(e).__name__ == "UnknownElement" and e.type == "component_instance"]
    return found


def unit_rows(script: str) -> set[int]:
    """Ledger rows of the units drawn on the map (each unit feature carries its row)."""
    return {int(r) for r in re.findall(r'"row": (\d+)', script)}


def appears(text: str, where: str) -> bool:
    """Whether ``text`` is in ``where`` as written or JSON-escaped (\\uXXXX)."""
    return text in where or json.dumps(text)[1:-1] in where


def percent(rate) -> str:
    return f"{rate * 100:.2f}%"


# --- the expected figures, from the report -----------------------------------------------------


def town_rates(report) -> dict[str, float]:
    """Organisation coverage per town, summed from the report's grids (grid → town from the
    layer): what the 乡镇街道 ranking must show."""
    towns = gpd.read_file(DEMO / "grids.geojson")
    town_of = dict(zip(towns["id"], towns["town"]))
    units, covered = Counter(), Counter()
    for grid_id, grid in report["grids"].items():
        units[town_of[grid_id]] += grid["units"]
        covered[town_of[grid_id]] += grid["own"] + grid["joint"]
    return {town: covered[town] / units[town] for town in units if units[town]}


def place_rate(report, demo, kind: str, name: str) -> str:
    """A place's tenants' organisation coverage, their statuses taken from the report by
    credit code (the tenants are the headless pipeline's placement)."""
    status = {u["credit_code"]: u["status"] for u in report["units"]}
    tenants = places.place_tenants(demo.units, kind, name)["credit_code"]
    covered = sum(status[code] in ("own", "joint") for code in tenants)
    return percent(covered / len(tenants))


def expected(report, demo, step: Step) -> tuple[str, str]:
    """The headline figure (label, value) each step must show."""
    totals = report["totals"]
    if step.kind == "county":
        return "党的组织覆盖率", percent(totals["org_coverage_rate"])
    if step.kind == "towns":
        town, rate = min(town_rates(report).items(), key=lambda item: item[1])
        return f"覆盖率最低：{town}", percent(rate)
    if step.kind in ("park", "building"):
        return "入驻单位组织覆盖率", place_rate(report, demo, "parks" if step.kind == "park" else "buildings",
                                               step.target)
    if step.kind == "grid":
        return "网格组织覆盖率", percent(report["grids"][step.target]["org_coverage_rate"])
    if step.kind == "blind_spots":
        return "空白点", f"{totals['blind']:,}个"
    if step.kind == "centres":
        return "服务半径外单位", f"{report['flags']['outside_service_radius']:,}家"
    return "距组织覆盖率100%还差", f"{totals['units'] - totals['own'] - totals['joint']:,}个单位"


def expected_rows(report, demo, step: Step) -> set[int] | None:
    """The units the step's map must draw (None: not checked here)."""
    placed = [u for u in report["units"] if u["placed_by"] is not None]
    if step.kind == "county":
        return {u["row"] for u in placed}
    if step.kind == "towns":
        return set()
    if step.kind == "progress":  # the units still without an org
        return {u["row"] for u in placed if u["status"] in ("work", "blind")}
    if step.kind == "grid":
        return {u["row"] for u in placed if u["grid"] == step.target}
    if step.kind == "blind_spots":
        return {u["row"] for u in placed if u["status"] == "blind"}
    if step.kind == "centres":
        return {u["row"] for u in placed if "outside_service_radius" in u["flags"]}
    kind = "parks" if step.kind == "park" else "buildings"
    return set(places.place_tenants(demo.units, kind, step.target)["row"])


# --- stepping through --------------------------------------------------------------------------


def test_the_presenter_steps_through_the_whole_sequence_and_every_figure_is_the_reports(report, demo):
    at = open_page(PAGE)
    sequence = default_steps(demo)
    assert [s.kind for s in sequence] == ["county", "towns", "park", "building", "grid", "blind_spots",
                                          "centres", "progress"]
    scripts = []
    for number, step in enumerate(sequence, start=1):
        assert position(at).startswith(f"第{number}步，共{len(sequence)}步")
        assert figure(at) == expected(report, demo, step), step
        assert sentence(at), "each step explains its figure in one sentence"
        script = map_script(at)
        assert unit_rows(script) == expected_rows(report, demo, step), step
        scripts.append(script)
        if number < len(sequence):
            next_step(at)
    assert at.button(key="briefing_next").disabled, "the last step has no next"
    assert len(set(scripts)) == len(sequence), "every step sets the map anew"
    assert any("虚构示例数据" in m.value for m in at.markdown), "the demo is labelled on the screen"


def test_the_sentences_say_where_things_concentrate(report, demo):
    at = open_page(PAGE)
    grids = gpd.read_file(DEMO / "grids.geojson")
    town_of = dict(zip(grids["id"], grids["town"]))
    blind_by_town = Counter(town_of[u["grid"]] for u in report["units"] if u["status"] == "blind" and u["grid"])
    sentences = {}
    for step in default_steps(demo):
        sentences[step.kind] = sentence(at)
        if step.kind != "progress":
            next_step(at)
    totals = report["totals"]
    top_town, top_count = blind_by_town.most_common(1)[0]
    assert sentences["blind_spots"].startswith(
        f"全县空白点{totals['blind']}个，其中重点空白点{totals['priority_blind']}个，集中在{top_town}（{top_count}个）")
    rates = town_rates(report)
    best = max(rates, key=rates.get)
    assert f"组织覆盖率最高的是{best}（{percent(rates[best])}）" in sentences["towns"]
    assert f"在册单位{totals['units']:,}个" in sentences["county"]
    gap = (1 - totals["org_coverage_rate"]) * 100
    assert f"距100%目标还差{gap:.2f}个百分点" in sentences["progress"]
    assert f"空白点{totals['blind']}个" in sentences["progress"]


def test_the_previous_button_goes_back_and_the_first_step_has_none():
    at = open_page(PAGE)
    assert at.button(key="briefing_previous").disabled
    first = title(at)
    next_step(at)
    assert title(at) != first
    at.button(key="briefing_previous").click().run()
    assert title(at) == first


def test_the_page_hides_the_chrome_and_sets_the_figure_large():
    """Presentation mode: sidebar, header and toolbar hidden; the figure at least 3× the body
    text (Streamlit's body is 1rem); the keys → ← (and a clicker's PageDown/PageUp) press the
    buttons. The browser test shows it drawn; here, that the page asks for it."""
    at = open_page(PAGE)
    html = "\n".join(h.proto.body for h in at.get("html"))
    hiding = html[:html.index("display: none")]
    assert all(f'[data-testid="{part}"]' in hiding for part in ("stSidebar", "stHeader", "stToolbar"))
    size = float(re.search(r'stMetricValue"\] \{ font-size: ([\d.]+)rem', html).group(1))
    assert size >= 3
    assert "ArrowRight" in html and "briefing_next" in html and "ArrowLeft" in html


# --- the sequence, changed and saved -----------------------------------------------------------


def editor_labels(at) -> list[str]:
    """The steps as the sequence editor lists them, in order."""
    labels = [re.sub(r"\\(.)", r"\1", m.value) for m in at.markdown]
    kinds = tuple(KIND_LABELS.values())
    return [label for label in labels if label.startswith(kinds) and not label.startswith("## ")]


def test_reordering_dropping_and_adding_a_grid_is_saved_for_the_next_session(own_store, demo):
    at = open_page(PAGE)
    steps = default_steps(demo)
    at.button(key="briefing_down_0").click().run()  # 全县总览 after the town ranking
    at.button(key="briefing_drop_2").click().run()  # no park
    at.selectbox(key="briefing_add_kind").select("grid").run()
    at.selectbox(key="briefing_add_target").select("QH-03-02").run()
    at.button(key="briefing_add").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert title(at) == "网格：云溪镇第2网格（QH-03-02）", "the added step is shown at once"

    wanted = [steps[1], steps[0], *steps[3:], Step("grid", "QH-03-02")]
    assert open_store(own_store).setting("briefing_steps") == steps_to_json(wanted)
    again = open_page(PAGE)  # a new session: the same sequence
    assert title(again) == "乡镇街道覆盖率排名"
    assert position(again).startswith(f"第1步，共{len(wanted)}步")
    assert len(editor_labels(again)) == len(wanted)
    assert editor_labels(again)[-1] == "网格：云溪镇第2网格（QH-03-02）"
    for _ in wanted[1:]:
        next_step(again)
    assert title(again) == "网格：云溪镇第2网格（QH-03-02）"

    again.button(key="briefing_reset").click().run()
    assert open_store(own_store).setting("briefing_steps") == steps_to_json(steps)
    assert title(again) == "全县总览"


def test_a_saved_step_the_data_no_longer_has_is_left_out(own_store):
    open_page(PAGE)  # the page seeds the store on first open
    store = open_store(own_store)
    store.save_setting("briefing_steps", [{"kind": "grid", "target": "NO-SUCH-GRID"}, {"kind": "county"},
                                          {"kind": "nonsense"}], "测试")
    at = open_page(PAGE)
    assert position(at).startswith("第1步，共1步") and title(at) == "全县总览"


# --- progress between two snapshots ------------------------------------------------------------


def test_progress_compares_two_snapshots_on_the_map_and_in_figures(own_store):
    at = open_page(PAGE)  # seeds the store: snapshot 初始数据
    unit = close_blind_spot(open_store(own_store), "第二次导入")

    at = open_page(PAGE)
    while at.metric[0].label != "距组织覆盖率100%还差":
        next_step(at)
    at.selectbox(key="briefing_after").select(2).run()  # 初始数据 → 第二次导入
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["新实现组织覆盖"] == "1个" and metrics["消除空白点"] == "1个" and metrics["新增空白点"] == "0个"
    script = map_script(at)
    assert "change-mark" in script and f"{round(unit['x'], 6)}" in script
    assert appears("覆盖率变化的网格", script) and appears(f"{unit['grid_id']}）：组织覆盖率上升", script)
    charts = [e for e in at.main if type(e).__name__ == "UnknownElement" and e.type == "vega_lite_chart"]
    assert len(charts) == 2, "rates over time, and the grids that moved"
    assert "与“初始数据”相比，组织覆盖率上升" in sentence(at)


def test_with_one_snapshot_the_page_says_two_are_needed():
    at = open_page(PAGE)
    for _ in range(7):
        next_step(at)
    assert any("至少需要两次导入的快照" in i.value for i in at.info)


# --- real data: the 演示 view by default ---------------------------------------------------------


@pytest.fixture
def real_county(tmp_path, monkeypatch):
    """The demo county copied without its README (so not marked 虚构示例数据): real data as far
    as the dashboard can tell. Returns the unit names it must not show."""
    folder = tmp_path / "real"
    shutil.copytree(DEMO, folder, ignore=shutil.ignore_patterns("README.txt"))
    monkeypatch.setenv("COUNTY_FOLDER", str(folder))
    monkeypatch.setenv("COUNTY_STORE", str(tmp_path / "real.gpkg"))
    return sorted(set(load_folder(folder).units["name"].dropna()))


def test_real_data_is_presented_anonymised_unless_the_presenter_asks(real_county, downloads):
    at = open_page(PAGE)
    assert "演示视图" in position(at)
    assert not any("虚构示例数据" in m.value for m in at.markdown)
    seen = []
    while True:
        seen += [screen_text(at), map_script(at)]
        if at.button(key="briefing_next").disabled:
            break
        next_step(at)
    seen.append(downloads[offered(downloads, ".html")].decode())
    everything = "\n".join(seen)
    shown = [name for name in real_county if appears(name, everything)]
    assert not shown, f"real unit names on the projector: {shown[:5]}"
    assert appears("某", map_script(at)), "the units are drawn, under masked names"

    at.checkbox(key="briefing_real_names").check().run()  # an internal meeting
    at.button(key="briefing_previous").click().run()  # 党群服务中心: the units outside every radius
    assert "演示视图" not in position(at)
    assert sum(appears(name, map_script(at)) for name in real_county) > 100, "the check above could see names"


def test_a_demo_account_always_presents_anonymised(own_store):
    at = signed_in("演示员", "demo", page=PAGE)
    assert "演示视图" in position(at)
    assert not at.checkbox, "a 演示 account cannot ask for real names"
    while not at.button(key="briefing_next").disabled:
        next_step(at)
    assert title(at) == "距100%目标的进度"


def test_a_grid_leader_presents_their_own_grid(own_store, report):
    grid = "QH-01-03"
    at = signed_in("网格长甲", "grid_leader", grids=(grid,), page=PAGE)
    titles, figures = [], []
    while True:
        titles.append(title(at))
        figures.append(figure(at))
        if at.button(key="briefing_next").disabled:
            break
        next_step(at)
    assert f"网格：青禾街道第3网格（{grid}）" in titles
    assert ("网格组织覆盖率", percent(report["grids"][grid]["org_coverage_rate"])) in figures
    assert title(at) == "距100%目标的进度"
    uncovered = report["grids"][grid]["units"] - report["grids"][grid]["own"] - report["grids"][grid]["joint"]
    assert figure(at) == ("距组织覆盖率100%还差", f"{uncovered}个单位"), "their grid's figures, not the county's"


# --- take-away files ---------------------------------------------------------------------------


def offered(downloads, suffix: str) -> str:
    """The name of the latest file offered for download that ends with ``suffix``."""
    return [name for name in downloads.makers if name.endswith(suffix)][-1]


def test_the_take_away_files_are_made_from_the_view_on_screen(downloads, demo):
    at = open_page(PAGE)
    while not title(at).startswith("网格："):
        next_step(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["下载离线地图（HTML）", "下载汇报材料（PDF）", "下载当前视图图片（PNG 1920×1080）"]
    for suffix in (".html", ".pdf", ".png"):
        assert "虚构示例数据" in offered(downloads, suffix), "every file says the data is fictional"

    grid = next(s for s in default_steps(demo) if s.kind == "grid").target
    html = downloads[offered(downloads, ".html")]
    assert html.lstrip().lower().startswith(b"<!doctype html") and "虚构示例数据".encode() in html
    assert grid in offered(downloads, ".html") and html.count(f'"grid": "{grid}"'.encode()) > 0
    pdf = downloads[offered(downloads, ".pdf")]
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 2, "the county, then the grid on screen"
    png = downloads[offered(downloads, ".png")]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(png)).size == (1920, 1080)

    from services.accounts import audit_log

    exported = set(audit_log(open_store()).query("action == '导出'")["detail"])
    assert {offered(downloads, suffix) for suffix in (".html", ".pdf", ".png")} <= exported


def test_each_steps_map_is_drawn_while_the_presenter_talks_over_the_one_before(own_store):
    """The map shown after 下一步 was rendered before the click, in the background, for every
    step of the default sequence, the progress view (with its before/after marks) included."""
    import threading
    import time

    from dashboard import widgets

    def presenter_talks():  # until the background work for the next step is done
        deadline = time.monotonic() + 120
        while any(t.name in ("briefing-next-step", "render-map-ahead") for t in threading.enumerate()):
            assert time.monotonic() < deadline, "the next step's map was not ready in time"
            time.sleep(0.05)

    at = open_page(PAGE)
    while not at.button(key="briefing_next").disabled:
        presenter_talks()
        ready = {rendered.script for rendered in widgets.RENDERED_MAPS.maps()}
        next_step(at)
        assert map_script(at) in ready, f"{title(at)}: drawn only after the click"
    assert "进度" in title(at)
