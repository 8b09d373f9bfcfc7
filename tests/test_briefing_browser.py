"""汇报演示 in a real browser (Debian's chromium via playwright, no internet: tiles fail, the rest
must draw), presented with the keyboard only: → through every step, ← back, a screenshot of
each step in screenshots/briefing_step_NN.png (git-ignored): look at them.
"""

from __future__ import annotations

import pytest

from conftest import DEMO, MAP_FRAME, close_blind_spot, running_app, screenshot
from dashboard.briefing import STEP_KEYS
from services.briefing import default_steps, headline, step_view
from services.store import open_store
from services.workspace import seed_store

# Every map iframe on the page; the step's map is drawn when one of them shows exactly its
# units (the previous step's iframe may linger for a moment while Streamlit swaps them).
_MAP_DRAWN = """([frames, units, grids]) => [...document.querySelectorAll(frames)].some(f => {
    const d = f.contentDocument;
    return d && d.querySelector('.leaflet-container')
        && d.querySelectorAll('path.grid-area').length === grids
        && d.querySelectorAll('path.unit-marker').length === units; })"""


@pytest.fixture(scope="module")
def briefing_url(tmp_path_factory):
    """The app on a store of its own (the default sequence, whatever other tests saved)."""
    store = tmp_path_factory.mktemp("briefing") / "s.gpkg"
    with running_app({"COUNTY_STORE": str(store)}) as url:
        yield url


def open_briefing(page, url: str) -> None:
    """Open 汇报演示 and wait until it listens to the keys (its script has run)."""
    page.goto(f"{url}/briefing")
    page.get_by_text("第1步，共").wait_for(timeout=60_000)
    page.wait_for_function("() => typeof window.__briefingKeys === 'function'", timeout=60_000)


def press(page, key: str) -> None:
    """Press a stepping key once the button it stands for is on screen and enabled, as a
    presenter who sees the page does: the step's text arrives before the buttons (a button's
    code loads on its first use, and a rerun sends the title first), and a key pressed before
    the button is there does nothing."""
    page.wait_for_selector(f".st-key-{STEP_KEYS[key]} button:not([disabled])", timeout=60_000)
    page.keyboard.press(key)


def wait_for_map(page, units: int, grids: int) -> None:
    page.wait_for_function(_MAP_DRAWN, arg=[MAP_FRAME, units, grids], timeout=60_000, polling=100)


def test_the_presenter_steps_through_the_briefing_with_the_arrow_keys(page, briefing_url, demo):
    sequence = default_steps(demo)
    grids = len(demo.county.grids)  # drawn all, or only those around a place or grid
    open_briefing(page, briefing_url)
    for number, step in enumerate(sequence, start=1):
        if number > 1:
            press(page, "ArrowRight")
        page.get_by_text(f"第{number}步，共{len(sequence)}步").wait_for(timeout=60_000)
        said = headline(demo, step)
        page.get_by_role("heading", name=said.title).wait_for(timeout=60_000)
        page.get_by_text(said.figure_value, exact=True).wait_for(timeout=60_000)
        view = step_view(demo, step)
        wait_for_map(page, int(view.units["x"].notna().sum()), grids if view.grids is None else len(view.grids))
        if step.kind in ("towns", "progress"):  # the chart beside the map
            page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first.wait_for()
        screenshot(page, f"briefing_step_{number:02d}")

    press(page, "ArrowLeft")
    page.get_by_text(f"第{len(sequence) - 1}步，共{len(sequence)}步").wait_for(timeout=60_000)
    press(page, "PageDown")  # a presenter's clicker
    page.get_by_text(f"第{len(sequence)}步，共{len(sequence)}步").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not page.page_errors, page.page_errors


def test_the_projector_sees_no_chrome_and_a_large_figure(page, briefing_url):
    open_briefing(page, briefing_url)
    page.wait_for_selector(MAP_FRAME, state="attached", timeout=60_000)
    # The figure may arrive in a later batch than the map (each widget's code loads on first
    # use): wait for it rather than measure what is not there yet.
    page.locator('.st-key-briefing_headline [data-testid="stMetricValue"]').wait_for(timeout=60_000)
    for part in ("stSidebar", "stHeader", "stToolbar"):
        assert not page.locator(f'[data-testid="{part}"]').is_visible(), part
    sizes = page.evaluate("""() => {
        const px = e => parseFloat(getComputedStyle(e).fontSize);
        return [px(document.querySelector('[data-testid="stMetricValue"]')),
                px(document.querySelector('[data-testid="stMarkdownContainer"] p')), px(document.body)]; }""")
    figure, _, body = sizes
    assert figure >= 3 * body, sizes
    assert page.get_by_text("虚构示例数据").first.is_visible()
    page.get_by_role("link", name="退出演示").click()  # back to the app as it was
    page.get_by_role("heading", name="全县一张图").wait_for(timeout=60_000)
    page.locator('[data-testid="stSidebar"]').wait_for(state="visible", timeout=60_000)
    assert page.locator('[data-testid="stHeader"]').is_visible()


def test_arrow_keys_typed_into_a_field_do_not_change_the_step(page, briefing_url):
    open_briefing(page, briefing_url)
    page.get_by_text("编辑汇报顺序").click()
    field = page.locator(".st-key-briefing_add_kind input")
    field.click()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Escape")
    assert page.get_by_text("第1步，共").is_visible()
    page.get_by_role("heading", name="全县总览").click()  # back on the page: keys step again
    press(page, "ArrowRight")
    page.get_by_text("第2步，共").wait_for(timeout=60_000)


def test_progress_since_the_first_snapshot_is_drawn_on_the_map(page, demo, tmp_path):
    """A blind spot formed an org after the county was loaded: the progress step rings it on
    the map, and its grid, and charts the grid's rise."""
    store = open_store(str(tmp_path / "s.gpkg"))
    seed_store(store, DEMO)
    unit = close_blind_spot(store, "第二季度")
    with running_app({"COUNTY_STORE": str(tmp_path / "s.gpkg")}) as url:
        open_briefing(page, url)
        count = len(default_steps(demo))
        for number in range(2, count + 1):  # one press at a time, as a presenter does
            press(page, "ArrowRight")
            page.get_by_text(f"第{number}步，共{count}步").wait_for(timeout=60_000)
        page.get_by_role("heading", name="距100%目标的进度").wait_for(timeout=60_000)
        page.get_by_text("新实现组织覆盖", exact=True).wait_for(timeout=60_000)
        page.wait_for_function("""(frames) => [...document.querySelectorAll(frames)].some(f =>
            f.contentDocument && f.contentDocument.querySelectorAll('path.change-mark').length >= 2)""",
                               arg=MAP_FRAME, timeout=60_000)
        page.get_by_text("变化最大的网格").first.wait_for(timeout=60_000)
        assert not page.page_errors, page.page_errors
        screenshot(page, "briefing_progress_compare")
