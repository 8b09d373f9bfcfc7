"""The grid leader's one-page summary, as a standalone HTML page that prints on one A4 sheet.

Every text from data goes through :func:`dashboard.popups.text` (escaped) before it is joined
into the page.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from services.coverage import STATUS_LABELS

from dashboard.popups import text


def grid_summary_html(grid: dict, rates: dict, units: pd.DataFrame, todo: pd.DataFrame,
                      fictional: bool, as_of: dt.date) -> str:
    """A printable summary: who leads the grid, its figures, its blind spots, its to-do list."""
    def percent(value):
        return "—" if value is None or value != value else f"{value * 100:.1f}%"

    figures = "".join(
        f"<td><div class='v'>{value}</div><div class='l'>{label}</div></td>" for label, value in (
            ("单位", int(rates.get("units", 0))), ("单独组建", int(rates.get("own", 0))),
            ("联合组建", int(rates.get("joint", 0))), ("工作覆盖", int(rates.get("work", 0))),
            ("空白点", int(rates.get("blind", 0))), ("组织覆盖率", percent(rates.get("org_coverage_rate"))),
            ("工作覆盖率", percent(rates.get("work_coverage_rate")))))
    blind = units[units["status"] == "blind"].sort_values(["priority_blind", "employees"], ascending=False)
    blind_rows = "".join(
        f"<tr><td>{text(u['name'])}</td><td>{int(u['employees'])}</td><td>{'重点' if u['priority_blind'] else ''}</td>"
        f"<td>{text(u['reason_no_org']) or '未填写'}</td></tr>" for _, u in blind.head(15).iterrows())
    more_blind = f"<p class='more'>另有{len(blind) - 15}个空白点，见网格台账</p>" if len(blind) > 15 else ""
    todo_rows = "".join(f"<tr><td>{text(r['对象'])}</td><td>{text(r['事项'])}</td><td>{text(r['依据'])}</td></tr>"
                        for _, r in todo.head(25).iterrows())
    more_todo = f"<p class='more'>另有{len(todo) - 25}项，见待办清单表格</p>" if len(todo) > 25 else ""
    banner = "<div class='fiction'>虚构示例数据</div>" if fictional else ""
    status_counts = "、".join(f"{STATUS_LABELS[s]}{int(rates.get(s, 0))}个" for s in STATUS_LABELS)
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{text(grid.get('name'))}党建覆盖情况</title>
<style>
 @page {{ size: A4; margin: 12mm; }}
 body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; font-size: 11px; color: #222; }}
 h1 {{ font-size: 18px; margin: 0 0 4px; }} h2 {{ font-size: 13px; margin: 10px 0 4px; border-bottom: 1px solid #999; }}
 .meta {{ color: #555; margin-bottom: 6px; }} .fiction {{ color: #B8001F; font-weight: bold; float: right; }}
 table {{ border-collapse: collapse; width: 100%; }} td, th {{ border: 1px solid #ccc; padding: 2px 4px; text-align: left; }}
 .figures td {{ text-align: center; }} .v {{ font-size: 16px; font-weight: bold; }} .l {{ color: #555; }}
 .more {{ color: #555; margin: 2px 0; }}
</style></head><body>
{banner}<h1>{text(grid.get('name'))}（{text(grid.get('id'))}）党建覆盖情况</h1>
<div class="meta">所属乡镇街道：{text(grid.get('town')) or '—'} ｜ 网格长：{text(grid.get('leader')) or '未配备'}
 {text(grid.get('leader_phone'))} ｜ 统计日期：{as_of:%Y年%m月%d日}</div>
<table class="figures"><tr>{figures}</tr></table>
<p>{status_counts}。</p>
<h2>空白点（重点在前）</h2>
<table><tr><th>单位</th><th>从业人员</th><th>重点</th><th>未建党组织原因</th></tr>{blind_rows or '<tr><td colspan=4>无</td></tr>'}</table>{more_blind}
<h2>待办事项</h2>
<table><tr><th>对象</th><th>事项</th><th>依据</th></tr>{todo_rows or '<tr><td colspan=3>无</td></tr>'}</table>{more_todo}
</body></html>"""
