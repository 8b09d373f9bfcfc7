"""HTML of popups and tooltips. Every text that came from data is escaped here.

Names and addresses are typed by people and may contain ``<``, ``&`` or quotes (or worse);
Leaflet inserts popup content as HTML, so each value passes through :func:`text` before it is
joined into markup, and nothing else builds popup HTML.

:func:`text` also turns ``{`` and ``}`` into character references. branca (folium's base)
compiles each element's rendered output again as a Jinja template, so a unit named
``{{ 7*7 }}`` would otherwise be drawn as "49" — and Jinja expressions can reach Python
objects (server-side template injection). As references the braces display unchanged in the
popup but never reach Jinja.
"""

from __future__ import annotations

import html
import re

import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from services.actions import FLAG_LABELS
from services.analysis import unit_flag_lists
from services.coverage import STATUS_LABELS
from services.placement import PLACEMENT_LABELS

from dashboard.palette import STATUS_COLOURS


_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})


def text(value) -> str:
    """A data value as escaped text (HTML and Jinja markers neutralised); blank for missing."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return ""
    return html.escape(str(value), quote=True).translate(_BRACES)


def texts(values: pd.Series) -> list[str]:
    """:func:`text` of a whole column, with pyarrow string kernels (a city has 100k names)."""
    strings = values.astype("str").where(values.notna(), "")
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"),
                        ("{", "&#123;"), ("}", "&#125;")):
        strings = strings.str.replace(raw, entity, regex=False)
    return strings.tolist()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=^\"'])")


def markdown_text(value) -> str:
    """A data value for ``st.markdown``/``st.info``…: every ASCII punctuation mark that
    Markdown or Streamlit's directives (``:red[…]``, ``:material/…:``) read is backslash-escaped,
    so a name is shown as typed and never becomes a link, an image or markup; blank for missing."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return ""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(value))


def _row(label: str, value: str) -> str:
    return f"<tr><th>{label}</th><td>{value}</td></tr>"


def unit_properties(units: pd.DataFrame) -> list[dict]:
    """Compact GeoJSON properties of each unit, every data text escaped; the browser builds
    the popup from them (:class:`UnitPopupScript`). ``k`` (the style key) comes first: folium
    picks the first property that decides the style to switch on."""
    flag_index = {flag: i for i, flag in enumerate(FLAG_LABELS)}
    statuses = list(STATUS_LABELS)
    status = units["status"].tolist()
    priority = units["priority_blind"].astype(bool).tolist()
    org_type = units["org_type_used"].astype(object).where(units["org_type_used"].notna(), None)
    orgs = [name + (f"（{text(kind)}）" if name and kind else "")
            for name, kind in zip(texts(units["org_name"]), org_type)]
    counts = units[["formal_members", "probationary_members", "mobile_members", "activists"]].astype(int).values.tolist()
    columns = zip(status, priority, texts(units["name"]), texts(units["credit_code"]),
                  units["kind"].tolist(), texts(units["industry"]), texts(units["address"]),
                  units["employees"].astype(int).tolist(), counts, orgs, texts(units["instructor"]),
                  texts(units["mass_orgs"]), texts(units["reason_no_org"]), texts(units["grid_id"]),
                  units["placed_by"].astype(object).where(units["placed_by"].notna(), "").tolist(),
                  units["row"].astype(int).tolist(), unit_flag_lists(units))
    return [
        {"k": s + ("-priority" if p else "") + ("-approx" if b in ("park", "grid") else ""), "n": n, "c": c, "s": statuses.index(s), "p": int(p),
         "t": "社会组织" if kind == "social_org" else "非公企业", "i": i, "a": a, "e": e, "m": m, "o": o,
         "r": r, "g": g, "x": x, "grid": grid, "b": b, "row": row,
         "f": [flag_index[f] for f in flags if f in flag_index]}
        for s, p, n, c, kind, i, a, e, m, o, r, g, x, grid, b, row, flags in columns
    ]


class UnitPopupScript(MacroElement):
    """The browser-side builder of unit popups (``UNIT_POPUP.html(properties)``).

    Its script must come before the unit layers' (add it to the map first): streamlit-folium
    runs the map script but not inline scripts of the header.

    It only joins the already-escaped property texts with the app's own labels, so no data
    reaches the page unescaped; defining it once keeps each unit's data small.
    """

    _template = Template("""
    {% macro script(this, kwargs) %}
    var UNIT_POPUP = {
      statusLabels: {{ this.status_labels|tojson }},
      statusColours: {{ this.status_colours|tojson }},
      flagLabels: {{ this.flag_labels|tojson }},
      placedLabels: {{ this.placed_labels|tojson }},
      row: function (label, value) {
        return "<tr><th style='text-align:left;padding-right:8px;white-space:nowrap;vertical-align:top'>" +
          label + "</th><td>" + (value === "" || value === undefined ? "—" : value) + "</td></tr>";
      },
      html: function (p) {
        var badge = "<span style='background:" + this.statusColours[p.s] +
          ";color:#fff;padding:1px 6px;border-radius:3px'>" + this.statusLabels[p.s] + "</span>";
        if (p.p) { badge += " <b style='color:#B8001F'>重点空白点</b>"; }
        var placed = this.placedLabels[p.b] || "未定位";
        if (p.b === "park" || p.b === "grid") { placed += "，位置为近似"; }
        var rows = [
          this.row("状态", badge), this.row("类型", p.t), this.row("行业", p.i), this.row("地址", p.a),
          this.row("从业人员", p.e + "人"),
          this.row("党员", "正式" + p.m[0] + " · 预备" + p.m[1] + " · 流动" + p.m[2] + " · 积极分子" + p.m[3]),
          this.row("党组织", p.o), this.row("指导员", p.r), this.row("群团组织", p.g),
          this.row("未建原因", p.x), this.row("网格", p.grid), this.row("定位依据", placed),
          this.row("台账行号", String(p.row))
        ];
        if (p.f.length) {
          var labels = this.flagLabels;
          rows.push(this.row("提示", p.f.map(function (i) {
            return "<span class='unit-flag'>" + labels[i] + "</span>"; }).join(" ")));
        }
        return "<div class='unit-popup'><div class='unit-popup-name'>" + p.n + "</div><div class='unit-popup-code'>" +
          p.c + "</div><table>" + rows.join("") + "</table></div>";
      }
    };
    {% endmacro %}
    {% macro header(this, kwargs) %}
    <style>
      .unit-popup { font-size: 13px; min-width: 260px; }
      .unit-popup-name { font-weight: bold; font-size: 14px; margin-bottom: 2px; }
      .unit-popup-code { color: #666; margin-bottom: 4px; }
      .unit-flag { border: 1px solid #999; border-radius: 3px; padding: 0 4px; margin: 1px; display: inline-block; }
    </style>
    {% endmacro %}
    """)

    def __init__(self):
        super().__init__()
        self._name = "UnitPopupScript"
        self.status_labels = list(STATUS_LABELS.values())
        self.status_colours = [STATUS_COLOURS[s] for s in STATUS_LABELS]
        self.flag_labels = list(FLAG_LABELS.values())
        self.placed_labels = PLACEMENT_LABELS


def grid_tooltip(grid: dict) -> str:
    """Grid name, leader and coverage (the leader's name is data: escaped)."""
    rate = grid.get("org_coverage_rate")
    rate_text = "—" if rate is None or rate != rate else f"{rate:.1%}"
    work = grid.get("work_coverage_rate")
    work_text = "—" if work is None or work != work else f"{work:.1%}"
    return (f"<b>{text(grid.get('name'))}</b>（{text(grid.get('id'))}）<br>网格长：{text(grid.get('leader')) or '未配备'}"
            f"<br>单位{int(grid.get('units', 0))}个，组织覆盖率{rate_text}，工作覆盖率{work_text}")


def place_popup(kind: str, row: pd.Series | dict, extra: list[tuple[str, str]] = ()) -> str:
    """A park, building, market or centre: its name, then (label, escaped value) rows."""
    rows = "".join(_row(label, value) for label, value in extra)
    return (f"<div class='place-popup'><b>{text(row.get('name'))}</b>"
            f"<div class='place-kind'>{kind}</div><table>{rows}</table></div>")


#: The look of :func:`place_popup` (in the map's header: classes, not a style attribute per
#: cell, which a city's 600 building popups repeated 0.3 MB worth).
PLACE_POPUP_CSS = """
.place-popup { font-size: 13px; min-width: 200px; }
.place-popup .place-kind { color: #666; }
.place-popup th { text-align: left; padding-right: 8px; white-space: nowrap; }
"""
