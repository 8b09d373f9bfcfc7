"""The 一张图 map: grids, places, centres, links and units as folium layers.

:func:`build_map` takes frames the services computed and returns a ``folium.Map``; it reads no
file and computes no figure. Each layer is ONE GeoJson layer (not one folium object per unit),
which keeps a county's map small and quick to draw. Above :data:`DETAIL_LIMIT` units (a city)
the grids' coverage tells the story at low zoom and units are drawn on a canvas only when
zoomed in, from compact arrays, culled to the view: a 100k-unit city never puts 100k markers
into the page.

On the Gaode (AMap) basemap every overlay is shifted from WGS-84 to GCJ-02, the datum Gaode's
streets are drawn in, so a unit sits on its street rather than ~500 m away.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import hashlib
import json
import uuid
from typing import NamedTuple

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from services.analysis import Analysis
from services.coords import gcj02_to_wgs84, wgs84_to_gcj02
from services.placement import grid_at
from services.coverage import STATUS_LABELS

from dashboard import fast_render, palette, popups

fast_render.install()

DETAIL_LIMIT = 5000
MAX_ZOOM = 18

OSM, GAODE, TIANDITU, NO_BASEMAP = "OpenStreetMap", "高德地图", "天地图", "无底图"
BASEMAPS = (OSM, GAODE, TIANDITU, NO_BASEMAP)

LAYER_NAMES = {
    "grids": "网格（组织覆盖率）", "grid_labels": "网格名称", "parks": "园区", "buildings": "商务楼宇",
    "markets": "商圈市场", "centres": "党群服务中心", "radius": "服务半径", "links": "联合党支部连线",
    "instructors": "指导员服务范围", "units": "单位",
}
DEFAULT_LAYERS = frozenset({"grids", "grid_labels", "parks", "buildings", "markets", "centres",
                            "radius", "links", "instructors", "units"})
INSTRUCTOR_COLOUR = "#6a3d9a"  # instructors' areas: dashed outline (and its legend line)
#: Layers in the layer control but off until ticked: instructors' areas overlap the grids and
#: the links at county scale, and are read when looking for who serves a place.
DEFAULT_HIDDEN = frozenset({"instructors"})


@dataclasses.dataclass
class Marks:
    """Points a page draws on top of the layers, as one layer with a legend-free name: e.g. the
    units that changed between two snapshots on the 汇报演示 page. ``points`` has ``x``, ``y``
    (WGS-84) and ``label`` (a tooltip, raw text: escaped here)."""

    name: str
    colour: str
    points: pd.DataFrame
    radius: int = 10


@dataclasses.dataclass
class MapView:
    """What the map shows: which units, where it looks, on which basemap, which layers."""

    units: pd.DataFrame
    grid_rates: pd.DataFrame  # coverage_rates by grid_id (indexed by grid id)
    basemap: str = OSM
    tianditu_key: str | None = None
    layers: frozenset = DEFAULT_LAYERS
    hidden: frozenset = DEFAULT_HIDDEN  # of ``layers``: listed in the layer control, drawn once ticked
    focus_grids: tuple = ()  # grid ids to zoom to
    highlight_row: int | None = None  # ledger row of a unit to fly to and open
    focus_bounds: tuple | None = None  # (minx, miny, maxx, maxy) in WGS-84 to zoom to, before focus_grids
    height: int = 640
    marks: tuple = ()  # Marks layers drawn above the units


def build_map(analysis: Analysis, view: MapView) -> folium.Map:
    """The county map for ``view``; overlays shifted to GCJ-02 on the Gaode basemap."""
    shift = view.basemap == GAODE
    county = analysis.county
    fmap = folium.Map(tiles=None, max_zoom=MAX_ZOOM, maxZoom=MAX_ZOOM, control_scale=True, prefer_canvas=False,
                      zoom_snap=0.5)
    # Only Leaflet itself: folium also loads jQuery, Bootstrap, Font Awesome and awesome-markers
    # for its icon markers, which these layers never use; streamlit-folium loads each script in
    # turn before drawing, so the map appears sooner without them.
    fmap.default_js = [js for js in folium.Map.default_js if js[0] == "leaflet"]
    fmap.default_css = [css for css in folium.Map.default_css if css[0] == "leaflet_css"]
    popups.UnitPopupScript().add_to(fmap)
    # Where the map looks is set before any layer is added, the basemap included: Leaflet then
    # projects each layer once, at the view's zoom. Set after them (folium's habit), every layer
    # was first drawn at the world zoom and then projected again (~0.15 s of a county's 1,940
    # markers), and the world's tiles were requested for nothing.
    highlight = _highlight_target(view, shift)
    if highlight is None:
        fmap.fit_bounds(_bounds(analysis, view, shift))
    else:
        fmap.location = [highlight.lat, highlight.lon]
        fmap.options["zoom"] = 17
    _add_basemap(fmap, view)
    grids = county.grids
    if "grids" in view.layers:
        _grid_layer(grids, view.grid_rates, shift).add_to(fmap)
    if "grid_labels" in view.layers and len(grids) <= 300:
        _grid_labels(grids, shift).add_to(fmap)
    if "parks" in view.layers and county.parks is not None and len(county.parks):
        _park_layer(analysis, shift).add_to(fmap)
    city = is_city(view.units)  # links and areas of a whole city would bury the map
    for name, make in (("instructors", lambda: _instructor_layer(view.units, shift)),
                       ("links", lambda: _link_layer(analysis, view.units, shift))):
        layer = make() if name in view.layers and not city else None
        if layer is not None:
            layer.show = name not in view.hidden
            layer.add_to(fmap)
    if "radius" in view.layers and county.centres is not None and len(county.centres):
        _radius_layer(county.centres, analysis.assessment.policy.service_radius_m, shift).add_to(fmap)
    for kind in ("buildings", "markets"):
        layer = getattr(county, kind)
        if kind in view.layers and layer is not None and len(layer):
            _place_point_layer(analysis, kind, layer, shift, city).add_to(fmap)
    if "centres" in view.layers and county.centres is not None and len(county.centres):
        _centre_layer(analysis, shift, city).add_to(fmap)
    if "units" in view.layers:
        _unit_layer(view.units, shift, city).add_to(fmap)
    for marks in view.marks:
        _marks_layer(marks, shift).add_to(fmap)
    if highlight is not None:
        _highlight_layer(highlight).add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    _Legend(analysis.assessment.policy.service_radius_m, city_units=len(view.units) if city else None).add_to(fmap)
    return fmap


def fingerprint(analysis: Analysis, view: MapView) -> str:
    """A digest of everything :func:`build_map` draws: which assessment (see
    :func:`_assessment_token`), which grids, which units (their ledger rows and columns), the
    grids' rates and every setting of ``view``. Two calls with one fingerprint draw the same
    map, so a rendered map can be kept under it (``dashboard.widgets.show_county_map``).
    Cheap by design: the ledger rows of 100k units hash in about a millisecond, where hashing
    their names would take a tenth of a second on every rerun.
    """
    digest = hashlib.blake2b(digest_size=20)

    def add(value) -> None:
        digest.update(value if isinstance(value, bytes) else repr(value).encode())
        digest.update(b"\x00")

    add(_assessment_token(analysis))
    add(analysis.county.grids["id"].tolist())
    add(tuple(view.units.columns))
    add(np.ascontiguousarray(view.units["row"].to_numpy(dtype="int64")).tobytes())
    add(pd.util.hash_pandas_object(view.grid_rates, index=True).to_numpy().tobytes())
    add((view.basemap, view.tianditu_key, sorted(view.layers), sorted(view.hidden), tuple(view.focus_grids),
         view.highlight_row, view.focus_bounds, view.height))
    for marks in view.marks:
        add((marks.name, marks.colour, marks.radius))
        add(pd.util.hash_pandas_object(marks.points, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _assessment_token(analysis: Analysis) -> str:
    """A token unique to the analysis's assessment object, given on first use and never reused.

    Why an object's token and not its data: one data version has several assessments with the
    same ledger rows, e.g. the viewer's and its anonymised copy for a projector (masked names),
    and telling them apart by content would mean hashing every name on every rerun. The
    dashboard keeps its assessments (per data version, policy and viewer, and the anonymised
    copy), so the token is stable across reruns; an edit or import makes a new assessment and
    so a new token. Not ``id()``: a freed object's address is reused, and a map of real names
    must never be served for an anonymised analysis that happens to land there.
    """
    assessment = analysis.assessment
    token = getattr(assessment, "_map_token", None)
    if token is None:
        token = uuid.uuid4().hex
        object.__setattr__(assessment, "_map_token", token)
    return token


# --- basemaps -----------------------------------------------------------------------------


def _add_basemap(fmap: folium.Map, view: MapView) -> None:
    """Tiles for the chosen basemap; 无底图 adds none (an intranet without any tile server)."""
    if view.basemap == OSM:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", max_zoom=MAX_ZOOM, control=False).add_to(fmap)
    elif view.basemap == GAODE:
        folium.TileLayer(
            tiles="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            attr="高德地图", name="高德地图", subdomains="1234", max_zoom=MAX_ZOOM, control=False).add_to(fmap)
    elif view.basemap == TIANDITU and view.tianditu_key:
        for layer in ("vec", "cva"):
            folium.TileLayer(
                tiles=(f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                       f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                       f"&TILECOL={{x}}&tk={view.tianditu_key}"),
                attr="天地图", name=f"天地图{layer}", subdomains="01234567", max_zoom=MAX_ZOOM,
                control=False).add_to(fmap)


def _shift_geometries(geometry: gpd.GeoSeries, shift: bool) -> gpd.GeoSeries:
    """WGS-84 geometries, moved to GCJ-02 when drawing on Gaode."""
    if not shift:
        return geometry
    moved = shapely.transform(geometry.values, lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
    return gpd.GeoSeries(moved, index=geometry.index, crs=geometry.crs)


def _shift_xy(x, y, shift: bool):
    if not shift:
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return wgs84_to_gcj02(np.asarray(x, dtype=float), np.asarray(y, dtype=float))


def _feature_collection(geometry: gpd.GeoSeries, properties: list[dict]) -> dict:
    """A GeoJSON FeatureCollection from geometries and property dicts (coordinates rounded to
    6 decimals, ~0.1 m, to keep the page small; rounding, not snapping, so no shape can
    become invalid).

    Each feature gets a number as its ``id``: folium's style and highlight functions become a
    ``switch`` on the feature's identifier, and without an id folium picks the first property
    whose values are unique — for the grids their whole tooltip, so a city's 1,000 grids made
    a switch of 1,000 long HTML strings (89 K characters), compared one by one for every grid
    as the layer was built."""
    shapes = _rounded(geometry.values)
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": number, "geometry": json.loads(shapely.to_geojson(shape)), "properties": props}
        for number, (shape, props) in enumerate(zip(shapes, properties))]}


def _rounded(shapes, decimals: int = 6):
    """Geometries with coordinates rounded to ``decimals`` (6: ~0.1 m; 5: ~1 m, for outlines)."""
    return shapely.transform(shapes, lambda xy: np.round(xy, decimals))


# --- layers -------------------------------------------------------------------------------


def _grid_layer(grids: gpd.GeoDataFrame, rates: pd.DataFrame, shift: bool) -> folium.GeoJson:
    """Grids filled by organisation coverage rate; hover for name, leader and rates."""
    properties = []
    rate_rows = rates.to_dict("index")
    for grid in grids.drop(columns="geometry").to_dict("records"):
        info = {**grid, **rate_rows.get(grid["id"], {"units": 0})}
        rate = info.get("org_coverage_rate")
        properties.append({"kind": "grid", "fill": palette.coverage_colour(rate),
                           "tooltip": popups.grid_tooltip(info)})
    data = _feature_collection(_shift_geometries(grids.geometry, shift), properties)
    return folium.GeoJson(
        data, name=LAYER_NAMES["grids"],
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "fillOpacity": 0.45,
                                  "color": "#54278f", "weight": 1, "className": "grid-area"},
        highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.6},
        # (folium refuses tooltip fields it cannot find in the data: no tooltip for no grids)
        tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False, sticky=True) if properties else None,
    )


_LABEL_POINT = folium.JsCode("""
function (feature, latlng) {
    return L.marker(latlng, {interactive: false, icon: L.divIcon({
        className: "grid-label-icon", iconSize: [120, 16], iconAnchor: [60, 8],
        html: "<div class='grid-label'>" + feature.properties.label + "</div>"})});
}
""")
_SYMBOL_POINT = folium.JsCode("""
function (feature, latlng) {
    var p = feature.properties;
    return L.marker(latlng, {icon: L.divIcon({className: "", iconSize: [p.size, p.size],
        iconAnchor: [p.size / 2, p.size / 2],
        html: "<div class='place-symbol " + p.css + "' style='background:" + p.colour + "'>" + p.symbol + "</div>"})});
}
""")
def clicked_grid(grids: gpd.GeoDataFrame, returned: dict | None, basemap: str) -> str | None:
    """The id of the grid under the last click on the map's background or a grid (st_folium's
    ``last_clicked``), or None. A click on a unit or a symbol opens its popup and is not a
    grid click. On Gaode the clicked point is in GCJ-02 and is converted back first.

    (Why not the clicked feature: Leaflet's hover styling re-inserts the grid's path between
    mouse-down and mouse-up, so the browser reports the click on the parent element and
    streamlit-folium never learns which feature it was.)"""
    point = (returned or {}).get("last_clicked") or {}
    lat, lng = point.get("lat"), point.get("lng")
    if lat is None or lng is None:
        return None
    if basemap == GAODE:
        lng, lat = (float(v) for v in gcj02_to_wgs84(lng, lat))
    return grid_at(grids, lng, lat)


_BIND_POPUP_TOOLTIP = folium.JsCode("""
function (feature, layer) {
    layer.bindPopup(feature.properties.popup, {maxWidth: 320});
    layer.bindTooltip(feature.properties.tooltip);
}
""")


def _grid_labels(grids: gpd.GeoDataFrame, shift: bool) -> folium.GeoJson:
    """Each grid's name at its representative point (one layer, labels drawn by Leaflet)."""
    points = _shift_geometries(grids.geometry.representative_point(), shift)
    return folium.GeoJson(
        _feature_collection(points, [{"label": popups.text(name)} for name in grids["name"]]),
        name=LAYER_NAMES["grid_labels"], marker=None, on_each_feature=None,
        **{"pointToLayer": _LABEL_POINT})


def _symbol_layer(name: str, points: gpd.GeoSeries, properties: list[dict], city: bool = False):
    """Point symbols (楼, 市, ★) with popups and tooltips, as one GeoJson layer; in a city's
    map, drawn only once zoomed in (:class:`_ZoomedInSymbols`)."""
    data = _feature_collection(points, properties)
    if city:
        group = folium.FeatureGroup(name=name)
        _ZoomedInSymbols(data).add_to(group)
        return group
    return folium.GeoJson(data, name=name, on_each_feature=_BIND_POPUP_TOOLTIP, **{"pointToLayer": _SYMBOL_POINT})


class _ZoomedInSymbols(MacroElement):
    """A city's place symbols, drawn only from :data:`CITY_MIN_ZOOM` (street level) on.

    Why: a city has hundreds of buildings, markets and centres (the 100k benchmark city 965);
    at the zoom that shows the whole city they are one overlapping heap that tells nothing,
    and drawing them as the map loads was a third of the map's own load time in the browser
    (the map alone, median of 11 loads: 1,236 ms with them, 853 ms without). Zoomed in, they are
    drawn as on a county's map, with the same popups and tooltips; the layer control's
    checkbox keeps working (this layer sits in the control's group). The legend says so.
    """

    _template = Template("""
    {% macro script(this, kwargs) %}
    (function () {
      var group = {{ this._parent.get_name() }}, map = {{ this._parent._parent.get_name() }};
      var data = {{ this.data|tojson }}, drawn = null;
      function update() {
        if (map.getZoom() < {{ this.min_zoom }}) {
          if (drawn !== null) { group.removeLayer(drawn); drawn = null; }
        } else if (drawn === null) {
          drawn = L.geoJson(data, {pointToLayer: {{ this.point_to_layer }}, onEachFeature: {{ this.on_each_feature }}});
          group.addLayer(drawn);
        }
      }
      map.on("zoomend", update);
      update();
    })();
    {% endmacro %}
    """)

    def __init__(self, data: dict):
        super().__init__()
        self._name = "ZoomedInSymbols"
        self.data = data
        self.min_zoom = CITY_MIN_ZOOM
        self.point_to_layer = _SYMBOL_POINT.js_code
        self.on_each_feature = _BIND_POPUP_TOOLTIP.js_code


def _tenant_counts(units: pd.DataFrame, column: str) -> pd.DataFrame:
    """Tenants, organisation-covered tenants and blind spots per place (one groupby)."""
    frame = pd.DataFrame({"place": units[column], "covered": units["status"].isin(["own", "joint"]),
                          "blind": units["status"].eq("blind")})
    grouped = frame.groupby("place")
    return pd.DataFrame({"tenants": grouped.size(), "covered": grouped["covered"].sum(),
                         "blind": grouped["blind"].sum()})


def _park_layer(analysis: Analysis, shift: bool) -> folium.GeoJson:
    """Parks as dashed outlines, with tenants, coverage and whether a centre serves them."""
    parks = analysis.county.parks
    rules = analysis.assessment.parks
    with_centre = dict(zip(rules["name"], rules["has_centre"])) if "has_centre" in rules else {}
    counts = _tenant_counts(analysis.units, "park_name")
    properties = []
    for park in parks.to_dict("records"):
        tenants = counts.loc[park["name"]] if park["name"] in counts.index else {"tenants": 0, "covered": 0}
        extra = [("级别", popups.text(park.get("level")) or "—"), ("单位", f"{int(tenants['tenants'])}个"),
                 ("组织覆盖", f"{int(tenants['covered'])}个"),
                 ("党群服务中心", "有" if with_centre.get(park["name"]) else "<b style='color:#B8001F'>无</b>")]
        properties.append({"kind": "park", "popup": popups.place_popup("园区", park, extra)})
    data = _feature_collection(_shift_geometries(parks.geometry, shift), properties)
    return folium.GeoJson(
        data, name=LAYER_NAMES["parks"],
        style_function=lambda f: {"color": palette.PLACE_COLOURS["park"], "weight": 2.5, "dashArray": "6 4",
                                  "fillOpacity": 0.05, "className": "park-area"},
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
    )


def _place_point_layer(analysis: Analysis, kind: str, layer: gpd.GeoDataFrame, shift: bool, city: bool):
    """Business buildings (楼) and markets (市) as labelled square symbols."""
    from services.geodata import layer_to_4326_points

    column = "building_name" if kind == "buildings" else "market_name"
    label, symbol = ("商务楼宇", "楼") if kind == "buildings" else ("商圈市场", "市")
    colour = palette.PLACE_COLOURS["building" if kind == "buildings" else "market"]
    counts = _tenant_counts(analysis.units, column)
    properties = []
    for place in layer.to_dict("records"):
        row = counts.loc[place["name"]] if place["name"] in counts.index else {"tenants": 0, "covered": 0, "blind": 0}
        extra = [("入驻单位", f"{int(row['tenants'])}个"), ("组织覆盖", f"{int(row['covered'])}个"),
                 ("空白点", f"{int(row['blind'])}个")]
        floors = place.get("floors")
        if kind == "buildings" and floors is not None and floors == floors:
            extra.insert(0, ("楼层", f"{int(floors)}层"))
        properties.append({"popup": popups.place_popup(label, place, extra), "tooltip": popups.text(place["name"]),
                           "symbol": symbol, "css": f"{kind}-symbol", "colour": colour, "size": 22})
    return _symbol_layer(LAYER_NAMES[kind], _shift_geometries(layer_to_4326_points(layer), shift), properties, city)


def _centre_layer(analysis: Analysis, shift: bool, city: bool):
    """Service centres as red star symbols with level, area, hours and the area standard."""
    centres = analysis.county.centres
    rules = analysis.assessment.centres
    properties = []
    for centre, too_small, minimum in zip(centres.to_dict("records"), rules["flag_centre_too_small"],
                                          rules["minimum_area_m2"]):
        area = centre.get("area_m2")
        area_text = "—" if area is None or area != area else f"{area:,.0f}㎡"
        if too_small:
            area_text += f"（<b style='color:#B8001F'>低于{minimum:,.0f}㎡标准</b>）"
        extra = [("级别", popups.text(centre.get("level")) or "—"), ("面积", area_text),
                 ("开放时间", popups.text(centre.get("hours")) or "—")]
        properties.append({"popup": popups.place_popup("党群服务中心", centre, extra),
                           "tooltip": popups.text(centre["name"]), "symbol": "★", "css": "centre-symbol",
                           "colour": palette.PLACE_COLOURS["centre"], "size": 24})
    return _symbol_layer(LAYER_NAMES["centres"], _shift_geometries(centres.geometry, shift), properties, city)


def _radius_layer(centres: gpd.GeoDataFrame, radius_m: float, shift: bool) -> folium.GeoJson:
    """Each centre's service radius (R9) as a light circle, one layer."""
    return folium.GeoJson(
        _feature_collection(_shift_geometries(centres.geometry, shift), [{} for _ in range(len(centres))]),
        name=LAYER_NAMES["radius"],
        marker=folium.Circle(radius=radius_m, fill=True),
        style_function=lambda f: {"color": palette.PLACE_COLOURS["centre"], "weight": 1, "fillOpacity": 0.06,
                                  "dashArray": "4 4", "interactive": False, "className": "service-radius"},
    )


def _link_layer(analysis: Analysis, units: pd.DataFrame, shift: bool) -> folium.GeoJson | None:
    """Each shared org (joint, grid, regional) as lines from its seat to its units.

    The seat is the org's first placed unit in ledger order (the ledger records no address for
    an org); over-cap orgs are drawn thicker and red.
    """
    orgs = analysis.assessment.orgs
    shared = units[(units["status"] == "joint") & units["x"].notna()]
    x, y = _shift_xy(shared["x"], shared["y"], shift)
    frame = pd.DataFrame({"org": shared["org_key"].to_numpy(), "x": x, "y": y})
    over_cap = set(orgs.loc[orgs["flag_joint_over_cap"], "org_key"]) if len(orgs) else set()
    names = dict(zip(orgs["org_key"], orgs["name"])) if len(orgs) else {}
    features = []
    for org, members in frame.groupby("org", sort=False):
        if len(members) < 2:
            continue
        seat = (members["x"].iloc[0], members["y"].iloc[0])
        lines = [[list(seat), [mx, my]] for mx, my in zip(members["x"].iloc[1:], members["y"].iloc[1:])]
        features.append({"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": np.round(lines, 5).tolist()},
                         "properties": {"tooltip": f"{popups.text(names.get(org, org))}：{len(members)}个单位"
                                                   + ("（超过联合组建上限）" if org in over_cap else ""),
                                        "over": org in over_cap}})
    if not features:
        return None
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features}, name=LAYER_NAMES["links"],
        style_function=lambda f: {"color": "#B8001F" if f["properties"]["over"] else "#0072B2",
                                  "weight": 3 if f["properties"]["over"] else 1.5, "opacity": 0.7,
                                  "className": "joint-link"},
        tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
    )


def _instructor_layer(units: pd.DataFrame, shift: bool) -> folium.GeoJson | None:
    """Each instructor's area: the hull of the units they serve, buffered ~150 m.

    Built in one pass of shapely's array functions (every page's map renders it, ticked or
    not), with few segments per buffered corner: an outline, not a survey line."""
    served = units[units["instructor"].notna() & units["x"].notna()]
    if served.empty:
        return None
    codes, names = pd.factorize(served["instructor"].astype(str))  # in order of first appearance
    order = np.argsort(codes, kind="stable")
    x, y = _shift_xy(served["x"], served["y"], shift)
    points = shapely.points(np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])[order])
    hulls = shapely.convex_hull(shapely.multipoints(points, indices=codes[order]))
    areas = _rounded(shapely.buffer(hulls, 0.0015, quad_segs=3), decimals=5)
    counts = np.bincount(codes, minlength=len(names))
    features = [{"type": "Feature", "geometry": json.loads(area),
                 "properties": {"tooltip": f"指导员 {popups.text(name)}：{count}个单位"}}
                for area, name, count in zip(shapely.to_geojson(areas), names, counts)]
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features}, name=LAYER_NAMES["instructors"],
        style_function=lambda f: {"color": INSTRUCTOR_COLOUR, "weight": 1, "fillOpacity": 0.08, "dashArray": "2 3",
                                  "className": "instructor-area"},
        tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
    )


def _marks_layer(marks: Marks, shift: bool) -> folium.GeoJson:
    """A :class:`Marks` layer: hollow rings in one colour, a tooltip each."""
    placed = marks.points[marks.points["x"].notna()]
    x, y = _shift_xy(placed["x"], placed["y"], shift)
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                 "properties": {"tooltip": label}}
                for lon, lat, label in zip(x, y, popups.texts(placed["label"]))]
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features}, name=popups.text(marks.name),
        marker=folium.CircleMarker(radius=marks.radius, fill=False),
        style_function=lambda f, colour=marks.colour: {"color": colour, "weight": 3, "fill": False,
                                                       "className": "change-mark"},
        tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False) if features else None,
    )


class _UnitEvents(MacroElement):
    """The units' tooltip and popup, bound once to their layer instead of to each marker.

    Why: bound to each marker, a county's 1,940 units made 1,940 tooltip and popup objects as
    the map loaded, and Leaflet then walked every marker to add keyboard-focus listeners. One
    tooltip, moved to the marker under the pointer, and a popup the layer fills for the marker
    clicked show the same texts (names come escaped, see ``popups.unit_properties``).
    """

    _template = Template("""
    {% macro script(this, kwargs) %}
    (function () {
      var units = {{ this._parent.get_name() }}, tip = L.tooltip();
      units.on("mouseover", function (e) {
        var p = e.layer.feature.properties;
        tip.setLatLng(e.layer.getLatLng()).setContent(p.n + "（" + UNIT_POPUP.statusLabels[p.s] + "）");
        units._map.openTooltip(tip);
      });
      units.on("mouseout remove", function () { if (units._map) { units._map.closeTooltip(tip); } });
      units.bindPopup(function (layer) { return UNIT_POPUP.html(layer.feature.properties); }, {maxWidth: 380});
    })();
    {% endmacro %}
    """)

    def __init__(self):
        super().__init__()
        self._name = "UnitEvents"


def is_city(units: pd.DataFrame) -> bool:
    """Whether a view's units are a city's: more than :data:`DETAIL_LIMIT` placed on the map.
    One test for everything that changes with it (the units' layer, the place symbols, links
    and areas, the legend's note), so the legend never promises what the units' layer does not do."""
    return int(units["x"].notna().sum()) > DETAIL_LIMIT


def _unit_layer(units: pd.DataFrame, shift: bool, city: bool):
    """Units coloured by status. A county's: one GeoJson layer whose popups are built in the
    browser from compact, already-escaped properties (its map stays under a megabyte); a
    city's (``city``, decided once by :func:`is_city` for the whole map): a marker cluster fed
    by arrays."""
    placed = units[units["x"].notna()]
    x, y = _shift_xy(placed["x"], placed["y"], shift)
    if city:
        return _city_units(placed, x, y)
    features = [{"type": "Feature", "id": props["row"],
                 "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}, "properties": props}
                for lon, lat, props in zip(x, y, popups.unit_properties(placed))]
    layer = folium.GeoJson(
        {"type": "FeatureCollection", "features": features}, name=LAYER_NAMES["units"],
        marker=folium.CircleMarker(radius=6, fill=True),
        style_function=lambda f: _UNIT_STYLES[f["properties"]["k"]],
    )
    _UnitEvents().add_to(layer)
    return layer


def unit_style_key(status: str, priority: bool, approximate: bool) -> str:
    """The key of a unit's marker style (status, priority ring, dashed if approximate)."""
    return status + ("-priority" if priority else "") + ("-approx" if approximate else "")


def _unit_style(status: str, priority: bool, approximate: bool) -> dict:
    style = {**palette.unit_style(status, priority),
             "className": f"unit-marker unit-{status}" + (" unit-priority" if priority else "")
                          + (" unit-approx" if approximate else "")}
    if approximate:  # placed by its park or grid: the point is not where the unit is
        style["dashArray"] = "3 2"
    return style


_UNIT_STYLES = {unit_style_key(status, priority, approximate): _unit_style(status, priority, approximate)
                for status in palette.STATUS_COLOURS for priority in (False, True) for approximate in (False, True)}


CITY_MIN_ZOOM = 14


class _CityUnits(MacroElement):
    """A city's units: packed arrays, drawn on one canvas only when zoomed in to street level,
    and only those inside the view (re-culled on every move).

    At county zoom a city's units are read from the grid choropleth (coverage per grid); a
    hundred thousand markers would neither draw fast nor tell anything. The units travel as
    :func:`pack_city_units` makes them: a quarter of the size of JSON columns, which the browser
    had to receive and parse before it could draw even the grids; it unpacks them the first
    time the map is zoomed in (the gzip stream is undone by the browser's own
    ``DecompressionStream``). Names stay out of the page (a city's names would weigh
    megabytes); the tooltip says where to look the unit up.
    """

    _template = Template("""
    {% macro script(this, kwargs) %}
    (function () {
      var packed = "{{ this.packed }}", count = {{ this.count }};
      var colours = {{ this.colours|tojson }};
      var labels = {{ this.labels|tojson }};
      var grids = {{ this.grids|tojson }};
      var group = {{ this.group.get_name() }};
      var map = {{ this.group._parent.get_name() }};  // this layer sits in the group, the group on the map
      var renderer = L.canvas({padding: 0.3});
      var units = null, unpacking = null;
      function unpack() {  // see county_map.pack_city_units
        var binary = atob(packed), bytes = new Uint8Array(binary.length);
        for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
        var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
        return new Response(stream).arrayBuffer().then(function (buffer) {
          var n = count, steps = new Int32Array(buffer, 0, 4 * n), codes = new Uint8Array(buffer, 16 * n, n);
          var lat = new Float64Array(n), lon = new Float64Array(n), row = new Int32Array(n);
          var a = 0, b = 0, r = 0;
          for (var i = 0; i < n; i++) {
            a += steps[i]; b += steps[n + i]; r += steps[2 * n + i];
            lat[i] = a / 1e5; lon[i] = b / 1e5; row[i] = r;
          }
          units = {lat: lat, lon: lon, row: row, grid: steps.subarray(3 * n, 4 * n), codes: codes};
        });
      }
      function draw() {
        group.clearLayers();
        if (map.getZoom() < {{ this.min_zoom }}) { return; }
        if (units === null) {
          unpacking = unpacking || unpack().then(draw);
          return;
        }
        var view = map.getBounds().pad(0.2);
        for (var i = 0; i < count; i++) {
          var at = [units.lat[i], units.lon[i]], status = units.codes[i] >> 1, priority = units.codes[i] & 1;
          if (!view.contains(at)) { continue; }
          L.circleMarker(at, {renderer: renderer, radius: priority ? 8 : 5, color: priority ? "#000" : "#333",
              weight: priority ? 3 : 1, fillColor: colours[status], fillOpacity: 0.9})
            .bindTooltip(labels[status] + (priority ? "（重点空白点）" : "") + " · 网格 " + (grids[units.grid[i]] || "（不在任何网格内）")
                         + " · 台账第" + units.row[i] + "行（可在上方搜索查看详情）")
            .addTo(group);
        }
      }
      map.on("zoomend moveend", draw);
      draw();
    })();
    {% endmacro %}
    """)

    def __init__(self, packed: str, count: int, grids: list[str], group: folium.FeatureGroup):
        super().__init__()
        self._name = "CityUnits"
        self.packed = packed
        self.count = count
        self.grids = grids
        self.group = group
        self.min_zoom = CITY_MIN_ZOOM
        self.colours = list(palette.STATUS_COLOURS.values())
        self.labels = [STATUS_LABELS[s] for s in palette.STATUS_COLOURS]


def pack_city_units(lat, lon, status, priority, row, grid) -> str:
    """A city's units as the browser unpacks them (:class:`_CityUnits`): base64 of a gzip stream
    of four int32 arrays — latitude and longitude in 1e-5 degree (about a metre), ledger row,
    each as the step from the unit before (small numbers, which compress well), and the grid's
    number — then one byte per unit, status code × 2 + priority."""
    steps = [np.diff(np.round(np.asarray(values, dtype=float) * 1e5).astype(np.int64), prepend=0)
             for values in (lat, lon)]
    steps.append(np.diff(np.asarray(row, dtype=np.int64), prepend=0))
    arrays = [*(a.astype("<i4") for a in steps), np.asarray(grid).astype("<i4"),
              (np.asarray(status, dtype=np.uint8) * 2 + np.asarray(priority, dtype=np.uint8)).astype(np.uint8)]
    raw = b"".join(a.tobytes() for a in arrays)
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")


def unpack_city_units(packed: str, count: int) -> dict[str, np.ndarray]:
    """What the browser reads from :func:`pack_city_units` (for tests and checks)."""
    raw = gzip.decompress(base64.b64decode(packed))
    steps = np.frombuffer(raw, dtype="<i4", count=4 * count).reshape(4, count)
    codes = np.frombuffer(raw, dtype=np.uint8, offset=16 * count, count=count)
    return {"lat": np.cumsum(steps[0]) / 1e5, "lon": np.cumsum(steps[1]) / 1e5, "row": np.cumsum(steps[2]),
            "grid": steps[3], "status": codes >> 1, "priority": codes & 1}


def _city_units(placed: pd.DataFrame, x, y) -> folium.FeatureGroup:
    """The units of a view above :data:`DETAIL_LIMIT` as a :class:`_CityUnits` layer."""
    group = folium.FeatureGroup(name=LAYER_NAMES["units"])
    grid_codes, grid_ids = pd.factorize(placed["grid_id"])
    packed = pack_city_units(
        y, x, pd.Categorical(placed["status"], categories=list(palette.STATUS_COLOURS)).codes,
        placed["priority_blind"].to_numpy(dtype=bool), placed["row"].to_numpy(dtype=np.int64), grid_codes)
    _CityUnits(packed, len(placed), popups.texts(pd.Series(grid_ids)), group).add_to(group)
    return group


_OPEN_POPUP = folium.JsCode("""
function (feature, layer) {
    layer.bindPopup(UNIT_POPUP.html(feature.properties), {maxWidth: 380, autoPan: true});
    setTimeout(function () { layer.openPopup(); }, 0);
}
""")


class _SearchHit(NamedTuple):
    """The searched unit: where the map centres, and the unit itself."""
    lon: float
    lat: float
    unit: pd.DataFrame  # one row


def _highlight_target(view: MapView, shift: bool) -> _SearchHit | None:
    """The searched unit when it has a place on the map, else None."""
    if view.highlight_row is None:
        return None
    match = view.units[(view.units["row"] == view.highlight_row) & view.units["x"].notna()]
    if match.empty:
        return None
    x, y = _shift_xy(match["x"].iloc[:1], match["y"].iloc[:1], shift)
    return _SearchHit(float(x[0]), float(y[0]), match.iloc[:1])


def _highlight_layer(hit: _SearchHit) -> folium.GeoJson:
    """A ring on the searched unit, whose popup opens at once."""
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [hit.lon, hit.lat]},
               "properties": popups.unit_properties(hit.unit)[0]}
    return folium.GeoJson({"type": "FeatureCollection", "features": [feature]}, name="搜索结果", control=False,
                          marker=folium.CircleMarker(radius=14, color="#B8001F", weight=4, fill=False,
                                                     class_name="search-hit"),
                          on_each_feature=_OPEN_POPUP)


def _bounds(analysis: Analysis, view: MapView, shift: bool):
    """Where the map looks: the focus bounds, else the focused grids, else the whole county."""
    if view.focus_bounds is not None:
        minx, miny, maxx, maxy = view.focus_bounds
        (minx, maxx), (miny, maxy) = _shift_xy([minx, maxx], [miny, maxy], shift)
        return [[float(miny), float(minx)], [float(maxy), float(maxx)]]
    grids = analysis.county.grids
    if view.focus_grids:
        shape = grids[grids["id"].isin(view.focus_grids)].geometry
    else:
        shape = grids.geometry
    shape = _shift_geometries(shape, shift)
    if len(shape) == 0:
        shape = _shift_geometries(grids.geometry, shift)
    minx, miny, maxx, maxy = shape.total_bounds
    return [[miny, minx], [maxy, maxx]]


class _Legend(MacroElement):
    """The always-visible legend, inside the map so it shows in screenshots and exports."""

    _template = Template("""
    {% macro script(this, kwargs) %}
    (function () {
      var legend = L.control({position: "bottomleft"});
      legend.onAdd = function () {
        var div = L.DomUtil.create("div", "map-legend");
        div.innerHTML = {{ this.markup|tojson }};
        return div;
      };
      legend.addTo({{ this._parent.get_name() }});
    })();
    {% endmacro %}
    {% macro header(this, kwargs) %}
    <style>
      .map-legend { background: rgba(255,255,255,.92); max-width: 240px;
        padding: 8px 10px; border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.3); font: 11px/1.35 sans-serif; }
      .legend-title { font-weight: bold; margin-top: 4px; }
      .legend-city { font-weight: bold; color: #B8001F; margin-bottom: 4px; }
      .legend-dot { display: inline-block; width: 12px; height: 12px; border-radius: 50%; border: 1px solid #333;
        margin-right: 6px; vertical-align: middle; }
      .legend-priority { width: 14px; height: 14px; border: 3px solid #000; }
      .legend-approx { background: #fff; border: 1.5px dashed #333; }
      .legend-box { display: inline-block; width: 16px; height: 12px; border: 1px solid #54278f; margin-right: 6px;
        vertical-align: middle; opacity: .8; }
      .legend-line { display: inline-block; width: 22px; border-top: 2.5px dashed; margin: 0 6px 3px 0; }
      .legend-line.solid { border-top: 2px solid #0072B2; margin-left: 8px; }
      .place-symbol { color: #fff; font: bold 12px/22px sans-serif; text-align: center; width: 22px; height: 22px;
        border-radius: 4px; border: 1px solid #fff; box-shadow: 0 0 2px #000; }
      .centre-symbol { background: {{ this.centre }}; border-radius: 50%; font-size: 15px; width: 24px; height: 24px; line-height: 24px; }
      .legend-symbol { display: inline-block; width: 16px; height: 16px; line-height: 16px; font-size: 10px; margin: 0 4px; }
      .grid-label { font: 11px sans-serif; color: #3f007d; text-align: center; white-space: nowrap;
        text-shadow: 0 0 3px #fff, 0 0 3px #fff; pointer-events: none; }
      {{ this.place_popup_css }}
    </style>
    {% endmacro %}
    """)

    def __init__(self, radius_m: float, city_units: int | None = None):
        super().__init__()
        self._name = "Legend"
        self.centre = palette.PLACE_COLOURS["centre"]
        self.markup = _legend_markup(radius_m, city_units)
        self.place_popup_css = popups.PLACE_POPUP_CSS


def _legend_markup(radius_m: float, city_units: int | None = None) -> str:
    """The legend's HTML (no data in it: labels and colours are the app's own). ``city_units``:
    the map is a city's, whose units and place symbols appear only once zoomed in; say so."""
    parts = []
    if city_units is not None:
        parts.append(f"<div class='legend-city'>单位较多（{city_units:,}个）：放大到街道级（缩放级别{CITY_MIN_ZOOM}及以上）"
                     "后显示单位及楼宇、市场、服务中心标记</div>")
    parts.append("<div class='legend-title'>单位覆盖状态</div>")
    parts += [f"<div><span class='legend-dot' style='background:{c}'></span>{label}</div>"
              for c, label in palette.status_legend()]
    parts.append(f"<div><span class='legend-dot legend-priority' style='background:{palette.STATUS_COLOURS['blind']}'>"
                 f"</span>{palette.PRIORITY_LABEL}</div>")
    parts.append("<div><span class='legend-dot legend-approx'></span>虚线边：位置为近似（按园区或网格）</div>")
    parts.append("<div class='legend-title'>网格组织覆盖率</div>")
    parts += [f"<div><span class='legend-box' style='background:{c}'></span>{label}</div>"
              for c, label in palette.coverage_bin_labels()]
    parts.append(f"<div><span class='legend-box' style='background:{palette.NO_UNITS_COLOUR}'></span>无单位</div>")
    parts.append("<div class='legend-title'>其他</div>")
    parts.append(f"<div><span class='place-symbol legend-symbol' style='background:{palette.PLACE_COLOURS['building']}'>楼</span>商务楼宇"
                 f"<span class='place-symbol legend-symbol' style='background:{palette.PLACE_COLOURS['market']}'>市</span>商圈市场</div>")
    parts.append(f"<div><span class='place-symbol centre-symbol legend-symbol'>★</span>党群服务中心"
                 f"（虚线圈：{radius_m:,.0f}米服务半径）</div>")
    parts.append(f"<div><span class='legend-line' style='border-color:{palette.PLACE_COLOURS['park']}'></span>园区"
                 "<span class='legend-line solid'></span>联合党支部连线"
                 f"<span class='legend-line' style='border-color:{INSTRUCTOR_COLOUR};margin-left:8px'></span>指导员服务范围</div>")
    return "".join(parts)
