"""Reading ledgers as county staff keep them: every mess of a real 台账 in one workbook."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from conftest import HEADERS, credit_code, unit, write_ledger
from services.ledger import read_ledger
from services.problems import InputError


def messy_workbook(path):
    """A ledger with a merged title, untidy headers, blank rows and every odd spelling."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["青禾县非公企业和社会组织党建工作台账（2026年）"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    headers = list(HEADERS)
    headers[0] = " 企业名称 "
    headers[1] = "统一社会\n信用代码"
    headers[15] = "从业人员数\u3000"
    headers[16] = "*正式党员数"
    sheet.append(headers)
    codes = [credit_code() for _ in range(8)]
    rows = [
        # row 3: full-width digits, "3人", coordinates as text, GCJ-02 with a stray space, Excel date
        {"企业名称": "甲科技有限公司", "统一社会信用代码": codes[0].lower(), "从业人员数": "１２０人",
         "正式党员数": "3人", "经度": "102.715", "纬度": "25.002", "坐标系": " GCJ-02 ",
         "党组织换届时间": dt.datetime(2021, 6, 1), "单位类型": "非公企业 "},
        # row 4: blank
        {},
        # row 5: date as text, BD-09 spelt bd09, employees as a float number
        {"企业名称": "乙商贸", "统一社会信用代码": codes[1], "从业人员数": 12.0, "坐标系": "bd09",
         "党组织换届时间": "2021/6/1"},
        # row 6: "2021.6" and gcj02
        {"企业名称": "丙", "统一社会信用代码": codes[2], "从业人员数": "８", "坐标系": "gcj02",
         "党组织换届时间": "2021.6"},
        # row 7: Chinese date, unknown org type, formal members above employees, 停产
        {"企业名称": "丁", "统一社会信用代码": codes[3], "从业人员数": 2, "正式党员数": 4,
         "党组织换届时间": "2022年6月20日", "党组织名称": "丁党小组", "党组织类型": "临时党小组",
         "经营状态": "停产"},
        # row 8: invalid check character → rejected
        {"企业名称": "戊", "统一社会信用代码": codes[4][:-1] + ("0" if codes[4][-1] != "0" else "1"),
         "从业人员数": 5},
        # row 9: duplicate of row 3 (written differently) → rejected
        {"企业名称": "己", "统一社会信用代码": " " + codes[0] + " ", "从业人员数": 5},
        # row 10: negative count → rejected
        {"企业名称": "庚", "统一社会信用代码": codes[5], "从业人员数": 5, "流动党员数": -1},
        # row 11: employees unreadable → rejected
        {"企业名称": "辛", "统一社会信用代码": codes[6], "从业人员数": "若干"},
        # row 12: unknown enum values are kept and flagged; an Excel serial date number
        {"企业名称": "壬", "统一社会信用代码": codes[7], "从业人员数": "6", "单位类型": "合作社",
         "群团组织": "工会、团支部", "未建党组织原因": "其他：正在筹建", "党组织换届时间": 44000,
         "是否规上": "是"},
    ]
    for row in rows:
        sheet.append([row.get(h) for h in HEADERS])
    book.save(path)
    return codes


def test_a_messy_workbook_is_read_with_rows_as_excel_numbers_them(tmp_path):
    path = tmp_path / "台账.xlsx"
    codes = messy_workbook(path)
    ledger = read_ledger(path)
    units = ledger.units.set_index("row")
    assert ledger.header_row == 2
    assert list(units.index) == [3, 5, 6, 7, 12]
    assert units.loc[3, "credit_code"] == codes[0]  # lower case folded
    assert (units.loc[3, "employees"], units.loc[3, "formal_members"]) == (120, 3)
    assert (units.loc[3, "lon"], units.loc[3, "lat"]) == (102.715, 25.002)
    assert [units.loc[r, "crs"] for r in (3, 5, 6, 12)] == ["GCJ02", "BD09", "GCJ02", "WGS84"]
    assert units.loc[3, "kind"] == "enterprise"
    dates = {r: units.loc[r, "org_elected"] for r in (3, 5, 6, 7, 12)}
    assert dates == {3: pd.Timestamp("2021-06-01"), 5: pd.Timestamp("2021-06-01"),
                     6: pd.Timestamp("2021-06-01"), 7: pd.Timestamp("2022-06-20"),
                     12: pd.Timestamp("2020-06-18")}
    assert units.loc[12, "mass_orgs"] == "工会,共青团"
    assert units.loc[12, "above_scale"]


def test_only_rows_that_cannot_be_counted_are_rejected(tmp_path):
    path = tmp_path / "台账.xlsx"
    messy_workbook(path)
    ledger = read_ledger(path)
    rejected = {(p.row, p.column): p.reason for p in ledger.rejected}
    assert set(rejected) == {(8, "统一社会信用代码"), (9, "统一社会信用代码"), (10, "流动党员数"),
                             (11, "从业人员数")}
    assert "校验位" in rejected[(8, "统一社会信用代码")]
    assert "第3行" in rejected[(9, "统一社会信用代码")]
    assert "若干" in rejected[(11, "从业人员数")]
    # The rejected rows come back as written, with their row and reason, ready to fix.
    back = ledger.rejected_rows
    assert list(back["行号"]) == [8, 9, 10, 11]
    assert back.loc[back["行号"] == 11, "从业人员数"].item() == "若干"
    assert back["错误原因"].str.len().gt(0).all()


def test_kept_rows_carry_flags_for_what_was_odd(tmp_path):
    path = tmp_path / "台账.xlsx"
    messy_workbook(path)
    ledger = read_ledger(path)
    units = ledger.units.set_index("row")
    assert units.loc[7, "flag_members_exceed_employees"]
    assert units.loc[7, "flag_unknown_org_type"]
    assert units.loc[7, "flag_production_halted"]
    assert units.loc[12, "flag_unknown_value"]  # 合作社 is not a unit kind
    flagged = {(p.row, p.column) for p in ledger.flagged}
    assert {(7, "正式党员数"), (7, "党组织类型"), (12, "单位类型")} <= flagged


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_every_encoding_chinese_excel_writes(tmp_path, encoding):
    path = write_ledger(tmp_path / "台账.csv", [unit(name="青禾示例科技有限公司", employees="3人")],
                        title="台账", encoding=encoding)
    ledger = read_ledger(path)
    assert ledger.units["name"].tolist() == ["青禾示例科技有限公司"]
    assert ledger.units["row"].tolist() == [3]
    assert ledger.units["employees"].tolist() == [3]


def test_english_aliases_are_accepted(tmp_path):
    path = tmp_path / "ledger.csv"
    code = credit_code()
    path.write_text(f"name,credit_code,kind,employees,formal_members,status\nAcme,{code},社会组织,40,1,停产\n",
                    encoding="utf-8")
    units = read_ledger(path).units
    assert units[["name", "kind", "employees", "business_status"]].values.tolist() == [
        ["Acme", "social_org", 40, "停产"]]


def test_names_are_kept_verbatim(tmp_path):
    hostile = '<script>alert("x")</script> & \'引号\''
    units = read_ledger(write_ledger(tmp_path / "台账.xlsx", [unit(name=hostile)])).units
    assert units["name"].item() == hostile


def test_headers_only_is_an_empty_ledger_not_an_error(tmp_path):
    ledger = read_ledger(write_ledger(tmp_path / "台账.xlsx", []))
    assert ledger.units.empty and ledger.problems == []


@pytest.mark.parametrize("content, message", [
    (b"", "文件为空"),
    ("标题\n甲,乙\n".encode(), "未找到台账表头"),
    ("企业名称,统一社会信用代码,行业\n".encode(), "从业人员数"),
])
def test_unreadable_ledgers_raise_one_clear_line(tmp_path, content, message):
    path = tmp_path / "台账.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as error:
        read_ledger(path)
    assert "台账.csv" in str(error.value) and "\n" not in str(error.value)


def test_a_text_file_renamed_xlsx_is_refused(tmp_path):
    path = tmp_path / "台账.xlsx"
    path.write_text("企业名称,统一社会信用代码,从业人员数\n", encoding="utf-8")
    with pytest.raises(InputError, match="不是Excel"):
        read_ledger(path)
