"""Take-away files of the map: one HTML file that opens offline by double-click.

Made from the same ``folium`` map the page shows (:func:`dashboard.county_map.build_map`, same
layers, popups, legend and colours), for the analysis as the viewer sees it (the caller passes
the scoped analysis and the page's :class:`~dashboard.county_map.MapView`), then written as ONE
self-contained file: Leaflet's JS/CSS and every image are inlined from static/vendor/ by
:func:`dashboard.assets.inline_assets`, the data is in the page. It is drawn on the 无底图
basemap whatever the page used: a tile layer would ask a tile server for every square it
shows, which a laptop in a meeting room without network cannot reach (and the file must not
make any request at all). The grids, their names and the places carry the geography.

A banner at the top says what the file is: its title, the date it was made and, for the demo
county, 虚构示例数据, so a forwarded file can never be taken for real figures.

The PNG for slides and the PDF brief are made in ``services`` (:mod:`services.static_map`,
:mod:`services.brief_pdf`): they need no browser and no folium.
"""

from __future__ import annotations

import dataclasses
import datetime

from branca.element import Element

from services.analysis import Analysis
from services.static_map import today_text
from services.workspace import FICTIONAL_NOTE

from dashboard import assets, county_map, popups

_BANNER_STYLE = """
<style>
  .takeaway-banner { position: fixed; top: 10px; left: 50%; transform: translateX(-50%); z-index: 1100;
    background: rgba(255,255,255,.95); border-radius: 6px; box-shadow: 0 1px 5px rgba(0,0,0,.35);
    padding: 6px 14px; font: 15px/1.4 "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif;
    white-space: nowrap; max-width: calc(100% - 360px); overflow: hidden; text-overflow: ellipsis; }
  .takeaway-title { font-weight: bold; }
  .takeaway-date { color: #555; margin-left: 10px; font-size: 13px; }
  .takeaway-fictional { background: #B8001F; color: #fff; font-weight: bold; border-radius: 4px;
    padding: 1px 8px; margin-left: 10px; font-size: 13px; }
</style>
"""


def standalone_html(analysis: Analysis, view: county_map.MapView, *, fictional: bool, title: str,
                    day: datetime.date | None = None) -> bytes:
    """The map of ``view`` as one UTF-8 HTML file that draws with no network at all."""
    offline = dataclasses.replace(view, basemap=county_map.NO_BASEMAP, tianditu_key=None)
    fmap = county_map.build_map(analysis, offline)
    root = fmap.get_root()
    root.title = popups.text(f"{title}（{FICTIONAL_NOTE}）" if fictional else title)
    # Title and name come from data: escaped (popups.text also keeps braces away from Jinja,
    # which branca runs over every element's text).
    badge = f"<span class='takeaway-fictional'>{FICTIONAL_NOTE}</span>" if fictional else ""
    root.header.add_child(Element(_BANNER_STYLE), name="takeaway_style")
    root.html.add_child(Element(
        f"<div class='takeaway-banner' role='banner'><span class='takeaway-title'>{popups.text(title)}</span>"
        f"<span class='takeaway-date'>{today_text(day)}制</span>{badge}</div>"), name="takeaway_banner")
    return assets.inline_assets(root.render()).encode("utf-8")
