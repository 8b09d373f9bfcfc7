"""The headless report: the dashboard's numbers as one JSON object (DOMAIN.md).

It calls the same :func:`services.analysis.analyse` and :func:`services.rates.coverage_rates`
as the pages, so ``python -m services report`` and the map can never disagree.
"""

from __future__ import annotations

import math

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from services.analysis import Analysis, flag_combinations, unit_flag_lists
from services.coverage import GRID_FLAGS
from services.rates import RATE_COLUMNS, coverage_rates

TOTAL_KEYS = ("units", "own", "joint", "work", "blind", "priority_blind", "org_coverage_rate",
              "work_coverage_rate", "above_scale", "above_scale_own", "above_scale_formation_rate")
GRID_KEYS = ("units", "own", "joint", "work", "blind", "org_coverage_rate", "work_coverage_rate")


def build_report(analysis: Analysis) -> dict:
    """The report object: totals, flag counts, grids, units, rejected rows, unplaced units.

    Rates are fractions rounded to 4 places, null when their denominator is 0; ``row`` is the
    spreadsheet row a person sees.
    """
    return {**_summary(analysis), "units": _unit_entries(analysis.units), **_problems(analysis)}


def report_json(analysis: Analysis) -> bytes:
    """:func:`build_report` as JSON, exactly the bytes ``orjson.dumps(build_report(analysis))``
    gives, without building a dict per unit (see :func:`report_json_chunks`)."""
    return b"".join(report_json_chunks(analysis))


def report_json_chunks(analysis: Analysis) -> list:
    """:func:`report_json` as consecutive pieces (bytes or memoryviews), to write one after
    the other without first copying a city's 200 MB into one object.

    Why: a city's report lists a million units, and making a million dicts (then walking them
    to encode) took longer than all the rules together. The units are written column by column
    instead (:func:`_units_json`); everything else goes through the same functions and orjson.
    """
    head = orjson.dumps(_summary(analysis))  # {"totals":…,"flags":…,"grids":…}
    tail = orjson.dumps(_problems(analysis))  # {"rejected":…,"unplaced":…}
    return [head[:-1], b',"units":', *_units_json(analysis.units), b",", tail[1:]]


def _summary(analysis: Analysis) -> dict:
    """The report's ``totals``, ``flags`` and ``grids``."""
    assessment = analysis.assessment
    units = assessment.units
    county_row = coverage_rates(units).iloc[0]
    grid_rates = coverage_rates(units, by="grid_id", groups=assessment.grids["id"])
    # Column by column (Python numbers, as to_dict("index") gives them), not row by row.
    grid_columns = [[_value(key, value) for value in grid_rates[key].tolist()] for key in GRID_KEYS]
    grid_flags = unit_flag_lists(assessment.grids, GRID_FLAGS)
    return {
        "totals": {key: _value(key, county_row[key]) for key in TOTAL_KEYS},
        "flags": assessment.flag_counts(),
        "grids": {
            str(grid_id): {**dict(zip(GRID_KEYS, values)), "flags": flags}
            for grid_id, flags, *values in zip(assessment.grids["id"], grid_flags, *grid_columns)
        },
    }


def _problems(analysis: Analysis) -> dict:
    """The report's ``rejected`` rows and ``unplaced`` units."""
    unplaced = analysis.unplaced
    return {
        "rejected": [{"row": p.row, "column": p.column, "reason": p.reason}
                     for p in analysis.ledger.rejected],
        "unplaced": [{"row": int(row), "name": name, "reason": reason}
                     for row, name, reason in zip(unplaced["row"], _nullable(unplaced["name"]),
                                                  unplaced["unplaced_reason"])],
    }


def _value(key: str, value) -> int | float | None:
    """A count as int; a rate rounded to 4 places, None when undefined."""
    if key in RATE_COLUMNS:
        return None if value is None or math.isnan(value) else round(float(value), 4)
    return int(value)


# The text columns of a unit entry: report key → column of ``Assessment.units``.
_UNIT_TEXT_COLUMNS = {"name": "name", "credit_code": "credit_code", "status": "status",
                      "grid": "grid_id", "placed_by": "placed_by"}


def _unit_entries(units: pd.DataFrame) -> list[dict]:
    """The ``units`` list, in ledger order, built column-wise (a city has a million)."""
    flags = unit_flag_lists(units)
    columns = (
        units["row"].astype("int64").tolist(),
        *(_nullable(units[c]) for c in _UNIT_TEXT_COLUMNS.values()),
    )
    return [
        {"row": row, "name": name, "credit_code": code, "status": status, "grid": grid,
         "placed_by": placed_by, "flags": unit_flags}
        for row, name, code, status, grid, placed_by, unit_flags in zip(*columns, flags)
    ]


def _units_json(units: pd.DataFrame) -> list:
    """The ``units`` list of :func:`_unit_entries` as orjson writes it, as pieces to write in
    order: every unit's entry is joined from its columns' JSON texts in one vectorised Arrow
    call, with no Python object per unit."""
    if not len(units):
        return [b"[]"]
    combos, inverse = flag_combinations(units)
    flags = pa.array([orjson.dumps(c).decode() for c in combos], pa.large_string()).take(inverse)
    parts: list = ['{"row":', pa.array(units["row"].to_numpy(dtype="int64")).cast(pa.large_string())]
    for key, column in _UNIT_TEXT_COLUMNS.items():
        texts, needs_quotes = _json_texts(units[column])
        parts += [f',"{key}":"', texts, '"'] if needs_quotes else [f',"{key}":', texts]
    parts += [',"flags":', flags, "},"]
    entries = pc.binary_join_element_wise(*_merge_literals(parts), pa.scalar("", pa.large_string()))
    _, offsets, data = entries.buffers()
    first, last = np.frombuffer(offsets, dtype=np.int64)[[entries.offset, entries.offset + len(entries)]]
    return [b"[", memoryview(data)[first:last - 1], b"]"]  # without the last entry's ","


def _merge_literals(parts: list) -> list:
    """Adjacent literal texts joined into one Arrow scalar (fewer, longer pieces to join)."""
    merged: list = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in merged]


def _json_texts(column: pd.Series) -> tuple[pa.Array, bool]:
    """The JSON text orjson writes for each value of ``column`` (``null`` when missing), and
    whether that text still needs its quotes around it.

    Arrow-backed text is used as is when nothing in it needs escaping and nothing is missing
    (the usual case: names, credit codes, statuses), so the quotes go into the literal pieces
    around it; otherwise each value becomes its full JSON text, through orjson for the rare
    value with a character JSON escapes. Other columns are encoded once per distinct value.
    """
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        texts = pa.array(column.array).cast(pa.large_string())
        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks()
        escape = _rows_to_escape(texts)
        if escape is None and texts.null_count == 0:
            return texts, True
        quote = pa.scalar('"', pa.large_string())
        tokens = pc.fill_null(pc.binary_join_element_wise(quote, texts, quote, pa.scalar("", pa.large_string())),
                              pa.scalar("null", pa.large_string()))
        if escape is not None:
            escaped = [orjson.dumps(text).decode() for text in texts.filter(escape).to_pylist()]
            tokens = pc.replace_with_mask(tokens, pa.array(escape), pa.array(escaped, pa.large_string()))
        return tokens, False
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    distinct = [orjson.dumps(value).decode() for value in _nullable(pd.Series(uniques, dtype=object))]
    tokens = pa.array([*distinct, "null"], pa.large_string())
    return tokens.take(np.where(codes < 0, len(distinct), codes)), False


# What orjson escapes in a string (checked over every code point): the control characters,
# the quote and the backslash. All are ASCII, and UTF-8 never uses an ASCII byte inside a
# multi-byte character, so looking at the bytes finds them.
_ESCAPED_BYTES = (0x22, 0x5C)


def _rows_to_escape(texts: pa.Array) -> np.ndarray | None:
    """Which present values contain a character JSON escapes (None when none does), read
    off the array's UTF-8 bytes with numpy instead of a regular expression per value."""
    _, offsets, data = texts.buffers()
    if data is None or len(texts) == 0:
        return None
    offsets = np.frombuffer(offsets, dtype=np.int64)[texts.offset: texts.offset + len(texts) + 1]
    content = np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]]
    hits = np.flatnonzero((content < 0x20) | (content == _ESCAPED_BYTES[0]) | (content == _ESCAPED_BYTES[1]))
    if not len(hits):
        return None
    rows = np.searchsorted(offsets, hits + offsets[0], side="right") - 1
    escape = np.zeros(len(texts), dtype=bool)
    escape[rows] = True
    escape &= texts.is_valid().to_numpy(zero_copy_only=False)
    return escape if escape.any() else None


def _nullable(column: pd.Series) -> list:
    """A column as a list with None for missing values (pandas keeps them as NaN)."""
    return column.astype(object).where(column.notna(), None).tolist()


def summary_lines(report: dict, layer_problems=()) -> list[str]:
    """A short human-readable summary of a report, for the terminal (without ``--json``),
    followed by what was wrong in the map layers (repaired polygons, overlapping grids…)."""
    totals = report["totals"]

    def percent(value):
        return "—" if value is None else f"{value * 100:.2f}%"

    lines = [
        f"单位 {totals['units']} 个：单独组建 {totals['own']}，联合组建 {totals['joint']}，"
        f"工作覆盖 {totals['work']}，空白点 {totals['blind']}（重点空白点 {totals['priority_blind']}）",
        f"组织覆盖率 {percent(totals['org_coverage_rate'])}，工作覆盖率 {percent(totals['work_coverage_rate'])}，"
        f"规上企业党组织组建率 {percent(totals['above_scale_formation_rate'])}"
        f"（{totals['above_scale_own']}/{totals['above_scale']}）",
        f"网格 {len(report['grids'])} 个；被拒绝的行 {len(report['rejected'])} 个；无法定位的单位 {len(report['unplaced'])} 个",
    ]
    flagged = {k: v for k, v in report["flags"].items() if v}
    if flagged:
        lines.append("规则提示：" + "，".join(f"{k} {v}" for k, v in flagged.items()))
    for problem in report["rejected"][:20]:
        lines.append(f"  拒绝 第{problem['row']}行 {problem['column']}：{problem['reason']}")
    for problem in list(layer_problems)[:20]:
        where = f"第{problem.row}个要素 " if problem.row else ""
        lines.append(f"  图层 {problem.file} {where}{problem.reason}")
    return lines
