"""Spreadsheets people can open and trust: Chinese headers, frozen header row, sensible column
widths, and no cell that Excel would run as a formula.

A unit name such as ``=HYPERLINK(...)`` or ``@SUM(...)`` typed into a ledger must come back
as text and never run. In an .xlsx such a cell is written as a text cell with Excel's "quote
prefix" (shown as typed, never evaluated, and read back unchanged); in a CSV, which has no cell
types, it gets a leading apostrophe (the OWASP advice), which the ledger reader removes again.
"""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from services.actions import FLAG_LABELS
from services.analysis import unit_flag_lists
from services.coverage import STATUS_LABELS
from services.placement import PLACEMENT_LABELS

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

UNIT_COLUMNS = {
    "row": "台账行号", "name": "企业名称", "credit_code": "统一社会信用代码", "kind_label": "单位类型",
    "industry": "行业", "address": "地址", "town_name": "乡镇街道", "grid_id": "网格",
    "park_name": "园区", "building_name": "商务楼宇", "status_label": "覆盖状态", "priority_label": "重点空白点",
    "employees": "从业人员数", "formal_members": "正式党员数", "probationary_members": "预备党员数",
    "mobile_members": "流动党员数", "activists": "入党积极分子数", "org_name": "党组织名称",
    "org_type_used": "党组织类型", "instructor": "党建指导员", "mass_orgs": "群团组织",
    "reason_no_org": "未建党组织原因", "placed_label": "定位依据", "flag_labels": "问题提示",
}


def unit_table(units: pd.DataFrame) -> pd.DataFrame:
    """Units as a Chinese table (the columns people read), one row per unit."""
    table = units.assign(
        kind_label=units["kind"].map({"enterprise": "非公企业", "social_org": "社会组织"}),
        status_label=units["status"].map(STATUS_LABELS),
        priority_label=units["priority_blind"].map({True: "是", False: ""}),
        placed_label=units["placed_by"].map(PLACEMENT_LABELS).fillna("未定位"),
        flag_labels=["、".join(FLAG_LABELS.get(f, f) for f in flags) for flags in unit_flag_lists(units)],
    )
    return table[list(UNIT_COLUMNS)].rename(columns=UNIT_COLUMNS)


def _looks_like_formula(value) -> bool:
    return isinstance(value, str) and value.startswith(_FORMULA_START)


def safe_cell(value):
    """A value as written to a spreadsheet: text that Excel would read as a formula is
    prefixed with an apostrophe so it stays text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_xlsx(sheets: dict[str, pd.DataFrame], note: str | None = None) -> bytes:
    """An .xlsx workbook with one sheet per frame (header frozen, widths fitted, formulas
    neutralised). ``note`` (e.g. "虚构示例数据") goes in a first row above each header."""
    book = Workbook()
    book.remove(book.active)
    for title, frame in sheets.items():
        sheet = book.create_sheet(title=title[:31])
        offset = 0
        if note:
            sheet.append([note])
            sheet.cell(row=1, column=1).font = Font(bold=True, color="B8001F")
            offset = 1
        sheet.append([str(c) for c in frame.columns])
        for cell in sheet[offset + 1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
            cell.alignment = Alignment(vertical="center")
        formula_like = []
        for row, record in enumerate(frame.itertuples(index=False), start=offset + 2):
            values = [_plain(v) for v in record]
            formula_like.extend((row, column) for column, v in enumerate(values, start=1) if _looks_like_formula(v))
            sheet.append(values)
        for row, column in formula_like:
            cell = sheet.cell(row=row, column=column)
            cell.data_type = "s"  # text, never a formula (openpyxl guessed "f" from the leading =)
            cell.quotePrefix = True
        sheet.freeze_panes = sheet.cell(row=offset + 2, column=1)
        for index, column in enumerate(frame.columns, start=1):
            values = [str(column)] + [str(v) for v in frame[column].head(500).tolist() if v is not None]
            width = max((_display_width(v) for v in values), default=8)
            sheet.column_dimensions[get_column_letter(index)].width = min(max(8, width + 2), 60)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_csv(frame: pd.DataFrame) -> bytes:
    """CSV in UTF-8 with BOM (Excel opens it with the right encoding), formulas neutralised."""
    safe = frame.map(safe_cell) if len(frame) else frame
    return safe.to_csv(index=False).encode("utf-8-sig")


def _plain(value):
    """pandas/numpy scalars as plain Python values openpyxl understands; missing → blank."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _display_width(text: str) -> int:
    """Width in Excel character units: CJK characters count double."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
