"""The PDF brief (A4): a page for the whole view, then one page per town or chosen grid.

Each page has the area's figures (the KPI cards of the page, same function, same format),
its static map (:mod:`services.static_map`), its blind spots (priority first, the order they
are to be worked through) and what is to be done: on an overview or a town page each flag
counted with its rule and the action for its first case, on a grid page the grid's own to-do
list (:func:`services.actions.grid_todo`). The callers pass the analysis as the viewer sees
it (:func:`services.access.scope`), so a brief never shows more than the screen.

Why fpdf2 and not ReportLab: the only Chinese font Debian ships for this (fonts-noto-cjk,
Noto Sans CJK) has CFF (PostScript) outlines, which ReportLab cannot embed ("postscript
outlines are not supported"); fpdf2, a well-kept pure-Python library (fontTools underneath),
embeds and subsets them from the .ttc collection, so every character is real, searchable text
in the font the pages were proofed with, and no viewer needs a Chinese font of its own.

Every page fits on one sheet by construction: tables are one line per row (long texts end in
"…"), and each list shows as many rows as the page has room for, then says how many more
there are and where to find them. The page count is therefore 1 + towns + grids, always.
"""

from __future__ import annotations

import dataclasses
import datetime
import io

import geopandas as gpd
import pandas as pd
from fpdf import FPDF

from services.actions import FLAG_LABELS, RULE_SOURCES, grid_todo, org_actions, unit_actions
from services.analysis import Analysis
from services.blind_spots import blind_spots, filter_blind_spots
from services.coverage import GRID_FLAGS, ORG_FLAGS, RULE_FLAGS, UNIT_FLAGS
from services.rates import totals
from services.static_map import cjk_font_files, focus_area, map_png, percent, today_text
from services.workspace import FICTIONAL_NOTE

FONT = "cjk"
RED = (184, 0, 31)
GREY = (90, 90, 90)
PAGE_W, PAGE_H, MARGIN = 210.0, 297.0, 12.0
CONTENT_W = PAGE_W - 2 * MARGIN
BOTTOM = PAGE_H - 14.0  # the footer sits below
ROW_H = 5.0
MAP_PX = (1600, 760)  # the picture's pixels; printed CONTENT_W wide (≈ 220 dpi)
MAX_TODO_ROWS = 8


def brief_pdf(analysis: Analysis, *, towns: list[str] | None = None, grids: list[str] | None = None,
              fictional: bool, county_name: str, day: datetime.date | None = None) -> bytes:
    """The brief as PDF bytes: an overview page, then a page for each of ``towns`` (default:
    every town in the analysis, unless ``grids`` are chosen) and each of ``grids``."""
    day = day or datetime.date.today()
    if towns is None:
        towns = [] if grids else _towns(analysis)
    grids = list(grids or [])
    spots = blind_spots(analysis)
    pdf = _Brief(county_name, today_text(day), fictional)
    pdf.add_page()
    _page(pdf, analysis, None, "总览", _overview_note(analysis), spots, day)
    for town in towns:
        town_grids = focus_area(analysis, town)[2]
        pdf.add_page()
        _page(pdf, analysis, town, f"乡镇街道：{town}", f"网格{len(town_grids)}个", spots, day)
    names = analysis.county.grids.set_index("id")
    for grid_id in grids:
        focus_area(analysis, grid_id)  # an unknown grid is an error, not an empty page
        grid = names.loc[grid_id]
        leader = grid.get("leader")
        leader = leader if isinstance(leader, str) and leader.strip() else "未配备"
        pdf.add_page()
        _page(pdf, analysis, grid_id, f"网格：{grid['name']}（{grid_id}）",
              f"所属乡镇街道：{_text(grid.get('town')) or '—'} · 网格长：{leader}", spots, day)
    return bytes(pdf.output())


def _towns(analysis: Analysis) -> list[str]:
    """The towns of the analysis, in the order of the county's town layer."""
    present = list(dict.fromkeys(analysis.county.grids["town"].dropna()))
    towns = analysis.county.towns
    if towns is None or "name" not in towns:
        return present
    order = {name: i for i, name in enumerate(towns["name"])}
    return sorted(present, key=lambda name: order.get(name, len(order)))


def _overview_note(analysis: Analysis) -> str:
    grids = analysis.county.grids
    return f"范围：{grids['town'].nunique()}个乡镇街道、{len(grids)}个网格"


class _Brief(FPDF):
    """A4 portrait pages with the brief's header (title, date, 虚构示例数据) and page numbers."""

    def __init__(self, county_name: str, date_text: str, fictional: bool):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.county_name, self.date_text, self.fictional = county_name, date_text, fictional
        fonts = cjk_font_files()
        for style, weight in (("", "regular"), ("B", "bold")):
            path, index = fonts[weight]
            self.add_font(FONT, style=style, fname=path, collection_font_number=index)
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)  # every page is laid out to fit (see the module docstring)
        self.set_title(f"{county_name}网格党建覆盖简报")
        self.set_creator("网格党建覆盖一张图")
        self.set_lang("zh-CN")

    def header(self):
        self.set_xy(MARGIN, 8)
        self.set_font(FONT, "B", 10)
        self.set_text_color(0, 0, 0)
        self.cell(120, 6, _fit(self, f"{self.county_name} 网格党建覆盖简报", 120))
        self.set_font(FONT, "", 9)
        self.set_text_color(*GREY)
        if self.fictional:
            self.cell(CONTENT_W - 150, 6, self.date_text, align="R")
            self.set_font(FONT, "B", 9)
            self.set_fill_color(*RED)
            self.set_text_color(255, 255, 255)
            self.cell(30, 6, FICTIONAL_NOTE, align="C", fill=True)
        else:
            self.cell(CONTENT_W - 120, 6, self.date_text, align="R")
        self.set_draw_color(200, 200, 200)
        self.line(MARGIN, 15.5, PAGE_W - MARGIN, 15.5)
        self.set_text_color(0, 0, 0)

    def footer(self):
        self.set_xy(MARGIN, PAGE_H - 11)
        self.set_font(FONT, "", 8)
        self.set_text_color(*GREY)
        if self.fictional:
            self.cell(CONTENT_W / 2, 5, f"{FICTIONAL_NOTE}：县、单位和人员均为虚构，仅供演示")
        else:
            self.cell(CONTENT_W / 2, 5, "")
        self.cell(CONTENT_W / 2, 5, f"第{self.page_no()}页，共{{nb}}页", align="R")
        self.set_text_color(0, 0, 0)


def _page(pdf: _Brief, analysis: Analysis, focus: str | None, heading: str, note: str,
          spots: pd.DataFrame, day: datetime.date) -> None:
    """One area's page: heading, KPIs, map, blind spots, to-do."""
    kind, units, area_grids = focus_area(analysis, focus)
    pdf.set_xy(MARGIN, 18)
    pdf.set_font(FONT, "B", 15)
    pdf.cell(CONTENT_W, 8, _fit(pdf, heading, CONTENT_W), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(*GREY)
    pdf.cell(CONTENT_W, 5, _fit(pdf, note, CONTENT_W), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    _kpis(pdf, totals(units), pdf.get_y() + 1.5)

    y = pdf.get_y() + 3
    png = map_png(analysis, width=MAP_PX[0], height=MAP_PX[1], focus=focus, title=heading,
                  fictional=pdf.fictional, day=day, header=False, text_scale=1.45)
    height = CONTENT_W * MAP_PX[1] / MAP_PX[0]
    pdf.image(io.BytesIO(png), x=MARGIN, y=y, w=CONTENT_W, h=height)
    pdf.set_draw_color(200, 200, 200)
    pdf.rect(MARGIN, y, CONTENT_W, height)
    pdf.set_xy(MARGIN, y + height + 0.5)
    unplaced = int(units["x"].isna().sum())
    pdf.set_font(FONT, "", 7.5)
    pdf.set_text_color(*GREY)
    pdf.cell(CONTENT_W, 4, "图中不含坐标无法确定的单位" + (f"{unplaced}个" if unplaced else "（无）")
             + "；网格按党的组织覆盖率着色，粗黑圈为重点空白点。", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)

    if kind == "county":
        area_spots = spots
    elif kind == "town":
        area_spots = filter_blind_spots(spots, towns=[focus])
    else:
        area_spots = filter_blind_spots(spots, grids=[focus])
    todo = grid_todo(analysis, focus) if kind == "grid" else todo_summary(_area(analysis, units, area_grids))
    todo_rows = min(len(todo), MAX_TODO_ROWS)
    todo_height = 9 + ROW_H * (max(todo_rows, 1) + 1) + (4 if len(todo) > todo_rows else 0)
    room = BOTTOM - pdf.get_y() - 3 - todo_height - 9 - ROW_H - 4
    _blind_spot_table(pdf, area_spots, max(int(room // ROW_H), 3))
    if kind == "grid":
        _grid_todo_table(pdf, todo, todo_rows)
    else:
        _todo_summary_table(pdf, todo, todo_rows)


def _kpis(pdf: _Brief, row: pd.Series, y: float) -> None:
    """The nine figures of the page's KPI cards, formatted as on screen."""
    counts = [("单位总数", row["units"]), ("单独组建", row["own"]), ("联合组建", row["joint"]),
              ("工作覆盖", row["work"]), ("空白点", row["blind"]), ("重点空白点", row["priority_blind"])]
    rates = [("党的组织覆盖率", percent(row["org_coverage_rate"])),
             ("党的工作覆盖率", percent(row["work_coverage_rate"])),
             ("规上企业党组织组建率", f"{percent(row['above_scale_formation_rate'])}"
                                   f"（{int(row['above_scale_own'])}/{int(row['above_scale'])}家）")]
    gap = 2.0
    for items, top in (([(label, f"{int(value):,}") for label, value in counts], y),
                       (rates, y + 14 + gap)):
        width = (CONTENT_W - gap * (len(items) - 1)) / len(items)
        for i, (label, value) in enumerate(items):
            x = MARGIN + i * (width + gap)
            pdf.set_fill_color(244, 242, 250)
            pdf.rect(x, top, width, 14, style="F")
            pdf.set_xy(x + 2, top + 1)
            pdf.set_font(FONT, "", 8)
            pdf.set_text_color(*GREY)
            pdf.cell(width - 4, 4.5, label)
            pdf.set_xy(x + 2, top + 6)
            pdf.set_font(FONT, "B", 13)
            pdf.set_text_color(*(RED if label in ("空白点", "重点空白点") else (0, 0, 0)))
            pdf.cell(width - 4, 7, _fit(pdf, value, width - 4))
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(MARGIN, y + 2 * 14 + gap)


def _section(pdf: _Brief, title: str) -> None:
    pdf.set_xy(MARGIN, pdf.get_y() + 3)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(CONTENT_W, 6, _fit(pdf, title, CONTENT_W), new_x="LMARGIN", new_y="NEXT")


def _table(pdf: _Brief, columns: list[tuple[str, float]], rows: list[list[str]]) -> None:
    """A table of one line per row (long cells end in …), header shaded."""
    pdf.set_font(FONT, "B", 8)
    pdf.set_fill_color(235, 232, 245)
    pdf.set_draw_color(210, 210, 210)
    for label, width in columns:
        pdf.cell(width, ROW_H, _fit(pdf, label, width), border=1, fill=True)
    pdf.ln(ROW_H)
    pdf.set_font(FONT, "", 7.5)
    for row in rows:
        for (_, width), value in zip(columns, row):
            pdf.cell(width, ROW_H, _fit(pdf, value, width), border=1)
        pdf.ln(ROW_H)


def _more(pdf: _Brief, text: str) -> None:
    pdf.set_font(FONT, "", 7.5)
    pdf.set_text_color(*GREY)
    pdf.cell(CONTENT_W, 4, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def _blind_spot_table(pdf: _Brief, spots: pd.DataFrame, limit: int) -> None:
    priority = int(spots["priority"].sum())
    _section(pdf, f"空白点（共{len(spots):,}个，其中重点空白点{priority:,}个；重点优先、从业人员多的优先）")
    if spots.empty:
        _more(pdf, "无空白点。")
        return
    shown = spots.head(limit)
    columns = [("序号", 9), ("企业名称", 50), ("网格", 27), ("从业人员", 15), ("重点原因", 31),
               ("未建党组织原因", 26), ("建议选派指导员", 28)]
    rows = [[str(i + 1), _text(s["name"]), _text(s["grid_name"]) or _text(s["grid_id"]), f"{int(s['employees']):,}",
             _text(s["priority_reason"]) or "—", _text(s["reason"]), _text(s["nearest_available_instructor"]) or "—"]
            for i, (_, s) in enumerate(shown.iterrows())]
    _table(pdf, columns, rows)
    if len(spots) > len(shown):
        _more(pdf, f"另有{len(spots) - len(shown):,}个空白点未列出，见系统“空白点”页或导出的空白点台账。")


def _todo_summary_table(pdf: _Brief, todo: pd.DataFrame, limit: int) -> None:
    _section(pdf, f"整改事项汇总（{len(todo)}类问题）")
    if todo.empty:
        _more(pdf, "未发现需要整改的问题。")
        return
    columns = [("事项", 34), ("数量", 14), ("依据", 28), ("整改要求（首例）", CONTENT_W - 76)]
    _table(pdf, columns, [[r["事项"], f"{int(r['数量']):,}", r["依据"], r["示例"]]
                          for _, r in todo.head(limit).iterrows()])
    if len(todo) > limit:
        _more(pdf, f"另有{len(todo) - limit}类问题未列出，见系统各页的问题提示。")


def _grid_todo_table(pdf: _Brief, todo: pd.DataFrame, limit: int) -> None:
    _section(pdf, f"网格待办（{len(todo)}项，重点优先）")
    if todo.empty:
        _more(pdf, "本网格暂无待办事项。")
        return
    columns = [("对象", 46), ("事项", CONTENT_W - 82), ("依据", 36)]
    _table(pdf, columns, [[_text(r["对象"]), r["事项"], r["依据"]] for _, r in todo.head(limit).iterrows()])
    if len(todo) > limit:
        _more(pdf, f"另有{len(todo) - limit}项待办未列出，见系统“网格”页。")


# --- the to-do summary --------------------------------------------------------------------


def todo_summary(analysis: Analysis) -> pd.DataFrame:
    """Each flag raised in the analysis: 事项 (its label), 数量 (flagged units, orgs, grids…,
    each counted once as in :meth:`~services.coverage.Assessment.flag_counts`), 依据 (the
    rule's source) and 示例 (the action for its first case, from :mod:`services.actions`,
    with that case's own figures). Rules first, in the order of the rules, then ledger checks."""
    assessment = analysis.assessment
    counts = assessment.flag_counts()
    units = assessment.units.sort_values(["priority_blind", "employees", "row"], ascending=[False, False, True],
                                         kind="stable")
    checks = [flag for flag in UNIT_FLAGS if flag not in RULE_FLAGS and f"flag_{flag}" in units]
    rows = []
    for flag in (*RULE_FLAGS, *checks):
        count = counts.get(flag)
        if count is None:
            count = int(units[f"flag_{flag}"].sum())
        if count:
            rows.append((FLAG_LABELS.get(flag, flag), count, RULE_SOURCES.get(flag, "台账核实"),
                         _first_case(analysis, units, flag)))
    return pd.DataFrame(rows, columns=["事项", "数量", "依据", "示例"])


def _first_case(analysis: Analysis, units: pd.DataFrame, flag: str) -> str:
    """"Who: what to do" for the first thing carrying ``flag``."""
    assessment = analysis.assessment
    policy = assessment.policy
    column = f"flag_{flag}"
    if column in units and units[column].any():
        unit = units[units[column]].iloc[0]
        texts = unit_actions(unit, [flag], policy)
        return f"{_text(unit['name'])}：{texts[0]}" if texts else f"{_text(unit['name'])}：请核实台账"
    if flag in ORG_FLAGS:
        orgs = assessment.orgs[assessment.orgs[column]]
        # Only this flag set, so org_actions gives this flag's action alone.
        org = orgs.iloc[0].copy()
        for other in ORG_FLAGS:
            org[f"flag_{other}"] = other == flag
        texts = org_actions(org, policy)
        return f"{_text(org['name'])}：{texts[0]}" if texts else _text(org["name"])
    if flag in GRID_FLAGS:
        grid = assessment.grids[assessment.grids[column]].iloc[0]
        # grid_todo words the grid's own actions; pick the one about this flag.
        keyword = "网格长" if flag == "grid_without_leader" else "网格党支部"
        todo = grid_todo(analysis, grid["id"])
        texts = todo.loc[(todo["对象"] == "网格") & todo["事项"].str.contains(keyword), "事项"]
        return f"{_text(grid['name'])}：{texts.iloc[0]}" if len(texts) else _text(grid["name"])
    if flag == "instructor_overload":
        person = assessment.instructors[assessment.instructors[column]].iloc[0]
        return (f"{_text(person['name'])}：联系{int(person['units'])}个单位，超过{policy.instructor_max_units}个，"
                "应调整或增派指导员")
    if flag == "centre_too_small":
        centre = assessment.centres[assessment.centres[column]].iloc[0]
        area = centre.get("area_m2")
        area_text = "" if area is None or area != area else f"面积{area:,.0f}㎡，"
        return f"{_text(centre['name'])}：{area_text}低于{centre['minimum_area_m2']:,.0f}㎡标准，应扩建或调整"
    if flag == "park_without_centre":
        park = assessment.parks[assessment.parks[column]].iloc[0]
        return f"{_text(park['name'])}：园区内无党群服务中心，应建立"
    return "—"


def _area(analysis: Analysis, units: pd.DataFrame, grids: gpd.GeoDataFrame) -> Analysis:
    """The analysis cut to one area's units and grids, for counting its flags: the orgs of its
    units, the instructors serving them, the centres and parks inside its grids."""
    assessment = analysis.assessment
    if len(units) == len(assessment.units) and len(grids) == len(analysis.county.grids):
        return analysis
    keys = set(units["org_key"].dropna()) | set(units["covering_org"].dropna())
    shape = grids.geometry.union_all() if len(grids) else None
    county = analysis.county

    def inside(layer, table):
        if layer is None or shape is None or not len(table):
            return table.iloc[0:0]
        return table[layer.geometry.intersects(shape).to_numpy()]

    cut = dataclasses.replace(
        assessment, units=units, orgs=assessment.orgs[assessment.orgs["org_key"].isin(keys)],
        grids=assessment.grids[assessment.grids["id"].isin(set(grids["id"]))],
        instructors=assessment.instructors[assessment.instructors["name"].isin(set(units["instructor"].dropna()))],
        centres=inside(county.centres, assessment.centres), parks=inside(county.parks, assessment.parks))
    return Analysis(analysis.ledger, dataclasses.replace(county, grids=grids), cut)


# --- text ----------------------------------------------------------------------------------


def _text(value) -> str:
    """A data value as plain text for the PDF (blank when missing). fpdf2 writes text as
    text (no markup is read), so nothing needs escaping; line breaks become spaces so a row
    stays one line."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return " ".join(str(value).split())


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """``text`` cut to fit ``width`` mm in the current font, ending in … when cut."""
    room = width - 2 * pdf.c_margin
    if pdf.get_string_width(text) <= room:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if pdf.get_string_width(text[:middle] + "…") <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…"
