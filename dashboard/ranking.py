"""The county page's ranking at a glance: the towns and the grids with the lowest organisation
coverage first, as a plain HTML table with the organisation coverage drawn as a bar in the map's grid hue.

Why not ``st.dataframe``: its grid is a canvas widget with a large script of its own; the two
ranking tables made the county page's map appear 0.6–1 s later in the browser (variants of the
page measured side by side in headless Chromium, see BENCHMARKS.md), on the page leaders open
first. A short table of the places that need
attention is what a leader reads at a glance; the whole ranking, sortable, is one click away
(built only when opened, see ``pages/county_map.py``) and in the downloads.

Every name comes from the data and is escaped here (``popups.text``), before it reaches HTML.
"""

from __future__ import annotations

import html

import pandas as pd

from services.palette import COVERAGE_COLOURS

from dashboard.popups import text

#: The figures a leader compares at a glance (labels as :func:`dashboard.widgets.rate_table` names them).
COUNTS = ("单位", "空白点", "重点空白点")
RATES = ("组织覆盖率", "工作覆盖率")

_STYLE = """<style>
.rank-wrap { overflow-x: auto; }
.rank-table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
.rank-table th { text-align: left; font-weight: 600; color: #555; border-bottom: 1px solid #ccc; padding: 0.25rem 0.35rem; white-space: nowrap; }
.rank-table td { border-bottom: 1px solid #eee; padding: 0.25rem 0.35rem; white-space: nowrap; }
.rank-table td.n { text-align: right; font-variant-numeric: tabular-nums; }
.rank-table .rank-bar { display: inline-block; vertical-align: middle; width: 3.5rem; height: 0.7rem; border: 1px solid #999; margin-right: 0.35rem; }
.rank-table .rank-bar span { display: block; height: 100%; background: BAR_COLOUR; }
</style>""".replace("BAR_COLOUR", COVERAGE_COLOURS[3])  # the grids' purple, dark enough to read at a glance


def ranking_html(table: pd.DataFrame, names: list[str], limit: int) -> str:
    """The first ``limit`` rows of a :func:`dashboard.widgets.rate_table` (already ordered,
    lowest organisation coverage first) as an HTML table: the ``names`` columns, then the counts
    and the rates with bars. Rates are printed as the KPI cards print them (two decimals)."""
    header = "".join(f"<th>{html.escape(column)}</th>" for column in ("", *names, *COUNTS, *RATES))
    rows = []
    for rank, (_, row) in enumerate(table.head(limit).iterrows(), start=1):
        cells = [f'<td class="n">{rank}</td>']
        cells += [f"<td>{text(row[column]) or '—'}</td>" for column in names]
        cells += [f'<td class="n">{_count(row[column])}</td>' for column in COUNTS]
        cells += [f'<td class="n">{_rate(row[column], bar=column == RATES[0])}</td>' for column in RATES]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'{_STYLE}<div class="rank-wrap"><table class="rank-table"><thead><tr>{header}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _count(value) -> str:
    return "—" if pd.isna(value) else f"{int(value):,}"


def _rate(value, bar: bool) -> str:
    """A rate as its percentage, with a bar for the rate the ranking goes by; a place without
    units has no rate (—)."""
    if pd.isna(value):
        return "—"
    if not bar:
        return f"{float(value) * 100:.2f}%"
    width = max(0.0, min(float(value), 1.0)) * 100
    return f'<span class="rank-bar"><span style="width:{width:.1f}%"></span></span>{float(value) * 100:.2f}%'
