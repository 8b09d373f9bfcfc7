"""Take-away files of the demo county, checked as the person who receives them would.

The offline map is opened from a file in Debian's chromium with the network off and every
request outside the file refused (and recorded); the slide picture is read back as an image;
the PDF brief is turned into PNG pages with pdftoppm and read back with pdftotext (poppler,
installed by scripts/test). Pictures land in screenshots/ (git-ignored): look at them.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time

import pytest
from PIL import Image

from conftest import SCREENSHOTS, screenshot
from dashboard import county_map, palette
from dashboard.takeaway import standalone_html
from services.access import Viewer, scope
from services.brief_pdf import brief_pdf
from services.rates import coverage_rates, totals
from services.static_map import map_png, percent
from services.workspace import FICTIONAL_NOTE

LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")
MAX_HTML_BYTES = 10 * 1024 * 1024


def county_view(analysis) -> county_map.MapView:
    """The county map as the 全县一张图 page shows it with no filter (its default layers)."""
    rates = coverage_rates(analysis.units, by="grid_id", groups=analysis.county.grids["id"])
    return county_map.MapView(units=analysis.units, grid_rates=rates)


def expected_overlays(analysis) -> dict[str, int]:
    """How many of each overlay the county map must draw, from the analysis itself."""
    county, units = analysis.county, analysis.units
    joint = units[(units["status"] == "joint") & units["x"].notna()]
    return {
        "path.grid-area": len(county.grids),
        ".leaflet-marker-pane .grid-label": len(county.grids),
        "path.unit-marker": int(units["x"].notna().sum()),
        "path.park-area": len(county.parks),
        "path.service-radius": len(county.centres),
        ".leaflet-marker-pane .centre-symbol": len(county.centres),
        ".leaflet-marker-pane .buildings-symbol": len(county.buildings),
        ".leaflet-marker-pane .markets-symbol": len(county.markets),
        "path.joint-link": int((joint.groupby("org_key").size() >= 2).sum()),
    }


def test_the_offline_map_opens_from_a_file_with_the_network_off_and_draws_everything(browser, demo, tmp_path):
    """A leader double-clicks the saved map on a laptop with no network: every overlay draws,
    and the page never even tries to reach anything outside the file."""
    html = standalone_html(demo, county_view(demo), fictional=True, title="青禾县 网格党建覆盖一张图")
    print(f"\nstandalone HTML of the demo county: {len(html) / 1e6:.2f} MB")
    assert len(html) <= MAX_HTML_BYTES
    path = tmp_path / "青禾县网格党建覆盖一张图.html"
    path.write_bytes(html)

    context = browser.new_context(offline=True, viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    refused, requested, errors = [], [], []

    def refuse_the_network(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", refuse_the_network)
    page = context.new_page()
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(path.as_uri())
        expected = expected_overlays(demo)
        assert all(expected.values()), expected  # the demo has every kind of overlay
        page.wait_for_function(
            "expected => Object.entries(expected).every(([css, n]) => document.querySelectorAll(css).length === n)",
            arg=expected, timeout=30_000)
        drawn = {css: page.locator(css).count() for css in expected}
        assert drawn == expected
        assert page.locator(".map-legend").is_visible()
        banner = page.locator(".takeaway-banner")
        assert banner.is_visible()
        assert FICTIONAL_NOTE in banner.inner_text() and "青禾县 网格党建覆盖一张图" in banner.inner_text()
        assert page.locator("img.leaflet-tile").count() == 0
        assert refused == []
        assert requested[0].startswith("file:")  # requests are seen: the file itself was one
        assert [url for url in requested if not url.startswith(LOCAL_SCHEMES)] == []
        assert errors == []
        screenshot(page, "takeaway_offline_map")
    finally:
        context.close()


def test_a_title_from_data_shows_as_text_in_the_offline_map(demo):
    hostile = '<img src=x onerror="alert(1)">{{ 7*7 }}'
    html = standalone_html(demo, county_view(demo), fictional=False, title=hostile).decode("utf-8")
    assert '<img src=x onerror="alert(1)">' not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#123;&#123; 7*7 &#125;&#125;" in html
    banner = re.search(r"<div class='takeaway-banner'[^>]*>(.*?)</div>", html).group(1)
    assert FICTIONAL_NOTE not in banner  # real data is not labelled as fictional


def test_the_slide_picture_is_full_hd_and_shows_the_map(demo):
    png = map_png(demo, title="青禾县 网格党建覆盖一张图", fictional=True)
    SCREENSHOTS.mkdir(exist_ok=True)
    (SCREENSHOTS / "takeaway_slide_county.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (1920, 1080)
    colours = {colour for _, colour in image.getcolors(maxcolors=1920 * 1080)}
    assert len(colours) > 100  # not blank: antialiased shapes, text and fills

    def rgb(hex_colour):
        return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))

    # Every unit status is drawn in its page colour, and the fictional label in red.
    for hex_colour in (*palette.STATUS_COLOURS.values(), "#B8001F"):
        assert rgb(hex_colour) in colours, hex_colour


def test_a_slide_of_one_town_or_one_grid(demo):
    town = map_png(demo, focus="禾丰镇", title="禾丰镇", fictional=True)
    grid = map_png(demo, focus="QH-03-02", width=1280, height=720, title="云溪镇第2网格", fictional=False)
    (SCREENSHOTS / "takeaway_slide_town.png").write_bytes(town)
    assert Image.open(io.BytesIO(town)).size == (1920, 1080)
    assert Image.open(io.BytesIO(grid)).size == (1280, 720)
    with pytest.raises(ValueError, match="既不是"):
        map_png(demo, focus="不存在的镇", title="x", fictional=True)


def pdf_pages(pdf: bytes, folder, prefix: str, dpi: int = 60) -> list:
    """The PDF's pages as PNG files, as pdftoppm renders them."""
    assert shutil.which("pdftoppm") and shutil.which("pdftotext"), "poppler-utils missing: run scripts/test"
    source = folder / f"{prefix}.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(source), str(folder / prefix)], check=True)
    return sorted(folder.glob(f"{prefix}-*.png"))


def pdf_text(pdf_path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(pdf_path), "-"], check=True,
                          capture_output=True, text=True).stdout


def test_the_pdf_brief_has_a_county_page_and_a_page_per_town(demo, tmp_path):
    started = time.perf_counter()
    pdf = brief_pdf(demo, fictional=True, county_name="青禾县")
    seconds = time.perf_counter() - started
    towns = demo.county.grids["town"].nunique()
    print(f"\nPDF brief of the demo county (county + {towns} towns): {seconds:.1f} s, {len(pdf) / 1e6:.2f} MB")

    pages = pdf_pages(pdf, tmp_path, "brief")
    assert len(pages) == 1 + towns == 9
    text = pdf_text(tmp_path / "brief.pdf")
    row = totals(demo.units)
    for expected in ("青禾县", "党的组织覆盖率", f"{int(row['units']):,}", percent(row["org_coverage_rate"]),
                     "禾丰镇", "空白点", "整改事项汇总"):
        assert expected in text, expected
    for number in range(1, len(pages) + 1):
        assert FICTIONAL_NOTE in pdf_text(tmp_path / "brief.pdf", number), f"page {number}"

    # Every font is embedded (no viewer-side substitute that could draw boxes) and maps back to text.
    fonts = subprocess.run(["pdffonts", str(tmp_path / "brief.pdf")], check=True, capture_output=True,
                           text=True).stdout.splitlines()[2:]
    assert fonts and all("NotoSansCJK" in line and " yes yes yes " in line for line in fonts), fonts
    first = pdf_pages(pdf, tmp_path, "look", dpi=110)[0]
    shutil.copy(first, SCREENSHOTS / "takeaway_brief_page1.png")


def test_a_grid_leaders_brief_shows_only_their_grid(demo, tmp_path):
    """Made from the analysis as the grid leader sees it: an overview of their grid's town
    part and a page for their grid, with their grid's figures only."""
    leader = scope(demo, Viewer("何芳婷", "grid_leader", grids=("QH-03-02",)))
    pdf = brief_pdf(leader, towns=[], grids=["QH-03-02"], fictional=True, county_name="青禾县")
    assert len(pdf_pages(pdf, tmp_path, "grid")) == 2
    text = pdf_text(tmp_path / "grid.pdf")
    units = int(totals(leader.units)["units"])
    assert units == int((demo.units["grid_id"] == "QH-03-02").sum())
    assert "网格待办" in text and "QH-03-02" in text
    assert "禾丰镇" not in text  # another town's name never appears
