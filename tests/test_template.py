"""The ledger template a county's staff download, fill in and upload again.

Written as a user's session: download the template, open it, look at the drop-downs and the
instructions, and upload it back unchanged — the example row must read as one valid unit.
"""

from __future__ import annotations

import itertools

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter, range_boundaries

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
    read_ledger,
)
from services.template import ledger_template

HEADERS = list(LEDGER_COLUMNS)
LAST_ROW = 5000

# What a person may pick in each enum column: exactly the ledger reader's constants.
# 群团组织 offers every combination of the mass orgs, in the reader's canonical spelling.
EXPECTED_CHOICES = {
    "单位类型": list(KINDS),
    "经营状态": list(BUSINESS_STATUSES),
    "是否规上": ["是", "否"],
    "有固定经营场所": ["是", "否"],
    "出资人是否党员": ["是", "否"],
    "党组织类型": list(ORG_TYPES),
    "坐标系": list(CRS_NAMES),
    "未建党组织原因": list(REASONS_NO_ORG),
    "群团组织": [",".join(combo) for size in range(1, len(MASS_ORGS) + 1)
                 for combo in itertools.combinations(MASS_ORGS, size)],
}
FREE_TEXT_ALLOWED = {"未建党组织原因", "群团组织"}  # "其他：具体原因", other spellings
COUNT_HEADERS = ("从业人员数", "正式党员数", "预备党员数", "流动党员数", "入党积极分子数")


@pytest.fixture(scope="module")
def downloaded(tmp_path_factory):
    """The template as a user saves it from the download button."""
    path = tmp_path_factory.mktemp("download") / "台账模板.xlsx"
    path.write_bytes(ledger_template())
    return path


@pytest.fixture(scope="module")
def book(downloaded):
    return openpyxl.load_workbook(downloaded)


def column_letter(header: str) -> str:
    return get_column_letter(HEADERS.index(header) + 1)


def validations_by_column(sheet) -> dict[str, list]:
    """Each column letter → the data validations whose ranges touch it."""
    found: dict[str, list] = {}
    for validation in sheet.data_validations.dataValidation:
        for cell_range in validation.sqref.ranges:
            min_col, _, max_col, _ = range_boundaries(str(cell_range))
            for col in range(min_col, max_col + 1):
                found.setdefault(get_column_letter(col), []).append(validation)
    return found


def allowed_values(book, validation) -> list[str]:
    """The values a list validation offers: an inline "a,b,c" list, or a range on a sheet."""
    formula = validation.formula1
    if formula.startswith('"'):
        assert len(formula) - 2 <= 255, "Excel refuses inline lists over 255 characters"
        return formula.strip('"').split(",")
    sheet_name, cell_range = formula.rsplit("!", 1)
    sheet = book[sheet_name.strip("'")]
    min_col, min_row, max_col, max_row = range_boundaries(cell_range.replace("$", ""))
    return [cell.value for row in sheet.iter_rows(min_row=min_row, max_row=max_row,
                                                  min_col=min_col, max_col=max_col) for cell in row]


def test_uploading_the_template_unchanged_gives_the_example_unit(downloaded):
    ledger = read_ledger(downloaded)

    assert ledger.header_row == 1
    assert ledger.problems == []
    assert ledger.rejected_rows.empty
    assert len(ledger.units) == 1
    unit = ledger.units.iloc[0]
    assert unit["row"] == 2
    assert "示例" in unit["name"] and "请删除" in unit["name"]
    assert len(unit["credit_code"]) == 18
    assert unit["kind"] == "enterprise"
    assert unit["crs"] == "WGS84"
    assert 73 < unit["lon"] < 136 and 3 < unit["lat"] < 54  # somewhere in China
    assert unit["grid"] == "G001"
    assert unit["business_status"] == "正常"
    assert (unit["above_scale"], unit["fixed_premises"], unit["owner_is_member"]) == (True, True, False)
    for column in ("employees", "formal_members", "probationary_members", "mobile_members", "activists"):
        assert pd.api.types.is_integer(unit[column]), column
    assert unit["employees"] == 120
    assert 3 <= unit["formal_members"] <= unit["employees"]
    assert unit["org_type"] == "党支部"
    assert unit["org_name"].endswith("党支部")
    assert unit["org_elected"] == pd.Timestamp("2024-06-18")
    assert unit["mass_orgs"] == "工会,共青团,妇联"
    assert unit["reason_no_org"] == ""
    assert not unit[[c for c in ledger.units.columns if c.startswith("flag_")]].any()


def test_the_example_date_is_a_real_date_cell(book):
    cell = book["台账"][f"{column_letter('党组织换届时间')}2"]
    assert cell.is_date
    assert cell.number_format == "yyyy-mm-dd"
    code = book["台账"][f"{column_letter('统一社会信用代码')}2"]
    assert isinstance(code.value, str) and code.number_format == "@"
    assert isinstance(book["台账"][f"{column_letter('从业人员数')}2"].value, int)


def test_every_enum_column_offers_exactly_the_readers_values(book):
    sheet = book["台账"]
    by_column = validations_by_column(sheet)
    for header, expected in EXPECTED_CHOICES.items():
        letter = column_letter(header)
        lists = [v for v in by_column.get(letter, []) if v.type == "list"]
        assert len(lists) == 1, header
        validation = lists[0]
        assert str(validation.sqref) == f"{letter}2:{letter}{LAST_ROW}", header
        assert allowed_values(book, validation) == expected, header
        assert validation.allow_blank, header
        assert not validation.showDropDown, f"{header}: showDropDown=True hides the arrow in Excel"
        if header in FREE_TEXT_ALLOWED:
            assert validation.errorStyle in ("warning", "information"), header
        else:
            assert validation.errorStyle in (None, "stop"), header
            assert validation.showErrorMessage and validation.error, header


def test_lists_with_commas_live_on_the_hidden_values_sheet(book):
    assert book["取值"].sheet_state == "hidden"
    assert book.sheetnames[0] == "台账"  # the reader takes the first sheet
    validation = validations_by_column(book["台账"])[column_letter("群团组织")][0]
    assert validation.formula1.startswith("'取值'!")


def test_counts_accept_whole_numbers_from_zero_with_a_chinese_message(book):
    by_column = validations_by_column(book["台账"])
    for header in COUNT_HEADERS:
        letter = column_letter(header)
        (validation,) = by_column[letter]
        assert validation.type == "whole"
        assert validation.operator == "greaterThanOrEqual" and validation.formula1 == "0"
        assert str(validation.sqref) == f"{letter}2:{letter}{LAST_ROW}"
        assert validation.showErrorMessage and "整数" in validation.error


def test_no_other_column_is_restricted(book):
    restricted = set(validations_by_column(book["台账"]))
    expected = {column_letter(h) for h in [*EXPECTED_CHOICES, *COUNT_HEADERS]}
    assert restricted == expected


def test_header_is_the_canonical_columns_frozen_with_required_ones_marked(book):
    sheet = book["台账"]
    assert [cell.value for cell in sheet[1]] == HEADERS
    assert sheet.max_row == 2  # header and the example, nothing else to delete
    pane = sheet.sheet_view.pane
    assert pane is not None and pane.state == "frozen" and pane.ySplit == 1
    required = {h for h, english in LEDGER_COLUMNS.items() if english in REQUIRED_COLUMNS}
    for cell in sheet[1]:
        if cell.value in required:
            assert cell.font.b and cell.font.color.rgb.endswith("C00000"), cell.value
            assert cell.comment is not None and "必填" in cell.comment.text, cell.value
        else:
            assert cell.comment is None and not (cell.font.color and cell.font.color.rgb.endswith("C00000"))


def test_columns_are_wide_enough_for_their_chinese_header(book):
    sheet = book["台账"]
    for index, header in enumerate(HEADERS, start=1):
        width = sheet.column_dimensions[get_column_letter(index)].width
        assert width >= 2 * len(header), header


def test_instructions_explain_every_column(book):
    sheet = book["填写说明"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    table_start = next(i for i, row in enumerate(rows) if row[:4] == ["列名", "是否必填", "说明", "示例"])
    table = {row[0]: row for row in rows[table_start + 1:] if row[0]}
    assert list(table) == HEADERS
    for header, (_, required, explanation, _example) in table.items():
        assert explanation, header
        assert (required == "必填") == (LEDGER_COLUMNS[header] in REQUIRED_COLUMNS), header
    # the defaults a blank cell takes, as DOMAIN.md and the reader define them
    assert "不填按WGS84" in table["坐标系"][2]
    assert "不填按正常" in table["经营状态"][2]
    assert "不填按非公企业" in table["单位类型"][2]
    assert "不填按是" in table["有固定经营场所"][2]
    for reason in REASONS_NO_ORG:
        assert reason in table["未建党组织原因"][2]
    notes = " ".join(str(row[0]) for row in rows[:table_start] if row[0])
    for words in ("一行", "18位", "重复", "重新上传", "GCJ02", "BD09"):
        assert words in notes, words


def test_a_fictional_note_shows_on_the_instructions_only(tmp_path):
    path = tmp_path / "台账模板.xlsx"
    path.write_bytes(ledger_template(fictional_note="虚构示例数据"))
    book = openpyxl.load_workbook(path)
    assert book["填写说明"]["A1"].value == "虚构示例数据"
    assert [cell.value for cell in book["台账"][1]] == HEADERS
    assert len(read_ledger(path).units) == 1
    plain = openpyxl.load_workbook(_write(tmp_path / "plain.xlsx", ledger_template()))
    assert all("虚构" not in str(cell.value) for row in plain["填写说明"].iter_rows() for cell in row)


def test_a_filled_template_reads_what_the_user_picked(tmp_path, downloaded):
    """A user deletes the example and enters two units with the drop-down values."""
    book = openpyxl.load_workbook(downloaded)
    sheet = book["台账"]
    sheet.delete_rows(2)
    for values in (
        {"企业名称": "甲公司", "统一社会信用代码": make_code("52539901MJ0000002"), "单位类型": "社会组织", "从业人员数": 31,
         "坐标系": "GCJ02", "经营状态": "半停产", "群团组织": "工会,妇联", "未建党组织原因": "其他：筹建中"},
        {"企业名称": "乙公司", "统一社会信用代码": make_code("91539901MA6XL0003"), "从业人员数": 8, "正式党员数": 0},
    ):
        sheet.append([values.get(h) for h in HEADERS])
    path = tmp_path / "填好的台账.xlsx"
    book.save(path)

    ledger = read_ledger(path)
    assert ledger.rejected_rows.empty
    assert ledger.problems == []
    first, second = ledger.units.to_dict("records")
    assert (first["kind"], first["crs"], first["business_status"]) == ("social_org", "GCJ02", "半停产")
    assert first["mass_orgs"] == "工会,妇联" and first["reason_no_org"] == "其他：筹建中"
    assert first["flag_production_halted"]
    assert (second["kind"], second["crs"], second["business_status"]) == ("enterprise", "WGS84", "正常")


def _write(path, data: bytes):
    path.write_bytes(data)
    return path
