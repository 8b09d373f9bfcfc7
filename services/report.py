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
    gives, without building a dict per unit.

    Why: a city's report lists a million units, and making a million dicts (then walking them
    to encode) took longer than all the rules together. The units are written column by column
    instead (:func:`_units_json`); everything else goes through the same functions and orjson.
    """
    head = orjson.dumps(_summary(analysis))  # {"totals":…,"flags":…,"grids":…}
    tail = orjson.dumps(_problems(analysis))  # {"rejected":…,"unplaced":…}
    return b"".join((head[:-1], b',"units":', _units_json(analysis.units), b",", tail[1:]))


def _summary(analysis: Analysis) -> dict:
    """The report's ``totals``, ``flags`` and ``grids``."""
    assessment = analysis.assessment
    units = assessment.units
    county_row = coverage_rates(units).iloc[0]
    grid_rows = coverage_rates(units, by="grid_id", groups=assessment.grids["id"]).to_dict("index")
    grid_flags = unit_flag_lists(assessment.grids, GRID_FLAGS)
    return {
        "totals": {key: _value(key, county_row[key]) for key in TOTAL_KEYS},
        "flags": assessment.flag_counts(),
        "grids": {
            str(grid_id): {**{key: _value(key, grid_rows[grid_id][key]) for key in GRID_KEYS},
                           "flags": flags}
            for grid_id, flags in zip(assessment.grids["id"], grid_flags)
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


def _units_json(units: pd.DataFrame) -> bytes:
    """The ``units`` list of :func:`_unit_entries` as orjson writes it, built with vectorised
    string joins: each column becomes the JSON text of its values once per distinct value,
    then one row's pieces are joined per unit in Arrow, with no Python object per unit."""
    if not len(units):
        return b"[]"
    combos, inverse = flag_combinations(units)
    pieces = [pa.array(units["row"].to_numpy(dtype="int64")).cast(pa.large_string())]
    for key, column in _UNIT_TEXT_COLUMNS.items():
        pieces.append(_json_texts(units[column]))
    pieces.append(pa.array([orjson.dumps(c).decode() for c in combos], pa.large_string()).take(inverse))
    keys = ["row", *_UNIT_TEXT_COLUMNS, "flags"]
    parts = [pa.scalar('{"row":', pa.large_string()), pieces[0]]
    for key, piece in zip(keys[1:], pieces[1:]):
        parts += [pa.scalar(f',"{key}":', pa.large_string()), piece]
    parts.append(pa.scalar("},", pa.large_string()))
    entries = pc.binary_join_element_wise(*parts, pa.scalar("", pa.large_string()))
    _, offsets, data = entries.buffers()
    first, last = np.frombuffer(offsets, dtype=np.int64)[[entries.offset, entries.offset + len(entries)]]
    return b"[" + memoryview(data)[first:last - 1].tobytes() + b"]"  # the last "," dropped


# What orjson escapes in a string (checked over every code point): control characters, the
# quote and the backslash. Any other text is written as is between quotes.
_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'


def _json_texts(column: pd.Series) -> pa.Array:
    """Each value of ``column`` as the JSON text orjson writes for it (``null`` when missing),
    encoded once per distinct value: text is quoted in Arrow (the rare text with a character
    JSON escapes goes through orjson itself), anything else through orjson."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    texts = _as_arrow_text(uniques)
    if texts is None:
        tokens = pa.array([orjson.dumps(value).decode() for value in _nullable(pd.Series(uniques, dtype=object))],
                          pa.large_string())
    else:
        quote = pa.scalar('"', pa.large_string())
        tokens = pc.binary_join_element_wise(quote, texts, quote, pa.scalar("", pa.large_string()))
        special = np.flatnonzero(pc.match_substring_regex(texts, _NEEDS_ESCAPE).to_numpy(zero_copy_only=False))
        if len(special):
            tokens = tokens.to_numpy(zero_copy_only=False).astype(object)
            tokens[special] = [orjson.dumps(text).decode() for text in texts.take(special).to_pylist()]
            tokens = pa.array(tokens, pa.large_string())
    tokens = pa.concat_arrays([tokens, pa.array(["null"], pa.large_string())])
    return tokens.take(np.where(codes < 0, len(uniques), codes))


def _as_arrow_text(values) -> pa.Array | None:
    """Distinct values as an Arrow text array, or None when they are not all text."""
    try:
        return pa.array(values, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None


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
