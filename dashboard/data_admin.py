"""UI pieces of the 数据管理 page: reading uploads once, the report tables, the preview maps and
the buttons' write actions.

The page lets staff change what every other page shows, so each write is shown before it is
made (the validation report, where the units land, what the import changes) and made only by an
explicit click. Writes run in button callbacks whose arguments are bound when the button is
drawn: the import then names the data version the user saw the plan at, not the one current at
the click, and a write by someone else in between is refused by the store instead of being
silently overwritten. The script reruns after every callback, so every page keys on the new
data version at once.

Every text that came from a file or the store reaches Markdown through
:func:`dashboard.popups.markdown_text` and map HTML through :func:`dashboard.popups.text`;
tables go to ``st.dataframe``, which shows text as text.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from services import geodata
from services.county import County
from services.ledger import CHINESE_HEADER, Ledger, read_ledger
from services.placement import PLACEMENT_LABELS, place_units
from services.problems import InputError, Problem
from services.snapshots import take_snapshot
from services.store import ConflictError, Store, StoreError, UnitDiff
from services.store.export import LAYER_KINDS
from services.template import ledger_template

from dashboard import popups, state, widgets
from dashboard.notices import post as _notice, show as show_notice  # noqa: F401

MAX_UPLOAD_MB = 50
LEDGER_TYPES = ["xlsx", "xls", "csv"]
LAYER_TYPES = ["geojson", "json", "gpkg", "zip"]
INSTRUCTORS = "instructors"
LAYER_LABELS = {kind: spec.label for kind, spec in geodata.LAYER_SPECS.items()} | {INSTRUCTORS: "党建指导员名单"}
EXPORT_LABELS = {kind: spec.label for kind, spec in geodata.LAYER_SPECS.items()} | {"boundary": "县域边界"}

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"
GEOJSON_MIME = "application/geo+json"
GPKG_MIME = "application/geopackage+sqlite3"

PLACEMENT_COLOURS = {"coordinates": "#0072B2", "building": "#CC79A7", "park": "#009E73", "grid": "#E69F00"}
_LEGEND_COLOURS = {"coordinates": "blue", "building": "violet", "park": "green", "grid": "orange"}
PREVIEW_POINT_LIMIT = 5000  # a preview, not the county map: enough points to see where they land

_READ = "_data_admin_read_{}"
_PREVIEW = "_data_admin_preview"
_UPLOADER_ROUND = "_data_admin_uploader_round"


# --- who, notices, uploads ---------------------------------------------------------------


def current_user() -> str:
    """The signed-in account's name, written to the history and the audit log with every
    import, layer and removal (``（尚无账号）`` while no account exists)."""
    return state.viewer().name


def uploader_key(slot: str) -> str:
    """The uploader's key; a new key after a successful write empties the uploader, so the same
    file is not imported twice by accident."""
    return f"{slot}_{st.session_state.get(_UPLOADER_ROUND, 0)}"


def _clear_uploaders() -> None:
    """Empty every uploader and forget what was read from them (a ledger can be large)."""
    st.session_state[_UPLOADER_ROUND] = st.session_state.get(_UPLOADER_ROUND, 0) + 1
    for key in [key for key in st.session_state if str(key).startswith((_READ.format(""), _PREVIEW))]:
        del st.session_state[key]


def too_large(upload) -> bool:
    """Refuse a file over the limit with a message saying what to do (the server's own limit
    is larger, and its message is not the county's language)."""
    if upload.size <= MAX_UPLOAD_MB * 1024 * 1024:
        return False
    st.error(f"文件大小为{upload.size / 1024 / 1024:,.1f} MB，超过{MAX_UPLOAD_MB} MB的上限。"
             "请删除多余的工作表、图片或字段，或拆分后再上传。")
    return True


def read_once(slot: str, upload, reader: Callable[[str, bytes], object]) -> tuple[object | None, str | None]:
    """``reader(name, bytes)`` of an uploaded file, once per file: the uploader keeps its file
    (and its id) across reruns, so clicking anything on the page does not re-read a 100k-row
    ledger. Returns ``(result, None)`` or ``(None, the reader's one-line message)``."""
    key = _READ.format(slot)
    cached = st.session_state.get(key)
    if cached is None or cached[0] != upload.file_id:
        with st.spinner(f"正在读取 {popups.markdown_text(upload.name)} ……"):
            try:
                cached = (upload.file_id, reader(upload.name, upload.getvalue()), None)
            except InputError as error:
                cached = (upload.file_id, None, str(error))
        st.session_state[key] = cached
    return cached[1], cached[2]


def _saved(name: str, data: bytes, read: Callable[[Path], object]):
    """Run a reader on the bytes saved under the original file name: the readers name the file
    in their messages and tell formats apart by its suffix."""
    with tempfile.TemporaryDirectory(prefix="upload-") as folder:
        path = Path(folder) / (Path(name).name or "upload")
        path.write_bytes(data)
        return read(path)


def read_ledger_upload(name: str, data: bytes) -> Ledger:
    """An uploaded ledger, read with its cells kept (the store keeps what the staff wrote)."""
    return _saved(name, data, lambda path: read_ledger(path, keep_cells=True))


def layer_reader(kind: str) -> Callable[[str, bytes], object]:
    """The reader of an uploaded layer (or the instructor list) of ``kind``."""
    if kind == INSTRUCTORS:
        return lambda name, data: _saved(name, data, geodata.read_instructors)
    return lambda name, data: _saved(name, data, lambda path: geodata.read_layer(path, kind))


# --- what is stored --------------------------------------------------------------------


@st.cache_resource(max_entries=2, show_spinner="正在读取图层……")
def _county(_store: Store, url: str, version: int) -> County:
    return _store.load_county()


def stored_county(store: Store) -> County:
    """The stored layers, read once per data version (shared, read-only)."""
    return _county(store, store.url, store.version())


@st.cache_resource(max_entries=2)
def _unit_counts(_store: Store, url: str, version: int) -> tuple[int, int]:
    cells = _store.unit_cells()
    return len(cells), int(cells["absent_since"].notna().sum())


def unit_counts(store: Store) -> tuple[int, int]:
    """How many units are stored, and how many of them wait for their removal to be confirmed."""
    return _unit_counts(store, store.url, store.version())


def stored_layers(county: County) -> dict[str, gpd.GeoDataFrame]:
    """The layers the county has, in the export's order."""
    return {kind: getattr(county, kind) for kind in LAYER_KINDS if getattr(county, kind) is not None}


@st.cache_data(show_spinner=False)
def template_bytes(note: str | None) -> bytes:
    return ledger_template(note)


def import_table(imports: pd.DataFrame) -> pd.DataFrame:
    """The import history under Chinese headers, newest first."""
    return imports.rename(columns={
        "fid": "编号", "imported_at": "时间", "who": "操作人", "what": "类型", "source": "文件",
        "added": "新增", "changed": "更新", "unchanged": "未变", "rejected": "拒收行", "absent": "台账中已无",
        "note": "备注"})


def history_table(history: pd.DataFrame) -> pd.DataFrame:
    """Changes of units under Chinese headers, field names as the ledger's headers."""
    return pd.DataFrame({
        "时间": history["changed_at"], "操作人": history["who"], "操作": history["action"],
        "统一社会信用代码": history["credit_code"],
        "字段": history["field"].map(lambda field: CHINESE_HEADER.get(field, field)),
        "原值": history["old"], "新值": history["new"]})


# --- the validation report -------------------------------------------------------------


def ledger_counts(ledger: Ledger) -> dict[str, int]:
    """The four figures of the validation report."""
    kept, rejected = len(ledger.units), len(ledger.rejected_rows)
    return {"读取行数": kept + rejected, "保留": kept, "拒收": rejected,
            "有提示的行": len({p.row for p in ledger.flagged})}


def problem_table(problems: list[Problem], row_label: str = "行号", *, outcome: bool = False) -> pd.DataFrame:
    """Problems as a table a person works through: where, which column, what, why; with
    ``outcome``, also whether the row or feature was left out or kept."""
    table = pd.DataFrame({
        row_label: pd.array([p.row for p in problems], dtype="Int64"),
        "列": [p.column for p in problems],
        "取值": [p.value for p in problems],
        "原因": [p.reason for p in problems]})
    if outcome:
        table["处理"] = ["已剔除" if p.rejected else "已保留" for p in problems]
    return table


def placement_table(placed: pd.DataFrame) -> pd.DataFrame:
    """How many units land by each kind of evidence, and how many do not land at all."""
    labels = placed["placed_by"].map(PLACEMENT_LABELS).fillna("未定位")
    order = [*PLACEMENT_LABELS.values(), "未定位"]
    counts = labels.value_counts().reindex(order, fill_value=0)
    return pd.DataFrame({"定位依据": counts.index, "单位数": counts.to_numpy()})


def unplaced_table(placed: pd.DataFrame) -> pd.DataFrame:
    """Why the units that cannot be placed cannot be, most frequent first."""
    reasons = placed["unplaced_reason"].dropna().value_counts()
    return pd.DataFrame({"未定位原因": reasons.index, "单位数": reasons.to_numpy()})


def unplaced_units(placed: pd.DataFrame) -> pd.DataFrame:
    unplaced = placed[placed["placed_by"].isna()]
    return pd.DataFrame({"行号": unplaced["row"], "企业名称": unplaced["name"],
                         "未定位原因": unplaced["unplaced_reason"]}).reset_index(drop=True)


# --- the import plan -------------------------------------------------------------------


def import_preview(store: Store, upload_id: str, ledger: Ledger) -> tuple[int, UnitDiff, pd.DataFrame]:
    """The data version, the plan and the placement of an uploaded ledger, computed once per file
    and data version. The version is read first: a write that slips in before the plan makes
    the import refuse (it expects the older version), never apply a plan nobody saw."""
    version = store.version()
    cached = st.session_state.get(_PREVIEW)
    if cached is None or cached[:2] != (upload_id, version):
        with st.spinner("正在比对数据库……"):
            placed = place_units(ledger.units, stored_county(store))
            cached = (upload_id, version, store.plan_import(ledger), placed)
        st.session_state[_PREVIEW] = cached
    return cached[1], cached[2], cached[3]


def plan_counts(plan: UnitDiff) -> dict[str, int]:
    return {"新增": len(plan.added), "更新": len(plan.changed), "未变": plan.unchanged, "台账中已无": len(plan.absent)}


def change_table(plan: UnitDiff) -> pd.DataFrame:
    changes = plan.changes
    return pd.DataFrame({
        "企业名称": changes["name"], "统一社会信用代码": changes["credit_code"],
        "字段": changes["field"].map(lambda field: CHINESE_HEADER.get(field, field)),
        "原值": changes["old"], "新值": changes["new"]})


def added_table(plan: UnitDiff) -> pd.DataFrame:
    added = plan.added
    if added.empty:
        return pd.DataFrame(columns=["企业名称", "统一社会信用代码"])
    return pd.DataFrame({"企业名称": added["name"], "统一社会信用代码": added["credit_code"]})


def absent_table(absent: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"企业名称": absent["name"], "统一社会信用代码": absent["credit_code"],
                         "标记时间": absent["absent_since"].fillna("本次导入后标记")})


# --- the maps --------------------------------------------------------------------------


def _base_map() -> folium.Map:
    """A plain Leaflet map (no jQuery/Bootstrap: these layers use none of folium's icons)."""
    fmap = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, max_zoom=18)
    fmap.default_js = [js for js in folium.Map.default_js if js[0] == "leaflet"]
    fmap.default_css = [css for css in folium.Map.default_css if css[0] == "leaflet_css"]
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", max_zoom=18, control=False).add_to(fmap)
    return fmap


def _outlines(frame: gpd.GeoDataFrame, name: str, label: str) -> folium.GeoJson:
    data = frame[[label, "geometry"]].assign(tip=popups.texts(frame[label]))[["tip", "geometry"]]
    return folium.GeoJson(
        json.loads(data.to_json(drop_id=True)), name=name,
        style_function=lambda feature: {"color": "#54278f", "weight": 1, "fill": True, "fillOpacity": 0.08},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False))


def preview_map(placed: pd.DataFrame, grids: gpd.GeoDataFrame) -> tuple[folium.Map, int]:
    """The grids and where the uploaded units land, coloured by what placed them; returns the
    map and how many points it draws (at most :data:`PREVIEW_POINT_LIMIT`)."""
    points = placed[placed["x"].notna()]
    if len(points) > PREVIEW_POINT_LIMIT:
        points = points.sample(PREVIEW_POINT_LIMIT, random_state=0)
    fmap = _base_map()
    bounds = _bounds(grids, points if len(points) else None)
    if bounds:  # before the layers, so Leaflet projects them once (see county_map.build_map)
        fmap.fit_bounds(bounds)
    if len(grids):
        _outlines(grids, "网格", "id").add_to(fmap)
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]},
                 "properties": {"tip": f"{name}（{PLACEMENT_LABELS[by]}）", "c": PLACEMENT_COLOURS[by]}}
                for x, y, name, by in zip(points["x"], points["y"], popups.texts(points["name"]), points["placed_by"])]
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features}, name="上传的单位",
            marker=folium.CircleMarker(radius=4, weight=1, color="#333333", fill=True, fill_opacity=0.9),
            style_function=lambda feature: {"fillColor": feature["properties"]["c"]},
            tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False)).add_to(fmap)
    return fmap, len(points)


def placement_legend() -> str:
    """The preview map's legend in Streamlit's Markdown colours (nearest to the map's)."""
    return "　".join(f":{_LEGEND_COLOURS[kind]}[●] {label}" for kind, label in PLACEMENT_LABELS.items())


def layer_map(frame: gpd.GeoDataFrame, kind: str) -> folium.Map:
    """An uploaded layer on its own, each feature named on hover."""
    fmap = _base_map()
    bounds = _bounds(frame, None)
    if bounds:  # before the layers, so Leaflet projects them once
        fmap.fit_bounds(bounds)
    label = geodata.LAYER_SPECS[kind].key or "name"
    polygons = frame[frame.geometry.geom_type != "Point"]
    points = frame[frame.geometry.geom_type == "Point"]
    name = LAYER_LABELS[kind]
    if len(polygons):
        _outlines(polygons, name, label).add_to(fmap)
    if len(points):
        data = points[[label, "geometry"]].assign(tip=popups.texts(points[label]))[["tip", "geometry"]]
        folium.GeoJson(json.loads(data.to_json(drop_id=True)), name=name,
                       marker=folium.CircleMarker(radius=5, weight=1, color="#333333", fill=True,
                                                  fill_color="#B8001F", fill_opacity=0.9),
                       tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False)).add_to(fmap)
    return fmap


def _bounds(frame: gpd.GeoDataFrame | None, points: pd.DataFrame | None):
    boxes = []
    if frame is not None and len(frame) and not frame.geometry.is_empty.all():
        boxes.append(tuple(frame.total_bounds))
    if points is not None:
        boxes.append((points["x"].min(), points["y"].min(), points["x"].max(), points["y"].max()))
    if not boxes:
        return None
    minx, miny = min(b[0] for b in boxes), min(b[1] for b in boxes)
    maxx, maxy = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


# --- layer checks ----------------------------------------------------------------------


def grid_overlaps(kind: str, frame: gpd.GeoDataFrame) -> pd.DataFrame | None:
    """Uploaded grids that overlap each other (a unit in the overlap has two grids); None for
    another layer."""
    if kind != "grids":
        return None
    overlaps = geodata.find_grid_overlaps(frame)
    return pd.DataFrame({"网格": overlaps["grid_a"], "与网格": overlaps["grid_b"],
                         "重叠面积（平方米）": overlaps["area_m2"].round(0)})


def grid_gaps(kind: str, frame: gpd.GeoDataFrame, county: County) -> pd.DataFrame | None:
    """Land inside a town that no grid covers, for uploaded grids against the stored towns or
    uploaded towns against the stored grids; None when there is nothing to compare with."""
    if kind == "grids" and county.towns is not None:
        gaps = geodata.find_grid_gaps(frame, county.towns)
    elif kind == "towns" and len(county.grids):
        gaps = geodata.find_grid_gaps(county.grids, frame)
    else:
        return None
    return pd.DataFrame({"乡镇街道": gaps["town"], "未被网格覆盖的面积（平方米）": gaps["area_m2"].round(0)})


def feature_label(kind: str) -> str:
    """How a row of the problem table is numbered: features in a layer, rows in a table."""
    return "行号" if kind == INSTRUCTORS else "要素序号"


# --- the writes (button callbacks) -----------------------------------------------------


def import_ledger(store: Store, ledger: Ledger, source: str, version: int) -> None:
    """Import the ledger the user checked; ``version`` is the data version the plan was shown at."""
    try:
        result = store.import_ledger(ledger, current_user(), source=source, expected_version=version)
    except ConflictError as error:
        _notice("ledger", "warning", f"{error}。页面已按最新数据重新比对，请检查后再确认导入。")
        return
    except StoreError as error:
        _notice("ledger", "error", f"导入未完成：{error}")
        return
    _clear_uploaders()
    # Every import keeps a dated snapshot of the figures (汇报演示's progress over time), taken
    # from the analysis every page will show next, computed once here for both.
    snapshot = take_snapshot(store, state.default_analysis(), who=current_user())
    widgets.prepare_county_page()  # the map most likely opened next, drawn while the user reads this
    _notice("ledger", "success",
            f"已导入“{popups.markdown_text(source)}”：新增{result.added:,}个、更新{result.changed:,}个、"
            f"未变{result.unchanged:,}个、台账中已无{result.absent:,}个，拒收{result.rejected:,}行。"
            f"数据版本已更新为{result.version}，各页面已按新数据显示；已保存第{snapshot}号快照。")


def replace_layer(store: Store, kind: str, frame: pd.DataFrame, source: str) -> None:
    """Replace one stored layer (or the instructor list) with the checked upload."""
    try:
        version = store.replace_layers({kind: frame}, current_user(), source=source)
    except StoreError as error:
        _notice("layer", "error", f"图层未替换：{error}")
        return
    _clear_uploaders()
    _notice("layer", "success",
            f"已用“{popups.markdown_text(source)}”替换{LAYER_LABELS[kind]}（{len(frame):,}条）。"
            f"数据版本已更新为{version}，各页面已按新数据显示。")


def remove_units(store: Store, codes: list[str]) -> None:
    """Delete the absent units the user selected and confirmed (their history is kept)."""
    try:
        removed = store.confirm_removals(list(codes), current_user())
    except StoreError as error:
        _notice("removals", "error", f"删除未完成：{error}")
        return
    st.session_state.pop("removal_codes", None)
    st.session_state.pop("removal_all", None)
    st.session_state.pop("removal_confirmed", None)
    _notice("removals", "success", f"已删除{removed:,}个单位，其修改记录仍保留在历史中。")
