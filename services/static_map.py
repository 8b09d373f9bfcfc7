"""The map as a picture: a PNG for slides (1920×1080) and for the PDF brief.

Why a separate drawing and not a screenshot of the web map: a screenshot needs a browser on
the server and tiles from the network; county intranets have neither. matplotlib (with
geopandas for the shapes) is the well-kept, pure-Python-installable way to draw the same
layers offline, in any size, exactly to the pixel. No tiles: the grids, the county outline
and the town names carry the geography.

It shows what the web map's default view tells a leader: grids filled by organisation
coverage rate, in the same purple ramp, units as points in the same colour-blind-safe status
colours (imported from :mod:`services.palette`, shared with the dashboard, so
the picture can never drift from the page's colours), priority blind spots as
larger points with a thick black ring, parks and service centres, a legend, a title, the date
and, for the demo county, 虚构示例数据.

Chinese text is drawn with Noto Sans CJK SC (Debian's fonts-noto-cjk; the same font the
browser tests install): matplotlib's default DejaVu has no Chinese glyphs and would draw
empty boxes, so a missing font is an error (:class:`FontMissing`), never a silent fallback.
Text that came from data (names, titles) is drawn with ``parse_math=False``: a ``$`` in a
name must not switch matplotlib to formula mode.
"""

from __future__ import annotations

import datetime
import io
import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
from matplotlib import font_manager, patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from pyproj import Transformer

from services import palette
from services.analysis import Analysis
from services.coverage import STATUS_LABELS
from services.rates import coverage_rates, totals
from services.workspace import FICTIONAL_NOTE

CJK_FAMILY = "Noto Sans CJK SC"
CJK_FILES = (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
             Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"))
GRID_EDGE = "#54278f"
GRID_ALPHA = 0.6  # the grid fill's opacity, the same in the legend
_TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)


class FontMissing(RuntimeError):
    """The Chinese font is not installed (Debian package fonts-noto-cjk)."""


def cjk_family() -> str:
    """The family name of the Chinese font matplotlib is to use, registering Debian's files
    when matplotlib's font cache was built before the font was installed."""
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    if CJK_FAMILY not in names:
        for path in CJK_FILES:
            if path.is_file():
                font_manager.fontManager.addfont(str(path))
        names = {entry.name for entry in font_manager.fontManager.ttflist}
    if CJK_FAMILY not in names:
        raise FontMissing("未找到中文字体 Noto Sans CJK SC，无法生成图片：请安装 Debian 软件包 fonts-noto-cjk"
                          "（apt-get install fonts-noto-cjk）")
    return CJK_FAMILY


def cjk_font_files() -> dict[str, tuple[str, int]]:
    """The files of the Chinese font, regular and bold, as (path, face index in the .ttc
    collection) for a PDF writer; raises :class:`FontMissing`."""
    family = cjk_family()
    faces = {}
    for entry in font_manager.fontManager.ttflist:
        if entry.name == family and entry.style == "normal":
            weight = "bold" if int(entry.weight) >= 600 else "regular"
            faces.setdefault(weight, (entry.fname, int(entry.index)))
    if "regular" not in faces:
        raise FontMissing("未找到中文字体 Noto Sans CJK SC 常规体：请安装 Debian 软件包 fonts-noto-cjk")
    faces.setdefault("bold", faces["regular"])
    return faces


def today_text(day: datetime.date | None = None) -> str:
    """A date as written on the files (2026年7月1日)."""
    day = day or datetime.date.today()
    return f"{day.year}年{day.month}月{day.day}日"


def percent(value) -> str:
    """A rate as on screen (two decimals, "—" when there are no units); the same format as
    ``dashboard.widgets.percent``, which cannot be imported here (it imports Streamlit)."""
    return "—" if value is None or value != value else f"{value * 100:.2f}%"


def focus_area(analysis: Analysis, focus: str | None) -> tuple[str, pd.DataFrame, gpd.GeoDataFrame]:
    """What a map or a brief page is about: ("county" | "town" | "grid", its units, its grids).

    ``focus`` is a grid id, else a town name; ``None`` is everything in the analysis."""
    grids = analysis.county.grids
    units = analysis.units
    if focus is None:
        return "county", units, grids
    if focus in set(grids["id"]):
        return "grid", units[units["grid_id"] == focus], grids[grids["id"] == focus]
    if focus in set(grids["town"].dropna()) or focus in set(units["town_name"].dropna()):
        return "town", units[units["town_name"] == focus], grids[grids["town"] == focus]
    raise ValueError(f"地图范围“{focus}”既不是本范围内的乡镇街道，也不是网格编号")


def map_png(analysis: Analysis, *, width: int = 1920, height: int = 1080, focus: str | None = None,
            title: str, fictional: bool, day: datetime.date | None = None, header: bool = True,
            text_scale: float = 1.0) -> bytes:
    """The map of the analysis (or of one town or grid, ``focus``) as a PNG of exactly
    ``width``×``height`` pixels, with legend, title, date and the fictional-data label.

    ``header=False`` leaves out the title band (title, date and figures), for a page that
    prints them itself (the PDF brief); the fictional-data label stays on the picture.
    ``text_scale`` enlarges the legend and labels (a picture printed 18 cm wide needs larger
    letters than one projected on a wall)."""
    family = cjk_family()
    kind, units, area_grids = focus_area(analysis, focus)
    scale = min(width / 1920, height / 1080)
    figure = Figure(figsize=(width / 100, height / 100), dpi=100, facecolor="white")
    FigureCanvasAgg(figure)  # no pyplot: no global state shared between Streamlit sessions
    text_style = {"family": family, "parse_math": False}

    # Title band, legend panel on the right, the map in the rest.
    if header:
        row = totals(units)
        figure.text(0.012, 0.955, title, fontsize=30 * scale, weight="bold", va="center", **text_style)
        figure.text(0.012, 0.905, f"{today_text(day)} · 单位{int(row['units']):,}个 · 党的组织覆盖率"
                    f"{percent(row['org_coverage_rate'])} · 党的工作覆盖率{percent(row['work_coverage_rate'])}"
                    f" · 空白点{int(row['blind']):,}个（重点{int(row['priority_blind']):,}个）",
                    fontsize=17 * scale, color="#333333", va="center", **text_style)
    if fictional:
        figure.text(0.988, 0.955, FICTIONAL_NOTE, fontsize=24 * scale, weight="bold", color="white",
                    ha="right", va="center", bbox={"boxstyle": "round,pad=0.35", "facecolor": "#B8001F",
                                                   "edgecolor": "none"}, zorder=10, **text_style)
    axes = figure.add_axes((0.008, 0.01, 0.74, 0.86 if header else 0.98))
    axes.set_axis_off()
    _draw_map(axes, analysis, kind, units, area_grids, scale, family, text_scale)
    _legends(figure, analysis, scale * text_scale, family, header)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, facecolor="white")
    return buffer.getvalue()


def _mercator(frame: gpd.GeoDataFrame | gpd.GeoSeries):
    """Web Mercator, as the web map shows it (shapes keep the proportions people know)."""
    return frame.to_crs(3857)


def _draw_map(axes, analysis: Analysis, kind: str, units: pd.DataFrame, area_grids: gpd.GeoDataFrame,
              scale: float, family: str, text_scale: float) -> None:
    county = analysis.county
    all_grids = _mercator(county.grids)
    grids = all_grids.loc[area_grids.index]
    _frame(axes, grids.total_bounds if len(grids) else all_grids.total_bounds)

    if kind != "county":  # the neighbouring grids, for orientation
        all_grids.plot(ax=axes, facecolor="#f4f4f4", edgecolor="#bdbdbd", linewidth=0.6 * scale, zorder=1)
    rates = coverage_rates(analysis.units, by="grid_id", groups=county.grids["id"])["org_coverage_rate"]
    fills = [palette.coverage_colour(rates.get(grid_id)) for grid_id in grids["id"]]
    grids.plot(ax=axes, color=fills, alpha=GRID_ALPHA, zorder=2)
    grids.plot(ax=axes, facecolor="none", edgecolor=GRID_EDGE, linewidth=(0.8 if kind == "county" else 1.4) * scale,
               zorder=3)
    boundary = county.boundary
    if kind == "county" and boundary is not None and len(boundary):
        _mercator(boundary).plot(ax=axes, facecolor="none", edgecolor="#3f007d", linewidth=2.4 * scale, zorder=4)
    if county.parks is not None and len(county.parks):
        _mercator(county.parks).plot(ax=axes, facecolor="none", edgecolor=palette.PLACE_COLOURS["park"],
                                     linewidth=2.2 * scale, linestyle=(0, (6, 4)), zorder=5)

    placed = units[units["x"].notna()]
    x, y = _TO_MERCATOR.transform(placed["x"].to_numpy(dtype=float), placed["y"].to_numpy(dtype=float))
    size = (16 if kind == "county" else 60) * scale ** 2
    for status, colour in palette.STATUS_COLOURS.items():
        chosen = (placed["status"] == status).to_numpy() & ~placed["priority_blind"].to_numpy(dtype=bool)
        edge = "#000000" if status == "blind" else "#333333"
        axes.scatter(x[chosen], y[chosen], s=size, c=colour, edgecolors=edge, linewidths=0.5 * scale, zorder=6)
    priority = placed["priority_blind"].to_numpy(dtype=bool)
    axes.scatter(x[priority], y[priority], s=size * 3.2, c=palette.STATUS_COLOURS["blind"], edgecolors="#000000",
                 linewidths=2.2 * scale, zorder=7)

    if county.centres is not None and len(county.centres):
        centres = _mercator(county.centres.geometry)
        axes.scatter(centres.x, centres.y, marker="*", s=(260 if kind == "county" else 420) * scale ** 2,
                     c=palette.PLACE_COLOURS["centre"], edgecolors="white", linewidths=0.8 * scale, zorder=8)
    _labels(axes, county, kind, grids, scale * text_scale, family)


def _frame(axes, bounds) -> None:
    """Look at ``bounds`` (plus a margin), widened to the axes' shape so that one metre is as
    long across as up and the map fills its box."""
    minx, miny, maxx, maxy = bounds
    if not all(map(math.isfinite, bounds)):  # nothing to show (an empty scope): a blank frame
        minx, miny, maxx, maxy = 0.0, 0.0, 1.0, 1.0
    pad = max(maxx - minx, maxy - miny, 1.0) * 0.04
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    box = axes.get_position()
    figure_width, figure_height = axes.figure.get_size_inches()
    shape = (box.width * figure_width) / (box.height * figure_height)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_w, half_h = (maxx - minx) / 2, (maxy - miny) / 2
    if half_w / half_h < shape:
        half_w = half_h * shape
    else:
        half_h = half_w / shape
    axes.set_xlim(cx - half_w, cx + half_w)
    axes.set_ylim(cy - half_h, cy + half_h)
    axes.set_aspect("equal", adjustable="box")


def _labels(axes, county, kind: str, grids: gpd.GeoDataFrame, scale: float, family: str) -> None:
    """Town names on the county map (60 grid names would bury it), grid names on a town's or a
    grid's map; a name wider than its area is left out (a town centre's small grids would
    otherwise print their names over each other and over the units)."""
    halo = [patheffects.withStroke(linewidth=3.5 * scale, foreground="white")]
    if kind == "county":
        towns = county.towns
        if towns is None or not len(towns) or "geometry" not in towns:
            return
        points = _mercator(towns.geometry).representative_point()
        names, size, colour = towns["name"], 19, "#1a1a1a"
    else:
        points = grids.geometry.representative_point()
        names, size, colour = grids["name"], 15 if kind == "town" else 20, "#3f007d"
    x0, x1 = axes.get_xlim()
    pixels_per_metre = axes.get_position().width * axes.figure.get_size_inches()[0] * axes.figure.dpi / (x1 - x0)
    widths = (grids.geometry.bounds["maxx"] - grids.geometry.bounds["minx"]).to_numpy() if kind != "county" else None
    for i, (point, name) in enumerate(zip(points, names)):
        if name is None or name != name:
            continue
        text_px = len(str(name)) * size * scale * axes.figure.dpi / 72
        if widths is not None and len(grids) > 1 and widths[i] * pixels_per_metre < 0.8 * text_px:
            continue
        axes.text(point.x, point.y, str(name), fontsize=size * scale, weight="bold", color=colour, ha="center",
                  va="center", family=family, parse_math=False, path_effects=halo, zorder=9, clip_on=True)


def _legends(figure: Figure, analysis: Analysis, scale: float, family: str, header: bool) -> None:
    """Three legends in the right-hand panel: unit status, grid coverage, places."""
    font = {"family": family, "size": 15 * scale}
    title = {"family": family, "size": 16 * scale, "weight": "bold"}

    def point(colour, label, edge="#333333", width=0.5, size=11):
        return Line2D([], [], marker="o", linestyle="none", markersize=size * scale, markerfacecolor=colour,
                      markeredgecolor=edge, markeredgewidth=width * scale, label=label)

    statuses = [point(palette.STATUS_COLOURS[s], STATUS_LABELS[s], "#000000" if s == "blind" else "#333333")
                for s in palette.STATUS_COLOURS]
    statuses.append(point(palette.STATUS_COLOURS["blind"], palette.PRIORITY_LABEL, "#000000", 2.4, 17))
    coverage = [Patch(facecolor=c, edgecolor=GRID_EDGE, alpha=GRID_ALPHA, label=label)
                for c, label in palette.coverage_bin_labels()]
    coverage.append(Patch(facecolor=palette.NO_UNITS_COLOUR, edgecolor=GRID_EDGE, alpha=GRID_ALPHA, label="无单位"))
    radius = analysis.assessment.policy.service_radius_m
    places = [Line2D([], [], marker="*", linestyle="none", markersize=18 * scale,
                     markerfacecolor=palette.PLACE_COLOURS["centre"], markeredgecolor="white",
                     label=f"党群服务中心\n（服务半径{radius:,.0f}米）"),
              Line2D([], [], color=palette.PLACE_COLOURS["park"], linestyle=(0, (6, 4)), linewidth=2.2 * scale,
                     label="园区")]
    renderer = figure.canvas.get_renderer()
    top = 0.86 if header else 0.9
    for handles, name in ((statuses, "单位覆盖状态"), (coverage, "网格党的组织覆盖率"), (places, "其他")):
        legend = figure.legend(handles=handles, title=name, loc="upper left", bbox_to_anchor=(0.755, top),
                               prop=font, title_fontproperties=title, frameon=False, alignment="left",
                               handlelength=2.2, borderaxespad=0)
        # Stacked by their drawn size (matplotlib does not flow several legends).
        top = figure.transFigure.inverted().transform(legend.get_window_extent(renderer))[0][1] - 0.03
