"""The blank ledger (台账) county staff download, fill in and upload again.

A template is only useful if what people type into it reads back cleanly, so it is built
from the ledger reader's own vocabulary (:mod:`services.ledger`): the header row is exactly
:data:`~services.ledger.LEDGER_COLUMNS` in order, and every column with a fixed set of values
gets an Excel drop-down with exactly the reader's constants. Staff who pick from the lists
never write a value the reader has to guess at, and a later change to the constants changes
the template with it.

The workbook has three sheets:

* ``台账`` — the sheet that is uploaded (the reader takes the first sheet): the header, one
  clearly fictional example row that reads back as a valid unit, and drop-downs and
  whole-number checks on rows 2-5000;
* ``填写说明`` — what each column means, whether it is required, its accepted values and the
  default a blank cell takes, as DOMAIN.md "Ledger template" and the reader define them;
* ``取值`` (hidden) — the drop-down lists that cannot be written inline (a list formula is at
  most 255 characters and cannot hold values with commas, such as "工会,共青团").
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from services.credit_code import make_code
from services.ledger import (
    BUSINESS_STATUSES,
    CRS_NAMES,
    KINDS,
    LEDGER_COLUMNS,
    MASS_ORGS,
    ORG_TYPES,
    REASONS_NO_ORG,
    REQUIRED_COLUMNS,
)

__all__ = ["ledger_template"]

LEDGER_SHEET = "台账"
GUIDE_SHEET = "填写说明"
LISTS_SHEET = "取值"
#: Drop-downs and number checks cover the rows a county ledger realistically fills.
LAST_ROW = 5000
_INLINE_LIMIT = 255  # Excel's limit on a list written into the validation itself

_YES_NO = ("是", "否")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")  # as services.exports
_REQUIRED_FONT = Font(bold=True, color="C00000")
_EXAMPLE_FONT = Font(italic=True, color="7F7F7F")
_DATE_FORMAT = "yyyy-mm-dd"
_TEXT_FORMAT = "@"


def _mass_org_choices() -> tuple[str, ...]:
    """Every non-empty combination of 工会/共青团/妇联, in the reader's canonical order and
    spelling ("工会,共青团"), so a unit with two or three mass orgs can still pick one entry."""
    return tuple(
        ",".join(combo)
        for size in range(1, len(MASS_ORGS) + 1)
        for combo in itertools.combinations(MASS_ORGS, size)
    )


# Columns with a drop-down: values, whether other text is allowed (warning instead of stop),
# and the short prompt Excel shows when the cell is selected (at most 255 characters).
_CHOICES: dict[str, tuple[tuple[str, ...], bool, str]] = {
    "kind": (tuple(KINDS), False, "不填按非公企业"),
    "crs": (CRS_NAMES, False, "高德/腾讯地图为GCJ02，百度地图为BD09，GPS/天地图为WGS84；不填按WGS84"),
    "business_status": (BUSINESS_STATUSES, False, "不填按正常；注销的单位不计入统计"),
    "above_scale": (_YES_NO, False, "是否规模以上企业；不填按否"),
    "fixed_premises": (_YES_NO, False, "不填按是"),
    "owner_is_member": (_YES_NO, False, "不填按否"),
    "org_type": (ORG_TYPES, False, "不填时按党组织名称识别"),
    "mass_orgs": (_mass_org_choices(), True, "可选组合；多个用英文逗号分隔；没有则不填"),
    "reason_no_org": (REASONS_NO_ORG, True, "未建党组织的单位必填；选“其他”时可写“其他：具体原因”"),
}
_COUNTS = ("employees", "formal_members", "probationary_members", "mobile_members", "activists")

# The example row: realistic, valid for the reader, and unmistakably fictional (the region
# code 539901 is the demo county's, which is not a real county; the names say 示例).
_EXAMPLE: dict[str, object] = {
    "name": "示例科技有限公司（示例行，填写时请删除）",
    "credit_code": make_code("91539901MA6XL0001"),
    "kind": "非公企业",
    "industry": "软件和信息技术服务业",
    "address": "示例县示例镇示例路1号",
    "lon": 102.712345,
    "lat": 25.051234,
    "crs": "WGS84",
    "town": "示例镇",
    "grid": "G001",
    "park": "示例县工业园区",
    "building": "示例科创大厦",
    "business_status": "正常",
    "above_scale": "是",
    "fixed_premises": "是",
    "employees": 120,
    "formal_members": 5,
    "probationary_members": 1,
    "mobile_members": 1,
    "activists": 3,
    "owner_is_member": "否",
    "org_name": "示例科技有限公司党支部",
    "org_type": "党支部",
    "org_elected": dt.date(2024, 6, 18),
    "instructor": "张示例",
    "mass_orgs": "工会,共青团,妇联",
    "reason_no_org": None,
}

_REASON_LIST = "、".join(REASONS_NO_ORG)
# What each column means, as DOMAIN.md "Ledger template" and the reader define it.
_EXPLANATIONS: dict[str, str] = {
    "name": "单位全称，与营业执照或登记证书一致。",
    "credit_code": (
        "18位，由数字和大写字母组成（不含I、O、Z、S、V），系统按国家标准GB 32100-2015核对末位校验码。"
        "为空、位数不对、校验不通过或与前面的行重复的行不计入统计。本列为文本格式，请勿改为数值格式。"
    ),
    "kind": "非公企业 或 社会组织（民办非企业单位、社会团体、基金会填“社会组织”）。不填按非公企业。",
    "industry": "所属行业，如“软件和信息技术服务业”“餐饮业”。",
    "address": "经营（办公）地址，尽量写到门牌号。",
    "lon": "经度，十进制度数（如102.712345），建议保留6位小数。没有经纬度的单位按所属楼宇、园区、网格定位；经纬度填反会自动纠正。",
    "lat": "纬度，十进制度数（如25.051234），建议保留6位小数。",
    "crs": (
        "经纬度所用坐标系：WGS84（手机GPS、天地图、奥维地图）、GCJ02（高德地图、腾讯地图）、"
        "BD09（百度地图）。不填按WGS84。系统统一换算为WGS84。"
    ),
    "town": "单位所在乡镇（街道）名称。",
    "grid": "所属网格的网格编号（如G001）或网格名称，与网格图层一致。有坐标时以坐标所在网格为准，填写不一致的会提示核对。",
    "park": "所在园区名称，与园区图层一致；不在园区的不填。",
    "building": "所在商务楼宇名称，与楼宇图层一致；不在楼宇的不填。没有经纬度时按楼宇位置定位。",
    "business_status": "正常、停产、半停产、注销之一。不填按正常。注销的单位不计入任何统计；停产、半停产的计入统计并提示。",
    "above_scale": "是否规模以上企业：是 或 否。不填按否。",
    "fixed_premises": "是否有固定经营场所：是 或 否。不填按是。",
    "employees": "从业人员人数，填0或正整数。为空、无法识别或为负数的行不计入统计。",
    "formal_members": "本单位正式党员人数，填0或正整数，不填按0。为负数的行不计入统计；超过从业人员数的会提示核对。",
    "probationary_members": "本单位预备党员人数，填0或正整数，不填按0。",
    "mobile_members": "本单位流动党员人数，填0或正整数，不填按0。超过3名的会建议建立功能型党支部。",
    "activists": "入党积极分子人数，填0或正整数，不填按0。",
    "owner_is_member": "出资人（负责人）是否党员：是 或 否。不填按否。",
    "org_name": (
        "覆盖本单位的党组织全称。几个单位由同一个联合党支部、网格党支部或区域性党组织覆盖时，"
        "各单位填写完全相同的名称。未建党组织的不填。"
    ),
    "org_type": (
        "党委、党总支、党支部、联合党支部、网格党支部、区域性党组织、功能型党支部之一。"
        "不填时按党组织名称识别。功能型党支部不计入组织覆盖。"
    ),
    "org_elected": (
        "最近一次换届（选举）的日期，按日期填写，如2024-06-18；也能识别2024/6/18、2024.6、2024年6月18日。"
        "党委任期5年，其他党组织3年，超期的会提示。"
    ),
    "instructor": "派驻本单位的党建工作指导员姓名，与党建指导员名单一致。",
    "mass_orgs": "本单位已建立的群团组织：工会、共青团、妇联；多个用英文逗号分隔（如“工会,共青团”），可从下拉列表选择组合。没有则不填。",
    "reason_no_org": (
        f"未建党组织的单位必须填写（“五个清”要求）：{_REASON_LIST}。选“其他”时写作“其他：具体原因”。"
        "已建党组织的单位不填。"
    ),
}

_GENERAL_NOTES = (
    "每个单位（非公企业或社会组织）填写一行。第1行是表头，请勿修改、删除表头或调整表头名称；"
    "第2行是示例行，填写时请删除。",
    "红色加粗的列为必填：" + "、".join(
        chinese for chinese, english in LEDGER_COLUMNS.items() if english in REQUIRED_COLUMNS) + "。",
    "统一社会信用代码为18位，系统按GB 32100-2015核对校验码。代码为空、有误或与前面的行重复的行"
    "不计入统计，会单独列出错误原因，改正后重新上传即可。",
    "台账修改后可重新上传：单位按统一社会信用代码识别，同一代码的单位以新上传的内容为准，"
    "请勿随意更改已有单位的代码。",
    "经纬度的获取：高德地图坐标拾取器（lbs.amap.com/tools/picker）得到GCJ02坐标；"
    "百度地图拾取坐标系统（api.map.baidu.com/lbsapi/getpoint）得到BD09坐标；"
    "手机GPS、天地图、奥维地图得到WGS84坐标。请在“坐标系”列填写对应的坐标系。",
    "有下拉箭头的列请从列表中选择；人数列只能填0或正整数。"
    "群团组织、未建党组织原因两列也可以手工填写（如“其他：具体原因”）。",
    "文件保存为.xlsx上传，也可另存为CSV（UTF-8或GBK编码）上传。",
)


def ledger_template(fictional_note: str | None = None) -> bytes:
    """The ledger template as .xlsx bytes, ready for a download button.

    Parameters
    ----------
    fictional_note
        A line such as "虚构示例数据", shown in red at the top of the 填写说明 sheet (the demo
        marks everything it shows). The 台账 sheet keeps the header in row 1 so the file
        uploads unchanged.
    """
    book = Workbook()
    ledger = book.active
    ledger.title = LEDGER_SHEET
    guide = book.create_sheet(GUIDE_SHEET)
    lists = book.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    _write_ledger_sheet(ledger, lists)
    _write_guide_sheet(guide, fictional_note)
    book.active = 0
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the 台账 sheet -------------------------------------------------------------------------


def _write_ledger_sheet(sheet: Worksheet, lists: Worksheet) -> None:
    """Header, example row, column formats and validations of the sheet that is uploaded."""
    for position, (chinese, english) in enumerate(LEDGER_COLUMNS.items(), start=1):
        letter = get_column_letter(position)
        header = sheet.cell(row=1, column=position, value=chinese)
        header.fill = _HEADER_FILL
        header.alignment = Alignment(horizontal="center", vertical="center")
        if english in REQUIRED_COLUMNS:
            header.font = _REQUIRED_FONT
            header.comment = _comment(f"必填。{_EXPLANATIONS[english]}")
        else:
            header.font = Font(bold=True)

        example = sheet.cell(row=2, column=position, value=_EXAMPLE[english])
        example.font = _EXAMPLE_FONT
        number_format = _column_format(english)
        if number_format:
            # The column's own format reaches the rows people add, not only the example:
            # an all-digit credit code stays text instead of becoming 9.15E+17.
            sheet.column_dimensions[letter].number_format = number_format
            example.number_format = number_format

        shown = _shown(_EXAMPLE[english])
        width = max(_display_width(chinese) + 4, _display_width(shown) + 2, 10)
        sheet.column_dimensions[letter].width = min(width, 40)

        target = f"{letter}2:{letter}{LAST_ROW}"
        if english in _CHOICES:
            sheet.add_data_validation(_list_validation(english, target, lists))
        elif english in _COUNTS:
            sheet.add_data_validation(_count_validation(chinese, target))
    # Header row and the name column stay in view: the ledger is 27 columns wide.
    sheet.freeze_panes = "B2"


def _column_format(english: str) -> str | None:
    """The number format a column needs so Excel keeps what is typed as the reader reads it."""
    if english == "credit_code":
        return _TEXT_FORMAT
    if english == "org_elected":
        return _DATE_FORMAT
    if english in ("lon", "lat"):
        return "0.000000"
    return None


def _list_validation(english: str, target: str, lists: Worksheet) -> DataValidation:
    """A drop-down with exactly the reader's values for one column.

    Short lists are written inline; a list over 255 characters, or with a value containing
    a comma (the inline separator), goes to a column of the hidden 取值 sheet.
    """
    values, free_text, prompt = _CHOICES[english]
    chinese = _chinese(english)
    inline = ",".join(values)
    if len(inline) <= _INLINE_LIMIT and not any("," in v or '"' in v for v in values):
        formula = f'"{inline}"'
    else:
        column = 1 if lists.cell(row=1, column=1).value is None else lists.max_column + 1
        letter = get_column_letter(column)
        lists.cell(row=1, column=column, value=chinese)
        for row, value in enumerate(values, start=2):
            lists.cell(row=row, column=column, value=value)
        formula = f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(values) + 1}"
    validation = DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorStyle="warning" if free_text else "stop",
        errorTitle=f"{chinese}取值不在列表中"[:32],
        error=(f"建议从下拉列表选择{chinese}；确需填写其他内容请点“是”。" if free_text
               else f"{chinese}请从下拉列表中选择。"),
        promptTitle=chinese[:32],
        prompt=prompt[:255],
    )
    validation.add(target)
    return validation


def _count_validation(chinese: str, target: str) -> DataValidation:
    """Whole numbers ≥ 0 only: a head count typed as "3人" or "-1" is stopped at the cell."""
    validation = DataValidation(
        type="whole",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorStyle="stop",
        errorTitle=f"{chinese}填写有误"[:32],
        error=f"{chinese}只能填写0或正整数（人数），不要带“人”等文字。",
        promptTitle=chinese[:32],
        prompt="填写0或正整数" + ("（必填）" if _english(chinese) in REQUIRED_COLUMNS else "，不填按0"),
    )
    validation.add(target)
    return validation


# --- the 填写说明 sheet -----------------------------------------------------------------------

_GUIDE_WIDTHS = (18, 12, 70, 34)  # 列名, 是否必填, 说明, 示例


def _write_guide_sheet(sheet: Worksheet, fictional_note: str | None) -> None:
    """General notes, then one row per column: 列名, 是否必填, 说明, 示例."""
    for index, width in enumerate(_GUIDE_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    note_width = sum(_GUIDE_WIDTHS) - 4
    row = 1
    if fictional_note:
        cell = sheet.cell(row=row, column=1, value=fictional_note)
        cell.font = Font(bold=True, color="B8001F", size=12)
        row += 1
    sheet.cell(row=row, column=1, value="非公企业和社会组织党建工作台账 填写说明").font = Font(bold=True, size=14)
    row += 1
    for number, text in enumerate(_GENERAL_NOTES, start=1):
        _merged_note(sheet, row, f"{number}. {text}", note_width)
        row += 1
    row += 1

    for column, title in enumerate(("列名", "是否必填", "说明", "示例"), start=1):
        cell = sheet.cell(row=row, column=column, value=title)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
    sheet.freeze_panes = sheet.cell(row=row + 1, column=1)
    for chinese, english in LEDGER_COLUMNS.items():
        row += 1
        required = english in REQUIRED_COLUMNS
        values = (chinese, _requirement(english), _EXPLANATIONS[english], _shown(_EXAMPLE[english]))
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column, value=value)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if column <= 2 and required:
                cell.font = _REQUIRED_FONT
        sheet.row_dimensions[row].height = _row_height(
            max(_lines(_EXPLANATIONS[english], _GUIDE_WIDTHS[2] - 2),
                _lines(values[3], _GUIDE_WIDTHS[3] - 2)))


def _requirement(english: str) -> str:
    """必填 for the columns the reader requires; the reason column is required only for
    units without an org (R11), which is said rather than enforced."""
    if english in REQUIRED_COLUMNS:
        return "必填"
    if english == "reason_no_org":
        return "未建党组织的单位必填"
    return "选填"


def _merged_note(sheet: Worksheet, row: int, text: str, width: int) -> None:
    """A note across the four columns, wrapped; Excel does not size merged rows, so the
    height is set from the text's display width."""
    cell = sheet.cell(row=row, column=1, value=text)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(_GUIDE_WIDTHS))
    sheet.row_dimensions[row].height = _row_height(_lines(text, width))


# --- helpers --------------------------------------------------------------------------------


def _chinese(english: str) -> str:
    return next(chinese for chinese, name in LEDGER_COLUMNS.items() if name == english)


def _english(chinese: str) -> str:
    return LEDGER_COLUMNS[chinese]


def _shown(value: object) -> str:
    """A value as the instructions print it (a date as yyyy-mm-dd, blank as "")."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _display_width(text: str) -> int:
    """Width in Excel character units: CJK characters count double (as services.exports)."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _lines(text: str, width: int) -> int:
    return max(1, math.ceil(_display_width(text) / max(width, 1)))


def _row_height(lines: int) -> float:
    return 16.0 * lines + 4


def _comment(text: str) -> Comment:
    comment = Comment(text, "台账模板")
    comment.width, comment.height = 260, 110
    return comment
