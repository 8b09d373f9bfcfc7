"""Read a unit ledger (台账) as county staff really keep it, and say exactly what is wrong with it.

Ledgers arrive as .xlsx saved by Excel or WPS, or as .csv in UTF-8 (with or without BOM) or in
GBK as older Chinese Excel saves it. They carry a merged title row above the header, header
cells with stray spaces or line breaks, blank rows, full-width digits, counts written as "3人",
dates in half a dozen spellings and enum values with variants. :func:`read_ledger` accepts all
of that, rejects only the rows DOMAIN.md says cannot be counted honestly (invalid or duplicate
credit code, negative counts, unreadable employees) and keeps every other row with a flag, so
the figures stay complete and the staff get a list of what to correct.

Every parser works on the *distinct* values of a column and maps the result back, so a
1,000,000-row ledger costs a few thousand Python calls per column, not a million.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from services.credit_code import credit_code_problems, normalise_code
from services.problems import InputError, Problem
from services.text import _arrow_text, compact, map_distinct, take_distinct

# Canonical Chinese header → English name used in code (DOMAIN.md "Ledger template"), in order.
LEDGER_COLUMNS: dict[str, str] = {
    "企业名称": "name",
    "统一社会信用代码": "credit_code",
    "单位类型": "kind",
    "行业": "industry",
    "地址": "address",
    "经度": "lon",
    "纬度": "lat",
    "坐标系": "crs",
    "所属乡镇街道": "town",
    "所属网格": "grid",
    "所属园区": "park",
    "所属楼宇": "building",
    "经营状态": "business_status",
    "是否规上": "above_scale",
    "有固定经营场所": "fixed_premises",
    "从业人员数": "employees",
    "正式党员数": "formal_members",
    "预备党员数": "probationary_members",
    "流动党员数": "mobile_members",
    "入党积极分子数": "activists",
    "出资人是否党员": "owner_is_member",
    "党组织名称": "org_name",
    "党组织类型": "org_type",
    "党组织换届时间": "org_elected",
    "党建指导员": "instructor",
    "群团组织": "mass_orgs",
    "未建党组织原因": "reason_no_org",
}
CHINESE_HEADER = {english: chinese for chinese, english in LEDGER_COLUMNS.items()}

# English aliases as DOMAIN.md writes them, plus the spelling "status" it uses for 经营状态.
_HEADER_ALIASES = {**{english: english for english in CHINESE_HEADER}, "status": "business_status"}
# Headers seen in real ledgers for the same columns.
_HEADER_VARIANTS = {
    "单位名称": "name", "企业（单位）名称": "name", "社会组织名称": "name",
    "信用代码": "credit_code", "统一代码": "credit_code",
    "所属乡镇": "town", "乡镇街道": "town", "所属网格编号": "grid", "网格": "grid",
    "园区": "park", "楼宇": "building", "商务楼宇": "building", "状态": "business_status",
    "规上企业": "above_scale", "是否规模以上": "above_scale", "职工人数": "employees",
    "从业人数": "employees", "员工人数": "employees", "党员数": "formal_members",
    "党组织换届日期": "org_elected", "换届时间": "org_elected", "指导员": "instructor",
}
REQUIRED_COLUMNS = ("name", "credit_code", "employees")
COUNT_COLUMNS = ("formal_members", "probationary_members", "mobile_members", "activists")
ENTERPRISE, SOCIAL_ORG = "enterprise", "social_org"
KINDS = {"非公企业": ENTERPRISE, "社会组织": SOCIAL_ORG}
BUSINESS_STATUSES = ("正常", "停产", "半停产", "注销")
ORG_TYPES = ("党委", "党总支", "党支部", "联合党支部", "网格党支部", "区域性党组织", "功能型党支部")
MASS_ORGS = ("工会", "共青团", "妇联")
REASONS_NO_ORG = (
    "无党员", "党员不足3名", "党员组织关系不在本单位", "已纳入联合党支部",
    "出资人认识不足", "规模小或人员流动大", "新设立待组建", "其他",
)
CRS_NAMES = ("WGS84", "GCJ02", "BD09")

# Data-quality flags the reader sets on a kept row (rule flags come from services.coverage).
QUALITY_FLAGS = (
    "production_halted", "members_exceed_employees", "unknown_org_type",
    "unknown_value", "unreadable_value",
)
_BLANK = re.compile(r"^\s*$")
_WHITESPACE = re.compile(r"\s+")
_COUNT_DECORATION = re.compile(r"[人名个位家,，\s]|^约|左右$")


@dataclasses.dataclass
class Ledger:
    """A ledger as read: kept units, what was rejected, and what was flagged.

    ``units`` has one row per kept unit with the English column names of
    :data:`LEDGER_COLUMNS` (typed: ints, floats, bools, dates), ``row`` (the spreadsheet row a
    person sees), ``org_key`` (the org name with white space removed, so "XX 联合党支部" and
    "XX联合党支部" are one org) and a boolean ``flag_<name>`` column per data-quality flag.
    ``rejected_rows`` holds the rejected rows exactly as they were in the file, with their row
    number and a ``错误原因`` column, ready to download, fix and upload again.
    ``cells`` (only when asked for) holds the kept units' cells as text, aligned with
    ``units``: what the store keeps, so an unknown value survives with its flag and an export
    gives back what was imported.
    """

    source: str
    header_row: int
    units: pd.DataFrame
    problems: list[Problem]
    rejected_rows: pd.DataFrame
    cells: pd.DataFrame | None = None

    @property
    def rejected(self) -> list[Problem]:
        """The problems that left a row out of the figures."""
        return [p for p in self.problems if p.rejected]

    @property
    def flagged(self) -> list[Problem]:
        """The problems with a value that was kept (the row counts, the value was read as noted)."""
        return [p for p in self.problems if not p.rejected]


def read_ledger(path: str | Path, *, keep_cells: bool = False) -> Ledger:
    """Read a ledger file (.xlsx/.xlsm/.xls or .csv) into typed units and a list of problems.

    Parameters
    ----------
    path
        The ledger. Excel files are recognised by content (a .csv renamed .xlsx is an error,
        not garbage); text files are decoded as UTF-8 (BOM optional) or else GB18030, the
        superset of GBK that older Chinese Excel versions write.

    Returns
    -------
    Ledger
        ``units`` keeps every row that can be counted honestly; ``problems`` lists each
        rejected row and each kept-but-flagged value with file, row, Chinese column and a
        Chinese reason.

    Raises
    ------
    InputError
        The file cannot be read at all: missing, empty, not a spreadsheet, no recognisable
        header row, or a required column missing. The message is one line naming the file.
    """
    path = Path(path)
    raw = _read_cells(path)
    header_index, columns = _find_header(raw, path.name)
    body = raw.iloc[header_index + 1 :]
    body = body[~_blank_rows(body)]
    rows = pd.Series(body.index.to_numpy() + 1, index=body.index, name="row")
    cells = _select_columns(body, columns)
    problems: list[Problem] = []
    units, rejected_reasons = _parse(cells, rows, path.name, problems)
    keep = rejected_reasons.eq("")
    rejected_rows = _rejected_rows(body, raw.iloc[header_index], rows, rejected_reasons)
    return _kept(path.name, header_index + 1, units, cells, keep, problems, rejected_rows, keep_cells)


def ledger_from_cells(cells: pd.DataFrame, source: str, rows: pd.Series | None = None) -> Ledger:
    """A ledger from cells already in columns (the English names of :data:`LEDGER_COLUMNS`).

    This is how the store's units become a :class:`Ledger` again, through the very parser a
    file goes through, so a unit read from the store and the same unit read from its file are
    the same unit. ``rows`` are the row numbers to report (default: 2, 3, … as in an export).
    """
    cells = cells.reindex(columns=list(CHINESE_HEADER)).reset_index(drop=True)
    if rows is None:
        rows = pd.Series(np.arange(2, len(cells) + 2), name="row")
    rows = pd.Series(np.asarray(rows, dtype="int64"), index=cells.index, name="row")
    problems: list[Problem] = []
    units, rejected_reasons = _parse(cells, rows, source, problems)
    keep = rejected_reasons.eq("")
    header = pd.Series(list(LEDGER_COLUMNS))
    body = cells.set_axis(range(cells.shape[1]), axis=1)
    rejected_rows = _rejected_rows(body, header, rows, rejected_reasons)
    return _kept(source, 1, units, cells, keep, problems, rejected_rows, keep_cells="as_given")


def cell_texts(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells as text, ``None`` for blank: numbers Excel stored lose a trailing ".0", dates
    become ``2021-06-01``, booleans 是/否. Text is kept exactly as written."""
    return pd.DataFrame({column: _text_column(cells[column]) for column in cells.columns}, index=cells.index)


def _kept(source, header_row, units, cells, keep, problems, rejected_rows, keep_cells) -> Ledger:
    """The ledger of the kept rows (and their text cells, keyed by the normalised code)."""
    mask = keep.to_numpy()
    everything = bool(mask.all())  # the usual ledger: no row taken out, nothing to copy
    units = (units if everything else units[mask]).reset_index(drop=True)
    kept_cells = None
    if keep_cells:  # "as_given": the cells are text already (the store's)
        kept = cells if everything else cells[mask]
        kept_cells = (kept if keep_cells == "as_given" else cell_texts(kept)).reset_index(drop=True)
        kept_cells["credit_code"] = units["credit_code"].astype(object).to_numpy()
    problems.sort(key=lambda p: (p.row or 0, not p.rejected))
    return Ledger(source, header_row, units, problems, rejected_rows, kept_cells)


def _text_column(values: pd.Series) -> pd.Series:
    """One column as text through its distinct values (see :func:`cell_texts`)."""
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        values = _unquote(values)
        return values.astype(object).where(~_blank_cells(values), None)
    return map_distinct(values, _cell_text).astype(object)


# A CSV export writes text that Excel would run as a formula with a leading apostrophe
# (services.exports); reading it back, the apostrophe goes, so a round trip changes nothing.
_QUOTED_FORMULA = r"^'(?=[=+\-@])"


def _unquote(values: pd.Series) -> pd.Series:
    """A text column without the apostrophe our CSV export puts before a formula-like text."""
    if values.str.startswith("'").any():
        return values.str.replace(_QUOTED_FORMULA, "", regex=True)
    return values


def _cell_text(value: object) -> str | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        value = re.sub(_QUOTED_FORMULA, "", value)
        return value if value.strip() else None
    if isinstance(value, (bool, np.bool_)):
        return "是" if value else "否"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


# --- reading cells ------------------------------------------------------------------------


def _read_cells(path: Path) -> pd.DataFrame:
    """All cells of the first sheet as objects, no header, row i = spreadsheet row i + 1.

    Why by content: a person renames files; an .xlsx that is really text, or a .csv that is
    really a workbook, must be read as what it is or refused with a clear line.
    """
    if not path.exists():
        raise InputError(f"{path.name}: 文件不存在")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name}: 文件为空")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        try:
            return pd.read_excel(path, engine="calamine", header=None, dtype=object)
        except Exception as error:  # calamine raises several types for a broken workbook
            raise InputError(f"{path.name}: 无法读取Excel文件（{error}）") from error
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        raise InputError(f"{path.name}: 扩展名是{path.suffix}，但内容不是Excel工作簿")
    return _read_text_table(path)


def _read_text_table(path: Path) -> pd.DataFrame:
    """Read a CSV in UTF-8 (BOM optional) or GB18030, every cell as text.

    The column count is taken from the widest of the first rows, because a title row above the
    header has one field and pandas would otherwise take the width from it.
    """
    head = path.read_bytes()[:65536]
    if b"\x00" in head:
        raise InputError(f"{path.name}: 不是文本表格（含二进制内容）")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            head.decode(encoding)
        except UnicodeDecodeError as error:
            if error.reason != "unexpected end of data":  # a character cut at 64 KiB is fine
                continue
        width, regular = _csv_width(head.decode(encoding, errors="ignore"))
        if regular and encoding == "utf-8-sig":
            frame = _read_regular_utf8_csv(path, width)
            if frame is not None:
                return frame
        try:
            frame = pd.read_csv(path, header=None, names=range(width), dtype=str, keep_default_na=False,
                                encoding=encoding, skip_blank_lines=False, index_col=False)
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
            reason = " ".join(str(error).split())
            raise InputError(f"{path.name}: 无法按CSV读取（{reason}）") from error
        return frame
    raise InputError(f"{path.name}: 无法识别文件编码（应为UTF-8或GBK）")


def _csv_width(text: str) -> tuple[int, bool]:
    """The largest number of fields among the first 50 records of a CSV text, and whether
    they all have that many (no title row, no short rows)."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text))
    widths = [len(record) for _, record in zip(range(50), reader)]
    width = max(widths, default=1)
    return width, all(w == width for w in widths)


def _read_regular_utf8_csv(path: Path, width: int) -> pd.DataFrame | None:
    """The fast path for a plain UTF-8 CSV (what the ledger template and exports produce):
    pyarrow's multi-threaded reader, every cell as text, several times faster than pandas' on
    a city's ledger. Any irregular record (a blank line, a short row) returns None, and the
    careful reader takes over, so no row is ever skipped or renumbered."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    irregular = []

    def note_invalid(row):
        irregular.append(row)
        return "skip"

    names = [str(i) for i in range(width)]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, encoding="utf8"),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False,
                                             invalid_row_handler=note_invalid),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if irregular:
        return None
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow", na_value=np.nan)}.get)
    frame.columns = range(width)
    if len(frame) and isinstance(frame.iat[0, 0], str):
        frame.iat[0, 0] = frame.iat[0, 0].lstrip("\ufeff")  # a UTF-8 BOM, if pyarrow kept it
    return frame


def _header_key(cell: object) -> str:
    """A header cell reduced to what identifies it: NFKC, no white space, no '*', lower case."""
    if not isinstance(cell, str):
        return ""
    text = unicodedata.normalize("NFKC", cell)
    text = _WHITESPACE.sub("", text).replace("*", "").replace("＊", "")
    text = re.sub(r"[(（].*?[)）]$", "", text)  # "从业人员数（人）" → "从业人员数"
    return text.lower()


_KNOWN_HEADERS: dict[str, str] = {
    **{_header_key(k): v for k, v in LEDGER_COLUMNS.items()},
    **{_header_key(k): v for k, v in _HEADER_ALIASES.items()},
    **{_header_key(k): v for k, v in _HEADER_VARIANTS.items()},
}


def _find_header(raw: pd.DataFrame, file_name: str) -> tuple[int, dict[str, int]]:
    """The header row (a title row may sit above it) and where each known column is.

    The header is the first of the top 20 rows that names the most known columns, at least
    three of them; a column named twice is read from its first occurrence.
    """
    best_index, best_columns = -1, {}
    for index in range(min(20, len(raw))):
        columns: dict[str, int] = {}
        for position, cell in enumerate(raw.iloc[index].tolist()):
            name = _KNOWN_HEADERS.get(_header_key(cell))
            if name and name not in columns:
                columns[name] = position
        if len(columns) > len(best_columns):
            best_index, best_columns = index, columns
    if len(best_columns) < 3:
        raise InputError(f"{file_name}: 未找到台账表头（应含“企业名称”“统一社会信用代码”“从业人员数”等列）")
    missing = [CHINESE_HEADER[c] for c in REQUIRED_COLUMNS if c not in best_columns]
    if missing:
        raise InputError(f"{file_name}: 第{best_index + 1}行表头缺少必需列“{'”“'.join(missing)}”")
    return best_index, best_columns


def _blank_rows(body: pd.DataFrame) -> pd.Series:
    """Rows with no content at all (blank rows in the middle of a ledger are normal).

    Each column is only looked at in the rows still blank so far: the first column (the name,
    in any real ledger) settles nearly every row, so a city's ledger is not stripped cell by
    cell across all of its columns.
    """
    blank = np.ones(len(body), dtype=bool)
    for position in range(body.shape[1]):
        undecided = np.flatnonzero(blank)
        if len(undecided) == 0:
            break
        column = body.iloc[:, position]
        if len(undecided) < len(body):
            column = column.iloc[undecided]
        blank[undecided] = _blank_cells(column)
    return pd.Series(blank, index=body.index)


def _blank_cells(values: pd.Series) -> np.ndarray:
    """Cells that are missing, empty or only white space (ideographic space included).

    Text columns use pyarrow's string kernels; mixed Excel columns go through their distinct
    values, so neither costs a Python call per cell.
    """
    if _arrow_text(values):
        # Empty, or only white space: exactly the cells ``str.strip()`` leaves empty (Arrow's
        # utf8_is_space and utf8_trim_whitespace share one definition of white space), in two
        # kernels instead of a stripped copy of the column.
        import pyarrow as pa
        import pyarrow.compute as pc

        texts = pa.array(values.array)
        blank = pc.or_(pc.equal(pc.binary_length(texts), 0), pc.utf8_is_space(texts))
        return pc.fill_null(blank, True).to_numpy(zero_copy_only=False).astype(bool, copy=False)
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        return values.str.strip().str.len().fillna(0).eq(0).to_numpy(dtype=bool)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    blank = np.array([_text(u) == "" for u in uniques] + [True], dtype=bool)
    return blank[codes]


def _select_columns(body: pd.DataFrame, columns: dict[str, int]) -> pd.DataFrame:
    """The known columns under their English names; absent optional columns are blank."""
    selected = {
        name: body.iloc[:, columns[name]] if name in columns else pd.Series(np.nan, index=body.index)
        for name in CHINESE_HEADER
    }
    return pd.DataFrame(selected, index=body.index)


# --- parsing ------------------------------------------------------------------------------


def _text(value: object) -> str:
    """A cell as stripped text, "" for blank; numbers read by Excel lose a trailing ".0"."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _nfkc(value: object) -> str:
    """Text with full-width characters folded and all white space removed ("" when blank)."""
    return compact(value) or ""


class _Unreadable(ValueError):
    """A cell whose content cannot be read as the column's type."""


def _parse_count(value: object) -> float:
    """A head count: "3", "３", "3人", "3.0", "约3"; NaN when blank; raises when unreadable."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return float(value)
    text = _COUNT_DECORATION.sub("", _nfkc(value))
    if text == "":
        return np.nan
    try:
        number = float(text)
    except ValueError:
        raise _Unreadable(value) from None
    if not number.is_integer():
        raise _Unreadable(value)
    return number


def _parse_coordinate(value: object) -> float:
    """A longitude or latitude in decimal degrees, text or number; NaN when blank."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return float(value)
    text = _nfkc(value).rstrip("°").replace("，", ".")
    if text == "":
        return np.nan
    try:
        return float(text)
    except ValueError:
        raise _Unreadable(value) from None


_DATE_PATTERNS = (
    (re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s.*)?$"), 3),
    (re.compile(r"^(\d{4})[-/.年](\d{1,2})月?$"), 2),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), 3),
    (re.compile(r"^(\d{4})年?$"), 1),
)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _parse_date(value: object) -> object:
    """A date from an Excel date, an Excel serial number or text such as "2021/6/1",
    "2021.6" (→ 2021-06-01) or "2022年6月20日"; NaT when blank; raises when unreadable."""
    if type(value) is str and _ISO_DATE.fullmatch(value):
        # The usual spelling (what the template and exports write), read without the checks
        # below; it gives the very value they would. A day that does not exist goes on to
        # them (and is unreadable there too).
        try:
            return pd.Timestamp(dt.date.fromisoformat(value))
        except ValueError:
            pass
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return pd.Timestamp(value).normalize()
    if isinstance(value, dt.date):
        return pd.Timestamp(value)
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        if np.isnan(value):
            return pd.NaT
        if 1 <= value < 2958466 and not 1900 <= value <= 2100:
            return pd.Timestamp(_EXCEL_EPOCH + dt.timedelta(days=int(value)))
    text = _nfkc(value)
    if text == "":
        return pd.NaT
    if re.fullmatch(r"\d{1,7}(\.\d+)?", text):
        # An Excel serial number kept as text (a CSV saved from Excel, or the store, which keeps
        # cells as text): the same number a numeric cell would be read as.
        number = float(text)
        if 1 <= number < 2958466 and not 1900 <= number <= 2100:
            return pd.Timestamp(_EXCEL_EPOCH + dt.timedelta(days=int(number)))
    for pattern, parts in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            year, month, day = (int(g) for g in match.groups()[:parts]) if parts == 3 else (
                (int(match.group(1)), int(match.group(2)), 1) if parts == 2 else (int(match.group(1)), 1, 1)
            )
            try:
                return pd.Timestamp(dt.date(year, month, day))
            except ValueError:
                raise _Unreadable(value) from None
    raise _Unreadable(value)


_TRUE = {"是", "y", "yes", "true", "1", "√", "✓", "有", "规上", "是的", "t"}
_FALSE = {"否", "n", "no", "false", "0", "×", "无", "不是", "规下", "f", "x"}


def _parse_bool(value: object) -> object:
    """是/否 and their usual spellings; None when blank; raises when unreadable."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = _nfkc(value).lower()
    if text == "":
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Unreadable(value)


def _enum_parser(canonical: dict[str, str]) -> Callable[[object], object]:
    """A parser mapping known spellings (white space and full width folded) to a canonical
    value; None when blank; raises when the value is not one of them."""
    def parse(value: object) -> object:
        text = _nfkc(value)
        if text == "":
            return None
        if text in canonical:
            return canonical[text]
        raise _Unreadable(value)
    return parse


_KIND_SPELLINGS = {
    "非公企业": ENTERPRISE, "非公有制企业": ENTERPRISE, "企业": ENTERPRISE, "民营企业": ENTERPRISE,
    "私营企业": ENTERPRISE, "个体工商户": ENTERPRISE, "enterprise": ENTERPRISE,
    "社会组织": SOCIAL_ORG, "民办非企业单位": SOCIAL_ORG, "民办非企业": SOCIAL_ORG,
    "社会团体": SOCIAL_ORG, "基金会": SOCIAL_ORG, "social_org": SOCIAL_ORG,
}
_STATUS_SPELLINGS = {
    "正常": "正常", "存续": "正常", "在业": "正常", "开业": "正常", "营业": "正常", "正常经营": "正常",
    "停产": "停产", "停业": "停产", "歇业": "停产", "半停产": "半停产", "注销": "注销", "已注销": "注销",
}
_ORG_TYPE_SPELLINGS = {t: t for t in ORG_TYPES} | {
    "党总支部": "党总支", "党总支委员会": "党总支", "党委员会": "党委", "联合支部": "联合党支部",
    "联合党总支": "联合党支部", "网格支部": "网格党支部", "区域党组织": "区域性党组织",
    "区域性党委": "区域性党组织", "功能党支部": "功能型党支部", "流动党员党支部": "功能型党支部",
}
_MASS_ORG_SPELLINGS = {
    "工会": "工会", "工会组织": "工会", "共青团": "共青团", "团支部": "共青团", "团组织": "共青团",
    "共青团组织": "共青团", "团委": "共青团", "妇联": "妇联", "妇委会": "妇联", "妇联组织": "妇联",
}


def _parse_crs(value: object) -> object:
    """坐标系 spellings (WGS-84, gcj02, BD-09, 高德, 百度…) → WGS84/GCJ02/BD09."""
    from services.coords import normalise_crs_name

    name = normalise_crs_name(_text(value))
    if name == "UNKNOWN":
        raise _Unreadable(value)
    return name


def _parse_mass_orgs(value: object) -> object:
    """"工会,共青团" / "工会、团支部" → "工会,共青团" (canonical order); raises on an unknown one."""
    parts = [p for p in re.split(r"[,，、;；/\s]+", _text(value)) if p]
    if not parts:
        return ""
    found = set()
    for part in parts:
        key = _nfkc(part)
        if key in ("无", "没有", "暂无"):
            continue
        if key not in _MASS_ORG_SPELLINGS:
            raise _Unreadable(value)
        found.add(_MASS_ORG_SPELLINGS[key])
    return ",".join(m for m in MASS_ORGS if m in found)


def _parse_reason(value: object) -> object:
    """未建党组织原因: one of the listed reasons, "其他：free text" allowed; raises otherwise.

    The value is kept as written (with stray space removed) so the free text survives.
    """
    text = _text(value)
    if text == "":
        return ""
    head = _nfkc(re.split(r"[:：]", text, maxsplit=1)[0])
    head = head.replace("三", "3")
    if head in REASONS_NO_ORG:
        return text
    raise _Unreadable(value)


@dataclasses.dataclass
class _Column:
    """How one column parses, and what a failure means for the row."""

    name: str
    parse: Callable[[object], object]
    on_error: str  # "reject", or the quality flag the kept row gets


_UNIT_NAME_COLUMNS = ("name", "industry", "address", "town", "grid", "park", "building",
                      "org_name", "instructor")


def _parse(cells: pd.DataFrame, rows: pd.Series, file_name: str, problems: list[Problem]):
    """Typed units, and per row the rejection reason ("" when kept)."""
    units = pd.DataFrame({"row": rows.astype("int64")}, index=cells.index)
    reject = pd.Series("", index=cells.index, dtype=object)
    flags = {flag: np.zeros(len(cells), dtype=bool) for flag in QUALITY_FLAGS}

    def note(mask: pd.Series, column: str, reasons: pd.Series | str, rejected: bool, flag=None):
        """Record a problem for each row in ``mask``; reject the row or flag it.

        ``reasons`` is one text for every row, where "{value}" stands for the cell as written,
        or a Series of texts (only its masked rows are read).
        """
        if not mask.any():
            return
        where = np.flatnonzero(mask.to_numpy())
        raw_values = cells[column].iloc[where].map(_text).tolist()
        if isinstance(reasons, pd.Series):
            reason_values = reasons.iloc[where].tolist()
        else:
            reason_values = [reasons.format(value=raw) for raw in raw_values]
        for position, reason, raw_value in zip(where, reason_values, raw_values):
            problems.append(Problem(file_name, int(rows.iloc[position]), CHINESE_HEADER[column],
                                    reason, rejected, raw_value))
        if rejected:
            current = reject.iloc[where]
            reject.iloc[where] = np.where(current == "", reason_values, current + "；" + pd.Series(reason_values, index=current.index))
        elif flag:
            flags[flag][where] = True

    # Text kept verbatim (names are escaped only when rendered, never altered here).
    for column in _UNIT_NAME_COLUMNS:
        units[column] = _verbatim_text(cells[column])
    units["grid"] = map_distinct(cells["grid"], lambda v: _text(v) or None)
    units["org_key"] = map_distinct(units["org_name"], compact)

    # Credit code: invalid or duplicate rows cannot be counted honestly (DOMAIN settled points).
    code = normalise_code(cells["credit_code"])
    code_problem = credit_code_problems(code)
    note(code_problem.ne(""), "credit_code", code_problem, rejected=True)
    valid = code_problem.eq("")
    duplicate = valid & code[valid].duplicated(keep="first").reindex(code.index, fill_value=False)
    if duplicate.any():
        first_row = rows[valid].groupby(code[valid]).transform("first").reindex(code.index)
        note(duplicate, "credit_code",
             "统一社会信用代码与第" + first_row.fillna(0).astype("int64").astype(str) + "行重复", rejected=True)
    units["credit_code"] = code

    # Employees: required; blank or unreadable is a rejection, as are negative counts.
    employees = _parse_column(cells["employees"], _parse_count)
    note(employees.error, "employees", "从业人员数无法识别：{value}", rejected=True)
    blank_employees = employees.value.isna() & ~employees.error
    note(blank_employees, "employees", "从业人员数为必填项，不能为空", rejected=True)
    note(employees.value < 0, "employees", "从业人员数不能为负数", rejected=True)
    units["employees"] = employees.value.fillna(0).astype("int64")

    for column in COUNT_COLUMNS:
        parsed = _parse_column(cells[column], _parse_count)
        header = CHINESE_HEADER[column]
        note(parsed.error, column, f"{header}无法识别：{{value}}，按0计", False, "unreadable_value")
        note(parsed.value < 0, column, f"{header}不能为负数", rejected=True)
        units[column] = parsed.value.fillna(0).astype("int64")

    for column in ("lon", "lat"):
        parsed = _parse_column(cells[column], _parse_coordinate)
        note(parsed.error, column, f"{CHINESE_HEADER[column]}无法识别：{{value}}，坐标不予采用",
             False, "unreadable_value")
        units[column] = parsed.value.astype("float64")
    unusable = units["lon"].isna() | units["lat"].isna()
    units.loc[unusable, ["lon", "lat"]] = np.nan

    enum_columns = (
        _Column("kind", _enum_parser(_KIND_SPELLINGS), "unknown_value"),
        _Column("business_status", _enum_parser(_STATUS_SPELLINGS), "unknown_value"),
        _Column("crs", _parse_crs, "unknown_value"),
        _Column("org_type", _enum_parser(_ORG_TYPE_SPELLINGS), "unknown_org_type"),
        _Column("mass_orgs", _parse_mass_orgs, "unknown_value"),
        _Column("reason_no_org", _parse_reason, "unknown_value"),
        _Column("above_scale", _parse_bool, "unknown_value"),
        _Column("fixed_premises", _parse_bool, "unknown_value"),
        _Column("owner_is_member", _parse_bool, "unknown_value"),
    )
    allowed = {
        "kind": "非公企业/社会组织", "business_status": "/".join(BUSINESS_STATUSES),
        "crs": "WGS84/GCJ02/BD09", "org_type": "/".join(ORG_TYPES), "mass_orgs": "/".join(MASS_ORGS),
        "reason_no_org": "/".join(REASONS_NO_ORG), "above_scale": "是/否",
        "fixed_premises": "是/否", "owner_is_member": "是/否",
    }
    for column in enum_columns:
        # A blank cell, and one that cannot be read, takes the column's default.
        parsed = _parse_column(cells[column.name], column.parse, default=_DEFAULTS[column.name])
        header = CHINESE_HEADER[column.name]
        note(parsed.error, column.name,
             f"{header}“{{value}}”不是可识别的取值（应为{allowed[column.name]}）",
             False, column.on_error)
        units[column.name] = parsed.value.astype(bool) if column.parse is _parse_bool else parsed.value

    elected = _parse_column(cells["org_elected"], _parse_date)
    note(elected.error, "org_elected", "党组织换届时间无法识别：{value}", False, "unreadable_value")
    units["org_elected"] = pd.to_datetime(elected.value.where(~elected.error), errors="coerce")

    note(units["formal_members"] > units["employees"], "formal_members", "正式党员数超过从业人员数", False,
         "members_exceed_employees")
    flags["production_halted"] = units["business_status"].isin(["停产", "半停产"]).to_numpy()
    for flag, values in flags.items():
        units[f"flag_{flag}"] = values
    return units, reject


@dataclasses.dataclass
class _Parsed:
    value: pd.Series
    error: pd.Series


def _parse_column(values: pd.Series, parse: Callable[[object], object], default=None) -> _Parsed:
    """Parse a column through its distinct values; unreadable cells become NA with error=True
    (``default`` instead of NA for blank and unreadable cells, when given).

    Numbers take a vectorised fast path first (``pandas.to_numeric`` on the distinct values);
    only what it cannot read (“3人”, full-width digits, text) goes through ``parse``.
    """
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    count = len(distinct)
    error = np.zeros(count + 1, dtype=bool)
    if parse in (_parse_count, _parse_coordinate):
        # Numbers stay floats throughout (NaN for blank and unreadable): a city's million
        # distinct coordinates are never boxed into Python objects and back.
        numbers = np.empty(count + 1, dtype="float64")
        todo = np.flatnonzero(np.ones(count, dtype=bool))
        if count:
            fast = _numbers(distinct)
            if parse is _parse_count:
                fast[~np.isnan(fast) & (fast != np.floor(fast))] = np.nan  # 3.5 people: not a count
            numbers[:count] = fast
            todo = np.flatnonzero(np.isnan(fast))
        for index, unique in zip(todo, np.asarray(distinct[todo], dtype=object)):
            try:
                numbers[index] = parse(unique)
            except _Unreadable:
                numbers[index], error[index] = np.nan, True
        numbers[count] = parse(None)
        value = pd.Series(numbers[codes], index=values.index)
    else:
        uniques = np.asarray(distinct, dtype=object)
        parsed = np.empty(count + 1, dtype=object)
        for index in range(count):
            try:
                parsed[index] = parse(uniques[index])
            except _Unreadable:
                parsed[index], error[index] = None, True
        parsed[count] = parse(None)
        if default is not None:
            # Filled here, once per distinct value, rather than with fillna over every row.
            missing = np.array([_missing(v) for v in parsed], dtype=bool)
            parsed[missing] = default
        value = take_distinct(parsed, codes, values.index)
    error_cells = pd.Series(error[codes], index=values.index)
    return _Parsed(value, error_cells)


def _numbers(distinct) -> np.ndarray:
    """``pandas.to_numeric(uniques, errors="coerce")`` as floats.

    Arrow text is cast in Arrow when Arrow can read every non-empty value: it reads a subset
    of what pandas reads (no padding spaces, no "1,5"…) and gives the same double for it, and
    a city's million distinct coordinates take a fraction of the time. Anything else, or a
    column with one value Arrow cannot read, goes through pandas as before.
    """
    if isinstance(getattr(distinct, "dtype", None), pd.StringDtype) and distinct.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        texts = pa.array(distinct)
        try:
            numbers = pc.cast(pc.if_else(pc.equal(texts, ""), pa.scalar(None, texts.type), texts), pa.float64())
        except pa.ArrowInvalid:
            pass
        else:
            return numbers.to_numpy(zero_copy_only=False).astype(float)
    uniques = np.asarray(distinct, dtype=object)
    return np.array(pd.to_numeric(pd.Series(uniques), errors="coerce"), dtype=float)


def _verbatim_text(values: pd.Series) -> pd.Series:
    """A text column kept exactly as written, missing for blank cells; numbers read by Excel
    (an all-digit name, say) become their text. Text columns stay pyarrow-backed strings."""
    blank = _blank_cells(values)
    if _arrow_text(values):
        import pyarrow as pa
        import pyarrow.compute as pc

        # ``mask(blank)`` in Arrow: pandas' mask costs several times the kernel.
        texts = pa.array(_unquote(values).array)
        kept = pc.if_else(pa.array(blank), pa.scalar(None, texts.type), texts)
        return pd.Series(kept, dtype=values.dtype, index=values.index, name=values.name)
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        return _unquote(values).mask(blank)
    text = map_distinct(values, lambda v: re.sub(_QUOTED_FORMULA, "", v) if isinstance(v, str) else _text(v)).astype(object)
    text[blank] = None
    return text


# What a blank (or unreadable) enum cell is taken to be (DOMAIN.md "Ledger template").
_DEFAULTS = {
    "kind": ENTERPRISE, "business_status": "正常", "crs": "WGS84", "org_type": None,
    "mass_orgs": "", "reason_no_org": "", "above_scale": False,
    # A unit is taken to have premises unless the ledger says 否: grids are drawn around
    # premises, and a blank cell in a county's ledger almost always means "yes, obviously".
    "fixed_premises": True, "owner_is_member": False,
}


def _missing(value: object) -> bool:
    """Whether a parsed value is missing (None or NaN), as ``fillna`` sees it."""
    return value is None or (isinstance(value, float) and np.isnan(value))


def _rejected_rows(body: pd.DataFrame, header: pd.Series, rows: pd.Series, reasons: pd.Series) -> pd.DataFrame:
    """The rejected rows as the person wrote them, under their own headers, with a reason."""
    mask = reasons.ne("")
    names = [_text(h) or f"列{i + 1}" for i, h in enumerate(header.tolist())]
    # No row rejected (the usual ledger): the same empty frame, without taking every column.
    frame = body[mask].copy() if mask.any() else body.iloc[:0].copy()
    frame.columns = _unique_names(names)
    frame = frame.dropna(axis=1, how="all") if frame.empty else frame
    frame.insert(0, "行号", rows[mask].astype("int64"))
    frame["错误原因"] = reasons[mask]
    return frame.reset_index(drop=True)


def _unique_names(names: list[str]) -> list[str]:
    """Column names made unique (a sheet may repeat a header), keeping the first as is."""
    seen: dict[str, int] = {}
    result = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        result.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return result
