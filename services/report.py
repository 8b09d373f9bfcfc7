"""The headless report: the dashboard's numbers as one JSON object (DOMAIN.md).

It calls the same :func:`services.analysis.analyse` and :func:`services.rates.coverage_rates`
as the pages, so ``python -m services report`` and the map can never disagree.
"""

from __future__ import annotations

import math

import pandas as pd

from services.analysis import Analysis, unit_flag_lists
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
        "units": _unit_entries(units),
        "rejected": [{"row": p.row, "column": p.column, "reason": p.reason}
                     for p in analysis.ledger.rejected],
        "unplaced": [{"row": int(row), "name": name, "reason": reason}
                     for row, name, reason in zip(analysis.unplaced["row"],
                                                  _nullable(analysis.unplaced["name"]),
                                                  analysis.unplaced["unplaced_reason"])],
    }


def _value(key: str, value) -> int | float | None:
    """A count as int; a rate rounded to 4 places, None when undefined."""
    if key in RATE_COLUMNS:
        return None if value is None or math.isnan(value) else round(float(value), 4)
    return int(value)


def _unit_entries(units: pd.DataFrame) -> list[dict]:
    """The ``units`` list, in ledger order, built column-wise (a city has a million)."""
    flags = unit_flag_lists(units)
    columns = (
        units["row"].astype("int64").tolist(),
        *(_nullable(units[c]) for c in ("name", "credit_code", "status", "grid_id", "placed_by")),
    )
    return [
        {"row": row, "name": name, "credit_code": code, "status": status, "grid": grid,
         "placed_by": placed_by, "flags": unit_flags}
        for row, name, code, status, grid, placed_by, unit_flags in zip(*columns, flags)
    ]


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
