"""Read the map layers and the instructor list, and check how the grids tile the towns.

The county's map comes as one file per layer (towns, grids, parks, buildings, markets, service
centres) in whatever the staff had at hand: GeoJSON, a GeoPackage, or a zipped Shapefile exported
from ArcGIS on a Chinese Windows machine (attributes in GBK, sometimes without its ``.prj``),
with Chinese property names and coordinates in CGCS2000 Gauss-Krüger or Web Mercator.
:func:`read_layer` turns any of these into one shape: a GeoDataFrame in EPSG:4326 with the
canonical English columns of :data:`LAYER_SPECS`, ``source_row`` (the 1-based feature number a
person finds in QGIS) and a clean geometry, plus a list of :class:`~services.problems.Problem`
for everything that was repaired, flagged or left out.

A file that cannot be read at all raises :class:`~services.problems.InputError` with one line
naming the file. Everything else is kept or rejected feature by feature and reported, never
dropped silently.

The grid checks (:func:`find_grid_overlaps`, :func:`find_grid_gaps`) measure areas in metres in
the local UTM zone and use the spatial index, never a Python loop over pairs of polygons.
"""

from __future__ import annotations

import codecs
import dataclasses
import io
import os
import re
import struct
import unicodedata
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely

from services.problems import InputError, Problem

__all__ = [
    "LAYER_SPECS",
    "LayerResult",
    "LayerSpec",
    "TableResult",
    "find_grid_gaps",
    "find_grid_overlaps",
    "layer_to_4326_points",
    "read_instructors",
    "read_layer",
]

WGS84 = "EPSG:4326"

_POLYGON = frozenset({"Polygon", "MultiPolygon"})
_POINT = frozenset({"Point"})
_POINT_OR_POLYGON = _POINT | _POLYGON


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """What one layer kind must look like.

    ``aliases`` maps each canonical column to the headers accepted for it (the canonical
    English name is always accepted too). ``required`` columns must exist in the file and have a
    value in every feature (they are what the ledger and the other layers refer to);
    ``numeric`` columns are parsed to float; ``unique`` says whether a repeated key value
    rejects the later feature (grid ids) or only flags it (names).
    """

    kind: str
    label: str
    columns: tuple[str, ...]
    aliases: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]
    geometry_types: frozenset[str]
    numeric: tuple[str, ...] = ()
    key: str | None = None
    unique: bool = False

    def column_label(self, column: str) -> str:
        """``网格编号/id``: how a column is named in messages, first Chinese alias then English."""
        aliases = self.aliases.get(column, ())
        return f"{aliases[0]}/{column}" if aliases else column


LAYER_SPECS: Mapping[str, LayerSpec] = MappingProxyType(
    {
        "towns": LayerSpec(
            kind="towns",
            label="乡镇街道",
            columns=("name", "code"),
            aliases=MappingProxyType(
                {
                    "name": ("名称", "乡镇街道名称", "乡镇街道", "乡镇(街道)"),
                    "code": ("区划代码", "行政区划代码"),
                }
            ),
            required=("name",),
            geometry_types=_POLYGON,
            key="name",
        ),
        "grids": LayerSpec(
            kind="grids",
            label="网格",
            columns=("id", "name", "town", "leader", "leader_phone"),
            aliases=MappingProxyType(
                {
                    "id": ("网格编号", "网格代码", "编号"),
                    "name": ("网格名称", "名称"),
                    "town": ("所属乡镇街道", "所属乡镇(街道)", "乡镇街道"),
                    "leader": ("网格长", "网格长姓名"),
                    "leader_phone": ("联系电话", "网格长联系电话", "网格长电话", "电话"),
                }
            ),
            required=("id",),
            geometry_types=_POLYGON,
            key="id",
            unique=True,
        ),
        "parks": LayerSpec(
            kind="parks",
            label="园区",
            columns=("name", "level"),
            aliases=MappingProxyType({"name": ("名称", "园区名称"), "level": ("级别", "园区级别")}),
            required=("name",),
            geometry_types=_POLYGON,
            key="name",
        ),
        "buildings": LayerSpec(
            kind="buildings",
            label="商务楼宇",
            columns=("name", "floors"),
            aliases=MappingProxyType({"name": ("名称", "楼宇名称"), "floors": ("楼层数", "层数")}),
            required=("name",),
            geometry_types=_POINT_OR_POLYGON,
            numeric=("floors",),
            key="name",
        ),
        "markets": LayerSpec(
            kind="markets",
            label="商圈市场",
            columns=("name",),
            aliases=MappingProxyType({"name": ("名称", "商圈市场名称", "市场名称")}),
            required=("name",),
            geometry_types=_POINT_OR_POLYGON,
            key="name",
        ),
        "centres": LayerSpec(
            kind="centres",
            label="党群服务中心",
            columns=("name", "level", "area_m2", "hours"),
            aliases=MappingProxyType(
                {
                    "name": ("名称", "中心名称"),
                    "level": ("级别",),
                    # Bracketed units (面积（平方米）, 面积(m²), 面积[㎡]) match by stripping them.
                    "area_m2": ("面积", "面积(平方米)", "面积(m2)", "建筑面积", "使用面积", "area"),
                    "hours": ("开放时间", "服务时间"),
                }
            ),
            required=("name",),
            geometry_types=_POINT,
            numeric=("area_m2",),
        ),
    }
)

_INSTRUCTOR_SPEC = LayerSpec(
    kind="instructors",
    label="党建指导员",
    columns=("name", "unit", "phone"),
    aliases=MappingProxyType(
        {
            "name": ("姓名", "指导员姓名", "党建指导员"),
            "unit": ("派出单位", "单位", "工作单位"),
            "phone": ("联系电话", "电话", "手机", "手机号码"),
        }
    ),
    required=("name",),
    geometry_types=frozenset(),
    key="name",
)

# Columns holding numbers that are identifiers: compared as typed, so full-width digits are
# folded to ASCII ("１３８…" and "138…" are the same phone).
_IDENTIFIER_COLUMNS = frozenset({"code", "leader_phone", "phone"})

_GEOMETRY_NAMES_ZH = MappingProxyType(
    {
        "Point": "点",
        "MultiPoint": "多点",
        "LineString": "线",
        "MultiLineString": "多线",
        "LinearRing": "环",
        "Polygon": "面",
        "MultiPolygon": "多面",
        "GeometryCollection": "几何集合",
    }
)


@dataclasses.dataclass(frozen=True)
class LayerResult:
    """A read layer: the features kept and everything found while reading them.

    ``frame`` is a GeoDataFrame in EPSG:4326 with the canonical columns of the layer kind,
    ``source_row`` and ``geometry``; ``problems`` lists repaired, flagged and rejected features
    (``rejected=True`` ones are not in ``frame``).
    """

    frame: gpd.GeoDataFrame
    problems: list[Problem]


@dataclasses.dataclass(frozen=True)
class TableResult:
    """A read table (no geometry): the rows kept and the problems found."""

    frame: pd.DataFrame
    problems: list[Problem]


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def read_layer(path: str | os.PathLike, kind: str) -> LayerResult:
    """Read one map layer into canonical columns in EPSG:4326.

    Parameters
    ----------
    path : str or os.PathLike
        A GeoJSON (``.geojson``/``.json``), GeoPackage (``.gpkg``) or Shapefile, zipped
        (``.zip`` holding ``.shp``/``.shx``/``.dbf``, ideally ``.prj`` and ``.cpg``) or as a
        ``.shp`` with its companion files beside it (a county data folder). For a
        GeoPackage or zip with several layers, the one named like ``kind`` (or its Chinese
        name, e.g. 网格) is read, else the first.
    kind : str
        One of :data:`LAYER_SPECS`: ``"towns"``, ``"grids"``, ``"parks"``, ``"buildings"``,
        ``"markets"``, ``"centres"``.

    Returns
    -------
    LayerResult
        ``frame``: GeoDataFrame in EPSG:4326 with exactly ``LAYER_SPECS[kind].columns`` (text as
        ``str``, ``floors``/``area_m2`` as float, absent optional columns all missing), then
        ``source_row`` (1-based feature number in the file) and ``geometry``; one row per
        feature kept, index 0..n-1. ``problems``: one :class:`Problem` per finding. A layer
        with no features gives an empty frame of that shape (and a Problem saying so).

    Raises
    ------
    InputError
        The file does not exist, is not a geodata file, lacks a required column, or has no
        coordinate system while its coordinates are obviously not degrees.
    ValueError
        ``kind`` is not a layer kind (a programming error, not bad input).

    Notes
    -----
    - Headers match :data:`LAYER_SPECS` aliases ignoring whitespace (also U+3000), full-width
      forms, case and a bracketed unit suffix (``面积（平方米）``); in a Shapefile a header
      cut short by the 10-byte dBASE limit (``所属乡镇街``) matches the alias it starts.
    - A file in another CRS is reprojected; a file without one is taken as EPSG:4326 (the
      GeoJSON default), with a Problem when a Shapefile has no ``.prj``.
    - Per feature: no geometry or a geometry of the wrong type is rejected; an invalid polygon
      is repaired with ``make_valid`` (its polygonal part) and reported, or rejected if nothing
      polygonal remains; Z is dropped; a single-part MultiPoint in a point layer becomes its
      point. An empty required value is rejected; a repeated grid id rejects the later
      feature; a repeated name is flagged. Unreadable numbers become NaN and are flagged.
    """
    spec = _spec_for(kind)
    path = Path(path)
    name = path.name
    _require_file(path)
    problems: list[Problem] = []
    raw, crs_note, is_shapefile = _read_raw_layer(path, spec, problems)
    if len(raw) == 0:
        # An empty layer is an answer (no centres: every unit is outside the service radius),
        # and an empty GeoJSON cannot even declare its properties.
        problems.append(Problem(name, None, None, "图层没有任何要素"))
        return LayerResult(frame=_assemble(spec, {}, np.empty(0, dtype=object)), problems=problems)
    headers = [column for column in raw.columns if column != raw.geometry.name]
    mapping = _match_headers(headers, spec, name, problems, allow_prefix=is_shapefile)
    missing = [column for column in spec.required if column not in mapping]
    if missing:
        wanted = "、".join(f"“{spec.column_label(column)}”" for column in missing)
        found = "、".join(str(h) for h in headers) or "无"
        raise InputError(f"{name}: 缺少必需字段{wanted}（文件中的字段：{found}）")
    geometry = _to_wgs84(raw.geometry, name, crs_note, problems)
    geometry, keep = _clean_geometries(geometry, spec, name, problems)
    values = _canonical_values(raw, mapping, spec, name, problems)
    keep &= _check_keys(values, mapping, spec, name, keep, problems)
    _check_codes(values, mapping, spec, name, keep, problems)
    kept = {column: array[keep] for column, array in values.items()}
    kept["source_row"] = np.arange(1, len(raw) + 1, dtype="int64")[keep]
    return LayerResult(frame=_assemble(spec, kept, geometry[keep]), problems=_sorted(problems))


def canonical_layer(kind: str, frame: pd.DataFrame, geometry) -> gpd.GeoDataFrame:
    """A layer in the shape :func:`read_layer` returns, from columns already canonical (the
    store's tables): same columns, same dtypes, so placement cannot tell where it came from."""
    spec = _spec_for(kind) if kind in LAYER_SPECS else None
    if spec is None:  # the county boundary: a name and a shape
        return gpd.GeoDataFrame({"name": pd.Series(frame.get("name", []), dtype="str")},
                                geometry=gpd.GeoSeries(list(geometry), crs=WGS84), crs=WGS84)
    values = {column: frame[column].to_numpy(dtype=object) for column in spec.columns if column in frame}
    values["source_row"] = frame["source_row"].to_numpy(dtype="int64")
    return _assemble(spec, values, np.asarray(list(geometry), dtype=object))


def read_instructors(path: str | os.PathLike) -> TableResult:
    """Read the list of party-building instructors (党建指导员).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.csv`` (UTF-8, UTF-8 with BOM, or GBK/GB18030) or a spreadsheet (``.xlsx``,
        ``.xlsm``, ``.xls``, ``.ods``; first sheet, read with calamine). The header row is the
        first row among the first ten that names the 姓名/name column, so a title row above the
        header is fine.

    Returns
    -------
    TableResult
        ``frame``: pandas DataFrame with columns ``name``, ``unit``, ``phone`` (all ``str``;
        phones stay text, a phone stored as the number 13800000000.0 comes back as
        ``"13800000000"``) and ``source_row`` (the spreadsheet row: header in row 1 → first
        person in row 2). Blank rows are skipped silently. ``problems``: a row with no name is
        rejected; a repeated name is flagged (units are assigned to instructors by name).

    Raises
    ------
    InputError
        The file does not exist, is not a CSV or spreadsheet, cannot be decoded, or lacks the
        姓名/name column.
    """
    path = Path(path)
    name = path.name
    _require_file(path)
    spec = _INSTRUCTOR_SPEC
    cells = _read_table_cells(path)
    header_at = _find_header_row(cells, spec)
    if header_at is None:
        raise InputError(f"{name}: 缺少必需字段“{spec.column_label('name')}”")
    problems: list[Problem] = []
    headers = [_text(value) or "" for value in cells.iloc[header_at]]
    mapping = _match_headers(headers, spec, name, problems, allow_prefix=False)
    positions = {column: headers.index(header) for column, header in mapping.items()}
    body = cells.iloc[header_at + 1 :]
    # Column by column, each distinct cell read once: a city lists tens of thousands of
    # instructors, and a Python call per cell per check made this the slowest layer to read.
    raw_columns = [body.iloc[:, position].tolist() for position in range(body.shape[1])]
    plain = [_texts(column) for column in raw_columns]
    blank = [all(text is None for text in texts) for texts in zip(*plain)]
    none = [None] * len(body)
    texts = {
        column: none if column not in positions
        else _texts(raw_columns[positions[column]], fold=True) if column in _IDENTIFIER_COLUMNS
        else plain[positions[column]]
        for column in spec.columns
    }
    rows: list[dict] = []
    seen: dict[str, int] = {}
    for offset, record in enumerate(zip(*texts.values())):
        row = header_at + offset + 2  # 0-based cell index → 1-based spreadsheet row
        if blank[offset]:
            continue
        values = dict(zip(texts, record))
        person = values["name"]
        if person is None:
            problems.append(Problem(name, row, mapping["name"], "姓名为空，已跳过", rejected=True))
            continue
        if person in seen:
            problems.append(
                Problem(
                    name,
                    row,
                    mapping["name"],
                    f"姓名“{person}”重复（与第{seen[person]}行相同），按同一人处理时请核对",
                    value=person,
                )
            )
        else:
            seen[person] = row
        rows.append(values | {"source_row": row})
    frame = pd.DataFrame(rows, columns=[*spec.columns, "source_row"])
    frame = frame.astype({column: "str" for column in spec.columns} | {"source_row": "int64"})
    return TableResult(frame=frame, problems=_sorted(problems))


def find_grid_overlaps(grids: gpd.GeoDataFrame, min_area_m2: float = 1.0) -> pd.DataFrame:
    """Find pairs of grids whose interiors overlap.

    Every unit belongs to exactly one grid, so overlapping grids make a unit's grid ambiguous.

    Parameters
    ----------
    grids : GeoDataFrame
        Grid polygons, normally :func:`read_layer` (``kind="grids"``) output; a CRS of None is
        taken as EPSG:4326. Grids are named by their ``id`` column, or the index without one.
    min_area_m2 : float, default 1.0
        Overlaps of this area or less are digitising noise and not reported.

    Returns
    -------
    pandas.DataFrame
        Columns ``grid_a``, ``grid_b`` (``grid_a`` is the one earlier in ``grids``) and
        ``area_m2`` (float, the overlap area in square metres), one row per pair, in the
        order of the grids.

    Notes
    -----
    Candidate pairs come from the spatial index with ``predicate="intersects"`` rather than
    ``"overlaps"``: the DE-9IM *overlaps* is false when one grid lies inside another or two are
    identical, which are the worst overlaps of all; pairs that only touch have zero
    intersection area and fall under ``min_area_m2``. Areas are computed in the UTM zone of
    the grids (:meth:`GeoDataFrame.estimate_utm_crs`).
    """
    columns = ["grid_a", "grid_b", "area_m2"]
    metric = _in_metres(grids.geometry)
    if metric is None:
        return _empty_frame(columns, ["object", "object", "float64"])
    left, right = metric.sindex.query(metric, predicate="intersects")
    pair = left < right
    left, right = left[pair], right[pair]
    areas = metric.values[left].intersection(metric.values[right]).area
    big = areas > min_area_m2
    names = _feature_names(grids, "id")
    result = pd.DataFrame(
        {
            "grid_a": names[left[big]],
            "grid_b": names[right[big]],
            "area_m2": np.asarray(areas[big], dtype="float64"),
        }
    )
    order = np.lexsort((right[big], left[big]))
    return result.iloc[order].reset_index(drop=True)


def find_grid_gaps(
    grids: gpd.GeoDataFrame, towns: gpd.GeoDataFrame, min_area_m2: float = 100.0
) -> pd.DataFrame:
    """Measure, per town, the area that no grid covers.

    Multi-grid advancement wants the whole town divided into grids; a hole means units there
    have no grid leader.

    Parameters
    ----------
    grids, towns : GeoDataFrame
        :func:`read_layer` output for ``"grids"`` and ``"towns"`` (a CRS of None is taken as
        EPSG:4326). Towns are named by their ``name`` column, or the index without one.
    min_area_m2 : float, default 100.0
        Uncovered area of this size or less (slivers along shared borders) is not reported.

    Returns
    -------
    pandas.DataFrame
        Columns ``town`` and ``area_m2`` (float, square metres of the town outside every grid),
        one row per town above the threshold, in the order of ``towns``.

    Notes
    -----
    The grids are dissolved once (``union_all``) and subtracted from every town in one
    vectorised ``difference``, in the UTM zone of the towns.
    """
    columns = ["town", "area_m2"]
    metric_towns = _in_metres(towns.geometry)
    if metric_towns is None:
        return _empty_frame(columns, ["object", "float64"])
    grid_geometry = _assume_wgs84(grids.geometry).to_crs(metric_towns.crs)
    covered = grid_geometry.union_all()
    areas = np.asarray(metric_towns.difference(covered).area, dtype="float64")
    areas = np.nan_to_num(areas, nan=0.0)
    big = areas > min_area_m2
    names = _feature_names(towns, "name")
    return pd.DataFrame({"town": names[big], "area_m2": areas[big]}).reset_index(drop=True)


def layer_to_4326_points(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoSeries:
    """One point per feature, in EPSG:4326, where its units and marker are drawn.

    Buildings and markets may be mapped as points or as footprints; the map needs one point
    each. A point is kept as it is; a polygon gives its ``representative_point()`` (always
    inside it, unlike the centroid of an L-shaped block).

    Parameters
    ----------
    frame : GeoDataFrame or GeoSeries
        Any layer; a CRS of None is taken as EPSG:4326, another CRS is reprojected.

    Returns
    -------
    GeoSeries
        Named ``geometry``, in EPSG:4326, same index as ``frame``; missing geometry stays
        missing.
    """
    geometry = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    geometry = _assume_wgs84(geometry)
    if not geometry.crs.equals(WGS84):
        geometry = geometry.to_crs(WGS84)
    # GEOS's point-on-surface of a point is the point itself, so one call serves both.
    points = geometry.representative_point()
    return gpd.GeoSeries(points, index=geometry.index, crs=WGS84, name="geometry")


# --------------------------------------------------------------------------------------------
# Opening files
# --------------------------------------------------------------------------------------------


def _spec_for(kind: str) -> LayerSpec:
    """Fail loudly on a mistyped kind: it is the caller's bug, not the user's file."""
    try:
        return LAYER_SPECS[kind]
    except KeyError:
        raise ValueError(
            f"unknown layer kind {kind!r}; expected one of {sorted(LAYER_SPECS)}"
        ) from None


def _require_file(path: Path) -> None:
    """Say "file not found" in the user's words instead of a GDAL or pandas traceback."""
    if not path.exists():
        raise InputError(f"{path.name}: 文件不存在（{path}）")
    if not path.is_file():
        raise InputError(f"{path.name}: 不是文件（{path}）")


def _read_raw_layer(
    path: Path, spec: LayerSpec, problems: list[Problem]
) -> tuple[gpd.GeoDataFrame, str, bool]:
    """Read the file as GDAL sees it, choosing layer and encoding by format.

    Returns the raw frame, the note to report if it has no CRS, and whether it is a Shapefile
    (whose field names may be truncated).
    """
    name = path.name
    suffix = path.suffix.lower()
    options: dict = {}
    no_crs_note = "未定义坐标系，按WGS-84(EPSG:4326)处理"
    if suffix in (".geojson", ".json"):
        source = str(path)
    elif suffix == ".gpkg":
        source = str(path)
        options["layer"] = _choose_gpkg_layer(path, spec, problems)
    elif suffix in (".zip", ".shp"):
        if suffix == ".zip":
            source, options["encoding"], has_prj = _locate_shapefile(path, spec, problems)
        else:
            source, options["encoding"], has_prj = _shapefile_on_disk(path)
        if not has_prj:
            no_crs_note = "缺少.prj文件，按WGS-84(EPSG:4326)处理"
    elif suffix in (".dbf", ".shx", ".prj", ".cpg"):
        raise InputError(f"{name}: 请提供.shp文件，或把.shp、.shx、.dbf、.prj、.cpg一起压缩成.zip")
    else:
        raise InputError(
            f"{name}: 不支持的文件类型，请提供GeoJSON、GeoPackage(.gpkg)或zip压缩的Shapefile"
        )
    try:
        with warnings.catch_warnings():
            # GeoJSON properties of mixed type arrive as JSON strings; we read them as text.
            warnings.filterwarnings("ignore", message="Could not parse column")
            raw = gpd.read_file(source, engine="pyogrio", **options)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: 属性表无法按{options.get('encoding', 'UTF-8')}解码"
            "（Shapefile字段名最长10字节，较长的中文字段名会被截断）；"
            "请改用GeoPackage/GeoJSON或缩短字段名"
        ) from exc
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"{name}: 无法读取为地理数据文件（GeoJSON/GeoPackage/Shapefile）") from exc
    if not isinstance(raw, gpd.GeoDataFrame) or raw.geometry is None:
        raise InputError(f"{name}: 图层没有几何图形，不是地图图层")
    return raw, no_crs_note, suffix in (".zip", ".shp")


def _choose_gpkg_layer(path: Path, spec: LayerSpec, problems: list[Problem]) -> str:
    """Pick the layer of a multi-layer GeoPackage: named like the kind, else the first."""
    try:
        layers = pyogrio.list_layers(path)
    except pyogrio.errors.DataSourceError as exc:
        raise InputError(f"{path.name}: 不是有效的GeoPackage文件") from exc
    spatial = [str(layer) for layer, geometry_type in layers if geometry_type is not None]
    if not spatial:
        raise InputError(f"{path.name}: GeoPackage中没有地图图层")
    chosen = _choose_by_name(spatial, spec)
    if chosen is None:
        chosen = spatial[0]
        if len(spatial) > 1:
            problems.append(
                Problem(
                    path.name,
                    None,
                    None,
                    f"文件含{len(spatial)}个图层，没有名为“{spec.kind}”或“{spec.label}”的图层，"
                    f"已读取第一个图层“{chosen}”",
                )
            )
    return chosen


def _choose_by_name(names: list[str], spec: LayerSpec) -> str | None:
    """The name equal to the kind or its Chinese label, else the first containing one of them."""
    wanted = (spec.kind.casefold(), spec.label.casefold())
    folded = [_normalize_header(name) for name in names]
    for name, fold in zip(names, folded, strict=True):
        if fold in wanted:
            return name
    for name, fold in zip(names, folded, strict=True):
        if any(word in fold for word in wanted):
            return name
    return None


def _locate_shapefile(
    path: Path, spec: LayerSpec, problems: list[Problem]
) -> tuple[str, str, bool]:
    """Find the Shapefile inside a zip and everything GDAL cannot tell us about it.

    Returns the ``zip://`` path of the ``.shp``, the encoding of its ``.dbf`` and whether a
    ``.prj`` is present.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info.filename for info in archive.infolist() if not info.is_dir()]
            by_lower = {member.lower(): member for member in members}
            shapes = [
                m for m in members if m.lower().endswith(".shp") and "__macosx" not in m.lower()
            ]
            if not shapes:
                raise InputError(f"{path.name}: zip压缩包中没有.shp文件")
            stems: dict[str, str] = {}
            for member in shapes:
                stems.setdefault(Path(member).stem, member[:-4])
            chosen = _choose_by_name(list(stems), spec)
            if chosen is None:
                chosen = Path(shapes[0]).stem
                if len(shapes) > 1:
                    problems.append(
                        Problem(
                            path.name,
                            None,
                            None,
                            f"压缩包含{len(shapes)}个Shapefile，没有名为“{spec.kind}”或“{spec.label}”的，"
                            f"已读取第一个“{chosen}.shp”",
                        )
                    )
            stem = stems[chosen]
            for needed in (".shx", ".dbf"):
                if (stem + needed).lower() not in by_lower:
                    raise InputError(f"{path.name}: zip压缩包中缺少{Path(stem).name}{needed}")
            dbf = archive.read(by_lower[(stem + ".dbf").lower()])
            cpg_member = by_lower.get((stem + ".cpg").lower())
            cpg = archive.read(cpg_member).decode("ascii", "ignore") if cpg_member else None
            has_prj = (stem + ".prj").lower() in by_lower
    except zipfile.BadZipFile as exc:
        raise InputError(f"{path.name}: 不是有效的zip压缩文件") from exc
    shp_member = by_lower[(stem + ".shp").lower()]
    encoding = _encoding_from_cpg(cpg) or _sniff_dbf_encoding(dbf)
    return f"zip://{path.resolve()}!{shp_member}", encoding, has_prj


def _shapefile_on_disk(path: Path) -> tuple[str, str, bool]:
    """Like :func:`_locate_shapefile` for a ``.shp`` in a folder (a county's data folder)."""
    siblings = {p.name.lower(): p for p in path.parent.iterdir() if p.stem == path.stem}
    for needed in (".shx", ".dbf"):
        if (path.stem + needed).lower() not in siblings:
            raise InputError(f"{path.name}: 同一目录中缺少{path.stem}{needed}")
    cpg_path = siblings.get((path.stem + ".cpg").lower())
    cpg = cpg_path.read_bytes().decode("ascii", "ignore") if cpg_path else None
    dbf = siblings[(path.stem + ".dbf").lower()].read_bytes()
    encoding = _encoding_from_cpg(cpg) or _sniff_dbf_encoding(dbf)
    return str(path), encoding, (path.stem + ".prj").lower() in siblings


def _encoding_from_cpg(cpg: str | None) -> str | None:
    """Translate a ``.cpg`` (``GBK``, ``936``, ``UTF-8``…) into a name GDAL's iconv accepts.

    GBK and its relatives are read as GB18030, their superset, so a rare character outside GBK
    does not break the whole file. None when there is no usable ``.cpg``.
    """
    if not cpg or not cpg.strip():
        return None
    text = cpg.strip().upper().replace("ANSI", "").strip()
    if text in ("UTF-8", "UTF8", "65001"):
        return "UTF-8"
    if text in ("GBK", "CP936", "936", "GB2312", "GB18030", "EUC-CN", "CP54936", "54936"):
        return "GB18030"
    if text.isdigit():
        text = f"CP{text}"
    try:
        codecs.lookup(text)
    except LookupError:
        return None
    return text


def _sniff_dbf_encoding(dbf: bytes) -> str:
    """Guess the encoding of a ``.dbf`` without ``.cpg``: UTF-8 if it decodes, else GB18030.

    GDAL would assume ISO-8859-1 and turn GBK names into mojibake, so we look at the bytes:
    the field names (decoded leniently at the end, as dBASE cuts them at 10 bytes, possibly
    inside a character) and the records. A GBK text is almost never valid UTF-8. A dBASE
    language driver byte of 0x4D/0x7A (code page 936) settles it for GBK.
    """
    if len(dbf) < 32:
        return "UTF-8"
    if dbf[29] in (0x4D, 0x7A):
        return "GB18030"
    header_length = struct.unpack("<H", dbf[8:10])[0]
    names = [
        dbf[offset : offset + 11].split(b"\x00", 1)[0]
        for offset in range(32, max(32, header_length - 1), 32)
        if dbf[offset : offset + 1] != b"\r"
    ]
    records = dbf[header_length:]
    for encoding in ("utf-8", "gb18030"):
        try:
            for field in names:
                codecs.getincrementaldecoder(encoding)().decode(field, final=False)
            records.decode(encoding)
        except UnicodeDecodeError:
            continue
        return "UTF-8" if encoding == "utf-8" else "GB18030"
    return "GB18030"


# --------------------------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------------------------


_BRACKETED_SUFFIX = re.compile(r"(\(.*\)|\[.*\]|【.*】|〔.*〕)$")
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None)
# Finding them is much cheaper than str.translate, and almost no cell has one.
_HAS_INVISIBLE = re.compile("[\ufeff\u200b\u200c\u200d\u2060]").search


def _normalize_header(text: object) -> str:
    """Fold a header so typing habits do not matter.

    NFKC turns full-width letters, digits and brackets into ASCII (（平方米） → (平方米),
    m² → m2), whitespace of every kind (also the ideographic space) is removed, and English is
    case-folded. A BOM or zero-width space pasted from Word goes too.
    """
    text = unicodedata.normalize("NFKC", str(text)).translate(_INVISIBLE)
    return re.sub(r"\s+", "", text).replace("\ufffd", "").casefold()


def _match_headers(
    headers: list,
    spec: LayerSpec,
    file: str,
    problems: list[Problem],
    *,
    allow_prefix: bool,
) -> dict[str, str]:
    """Map each canonical column to the file's header for it, in three passes.

    Exact (normalised) alias first, then with a bracketed unit suffix stripped, then (for
    Shapefiles) a header that is the start of exactly one column's alias, because dBASE cuts
    field names at 10 bytes. A header is used for one column only; when two headers fit the
    same column in the same pass, the first wins and the other is reported.
    """
    normalized = [_normalize_header(header) for header in headers]
    stripped = [_BRACKETED_SUFFIX.sub("", header) for header in normalized]
    alias_sets = {
        column: {_normalize_header(a) for a in (column, *spec.aliases.get(column, ()))}
        for column in spec.columns
    }
    mapping: dict[str, str] = {}
    used: set[int] = set()

    def exact(column: str, i: int) -> bool:
        return normalized[i] in alias_sets[column]

    def unbracketed(column: str, i: int) -> bool:
        return bool(stripped[i]) and stripped[i] in alias_sets[column]

    def prefix(column: str, i: int) -> bool:
        head = normalized[i]
        if len(head) < 2:
            return False
        fits = [c for c, aliases in alias_sets.items() if any(a.startswith(head) for a in aliases)]
        return fits == [column]

    passes = [exact, unbracketed] + ([prefix] if allow_prefix else [])
    for fits in passes:
        for column in spec.columns:
            if column in mapping:
                continue
            candidates = [i for i in range(len(headers)) if i not in used and fits(column, i)]
            if not candidates:
                continue
            mapping[column] = str(headers[candidates[0]])
            used.add(candidates[0])
            for other in candidates[1:]:
                problems.append(
                    Problem(
                        file,
                        None,
                        str(headers[other]),
                        f"字段“{headers[other]}”与“{headers[candidates[0]]}”都对应"
                        f"“{spec.column_label(column)}”，已使用“{headers[candidates[0]]}”",
                    )
                )
    for column in spec.columns:
        if column not in mapping and column not in spec.required:
            problems.append(
                Problem(file, None, None, f"缺少字段“{spec.column_label(column)}”，该列按空值处理")
            )
    return mapping


def _canonical_values(
    raw: pd.DataFrame,
    mapping: dict[str, str],
    spec: LayerSpec,
    file: str,
    problems: list[Problem],
) -> dict[str, np.ndarray]:
    """The value arrays of the canonical columns: text as str or None, numbers as float."""
    values: dict[str, np.ndarray] = {}
    for column in spec.columns:
        source = raw[mapping[column]].tolist() if column in mapping else [None] * len(raw)
        if column in spec.numeric:
            numbers = np.full(len(source), np.nan)
            for i, value in enumerate(source):
                number, readable = _number(value)
                numbers[i] = number
                if not readable:
                    problems.append(
                        Problem(
                            file,
                            i + 1,
                            mapping[column],
                            f"“{spec.column_label(column)}”无法识别为数字，按空值处理",
                            value=str(value),
                        )
                    )
            values[column] = numbers
        else:
            fold = column in _IDENTIFIER_COLUMNS
            text = [_text(value, fold=fold) for value in source]
            values[column] = np.array(text, dtype=object)
    return values


def _texts(values: list, *, fold: bool = False) -> list[str | None]:
    """:func:`_text` of every value, computed once per distinct value (keyed by type too, so
    1, 1.0 and True stay apart)."""
    cache: dict = {}
    result = []
    for value in values:
        if type(value) is str and not fold:  # cheaper to read than to look up
            result.append(_text(value))
            continue
        key = (type(value), value)
        try:
            result.append(cache[key])
        except KeyError:
            result.append(cache.setdefault(key, _text(value, fold=fold)))
        except TypeError:  # an unhashable cell
            result.append(_text(value, fold=fold))
    return result


def _text(value: object, *, fold: bool = False) -> str | None:
    """A cell or property as text, or None when blank.

    GDAL and spreadsheets hand over str, int or float: a phone or grid id typed as a number
    in Excel comes back as 13800000000.0, which must read "13800000000", not "1.38e+10".
    ``fold`` applies NFKC (full-width digits to ASCII) for identifier columns.
    """
    if type(value) is str:  # the usual cell, first: this runs once per cell of a large table
        text = unicodedata.normalize("NFKC", value) if fold else value
        if _HAS_INVISIBLE(text):
            text = text.translate(_INVISIBLE)
        return text.strip() or None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        text = str(bool(value))
    elif isinstance(value, (int, np.integer)):
        text = str(int(value))
    elif isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return None
        text = str(int(value)) if float(value).is_integer() else repr(float(value))
    else:
        text = str(value)
    if fold:
        text = unicodedata.normalize("NFKC", text)
    text = text.translate(_INVISIBLE).strip()
    return text or None


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_UNIT_WORDS = re.compile(r"平方米|平米|m2|米|层|楼|f|,", re.IGNORECASE)


def _number(value: object) -> tuple[float, bool]:
    """Parse a number as people type it: "320平方米", "１２０", "约200", "1,200", "1.2万".

    Returns ``(number, readable)``; a blank is ``(nan, True)``, text with no number or with
    several (“地上32层地下3层”) is ``(nan, False)`` so the caller can report it.
    """
    if isinstance(value, (bool, np.bool_)):
        return np.nan, False
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value), True
    text = _text(value, fold=True)
    if text is None:
        return np.nan, True
    text = _UNIT_WORDS.sub("", text)
    numbers = _NUMBER.findall(text)
    if len(numbers) != 1:
        return np.nan, False
    return float(numbers[0]) * (10_000 if "万" in text else 1), True


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------


def _to_wgs84(
    geometry: gpd.GeoSeries, file: str, no_crs_note: str, problems: list[Problem]
) -> gpd.GeoSeries:
    """Bring the layer to EPSG:4326, refusing projected coordinates passed off as degrees.

    GDAL labels every GeoJSON EPSG:4326 and a Shapefile without ``.prj`` has no CRS; metres
    read as degrees would put the county in the sea, so a geographic or missing CRS with
    coordinates beyond ±180/±90 stops the read.
    """
    if geometry.crs is None:
        if len(geometry):
            problems.append(Problem(file, None, None, no_crs_note))
        _require_degrees(geometry, file)
        return geometry.set_crs(WGS84)
    if geometry.crs.is_geographic:
        _require_degrees(geometry, file)
    if geometry.crs.equals(WGS84):
        return geometry
    return geometry.to_crs(WGS84)


def _require_degrees(geometry: gpd.GeoSeries, file: str) -> None:
    """Raise when coordinates cannot be longitude/latitude."""
    present = geometry[~(geometry.isna() | geometry.is_empty)]
    if present.empty:
        return
    minx, miny, maxx, maxy = present.total_bounds
    for x, y in ((minx, miny), (maxx, maxy)):
        if abs(x) > 180 or abs(y) > 90:
            raise InputError(
                f"{file}: 坐标超出经纬度范围（如 x={x:.1f}, y={y:.1f}），应为投影坐标；"
                "请在文件中声明正确的坐标系（Shapefile请附带.prj）或转换为WGS-84(EPSG:4326)"
            )


def _clean_geometries(
    geometry: gpd.GeoSeries, spec: LayerSpec, file: str, problems: list[Problem]
) -> tuple[np.ndarray, np.ndarray]:
    """Check every feature's geometry; return the cleaned geometries and which to keep.

    Vectorised checks pick out the few features that need attention; only those are looked
    at one by one, to write their Problem.
    """
    values = shapely.force_2d(np.asarray(geometry.values, dtype=object))
    keep = np.ones(len(values), dtype=bool)
    missing = shapely.is_missing(values) | shapely.is_empty(values)
    types = np.array([None if g is None else g.geom_type for g in values], dtype=object)
    wanted = "或".join(
        label
        for types_, label in ((_POINT, "点（Point）"), (_POLYGON, "面（Polygon/MultiPolygon）"))
        if types_ <= spec.geometry_types
    )
    for i in map(int, np.flatnonzero(missing)):
        keep[i] = False
        problems.append(
            Problem(file, i + 1, "geometry", "缺少几何图形（空要素），已跳过", rejected=True)
        )
    for i in map(int, np.flatnonzero(~missing)):
        kind = types[i]
        if kind == "MultiPoint" and "Point" in spec.geometry_types and len(values[i].geoms) == 1:
            values[i] = values[i].geoms[0]
            continue
        if kind not in spec.geometry_types:
            keep[i] = False
            problems.append(
                Problem(
                    file,
                    i + 1,
                    "geometry",
                    f"几何类型为{_GEOMETRY_NAMES_ZH.get(kind, kind)}（{kind}），"
                    f"{spec.label}图层应为{wanted}，已跳过",
                    rejected=True,
                    value=kind,
                )
            )
    polygonal = keep & np.isin(types, list(_POLYGON))
    for i in map(int, np.flatnonzero(polygonal & ~shapely.is_valid(values))):
        reason = shapely.is_valid_reason(values[i])
        repaired = _polygonal_part(shapely.make_valid(values[i]))
        if repaired is None:
            keep[i] = False
            problems.append(
                Problem(
                    file,
                    i + 1,
                    "geometry",
                    f"几何图形无效（{reason}），修复后没有面，已跳过",
                    rejected=True,
                )
            )
        else:
            values[i] = repaired
            problems.append(
                Problem(file, i + 1, "geometry", f"几何图形无效（{reason}），已自动修复")
            )
    return values, keep


def _assemble(
    spec: LayerSpec, values: dict[str, np.ndarray], geometry: np.ndarray
) -> gpd.GeoDataFrame:
    """The promised frame: canonical columns with fixed dtypes, ``source_row``, ``geometry``.

    Fixed dtypes (``str`` text even when every value is missing, float numbers) keep an empty
    or all-blank column from turning into ``object`` or ``float`` further down.
    """
    size = len(geometry)
    columns = {
        column: pd.Series(
            values.get(column, np.full(size, None, dtype=object)),
            dtype="float64" if column in spec.numeric else "str",
        )
        for column in spec.columns
    }
    columns["source_row"] = pd.Series(values.get("source_row", np.empty(0)), dtype="int64")
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(list(geometry), crs=WGS84), crs=WGS84)


def _polygonal_part(geometry: shapely.Geometry) -> shapely.Geometry | None:
    """The polygons of what ``make_valid`` returned, dropping the lines and points it may add.

    A bow-tie becomes two triangles (kept as a MultiPolygon); a polygon collapsed to a line
    has no polygonal part and gives None.
    """
    parts = [p for p in shapely.get_parts(geometry) if p.geom_type in ("Polygon", "MultiPolygon")]
    polygons = [q for p in parts for q in shapely.get_parts(p) if not q.is_empty]
    if not polygons:
        return None
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def _check_keys(
    values: dict[str, np.ndarray],
    mapping: dict[str, str],
    spec: LayerSpec,
    file: str,
    keep: np.ndarray,
    problems: list[Problem],
) -> np.ndarray:
    """Reject features without their required value, and later duplicates of a unique key.

    Duplicates are looked for among features otherwise kept, so a broken first copy does not
    cost the good second one. Names that repeat are only flagged: two buildings may share a
    name, but the ledger cannot tell them apart.
    """
    ok = np.ones(len(keep), dtype=bool)
    for column in spec.required:
        for i in map(int, np.flatnonzero(keep & pd.isna(values[column]))):
            ok[i] = False
            problems.append(
                Problem(
                    file,
                    i + 1,
                    mapping[column],
                    f"“{spec.column_label(column)}”为空，已跳过",
                    rejected=True,
                )
            )
    if spec.key is None:
        return ok
    seen: dict[str, int] = {}
    for i in map(int, np.flatnonzero(keep & ok)):
        key = values[spec.key][i]
        if key not in seen:
            seen[key] = i + 1
            continue
        label = spec.column_label(spec.key).split("/")[0]
        if spec.unique:
            ok[i] = False
            reason = f"{label}“{key}”重复（与第{seen[key]}个要素相同），已跳过"
        else:
            reason = f"{label}“{key}”重复（与第{seen[key]}个要素相同），台账按名称对应时无法区分"
        problems.append(
            Problem(file, i + 1, mapping[spec.key], reason, rejected=spec.unique, value=key)
        )
    return ok


def _check_codes(
    values: dict[str, np.ndarray],
    mapping: dict[str, str],
    spec: LayerSpec,
    file: str,
    keep: np.ndarray,
    problems: list[Problem],
) -> None:
    """Flag a town code that is not the 9-digit township division code (kept as typed)."""
    if "code" not in spec.columns or "code" not in mapping:
        return
    for i in map(int, np.flatnonzero(keep)):
        code = values["code"][i]
        if code is not None and not pd.isna(code) and not re.fullmatch(r"\d{9}", code):
            problems.append(
                Problem(file, i + 1, mapping["code"], "区划代码应为9位数字", value=code)
            )


# --------------------------------------------------------------------------------------------
# Tables and small helpers
# --------------------------------------------------------------------------------------------


def _read_table_cells(path: Path) -> pd.DataFrame:
    """All cells of a CSV or the first sheet, untyped, one frame row per file row.

    ``header=None`` and ``skip_blank_lines=False`` keep frame row i at spreadsheet row i+1,
    so the row numbers in problems are the ones a person sees. CSV bytes are decoded here:
    UTF-8 (with or without BOM) first, then GB18030, the superset of GBK that Excel on Chinese
    Windows writes.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            data = path.read_bytes()
            for encoding in ("utf-8-sig", "gb18030"):
                try:
                    text = data.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                raise InputError(f"{path.name}: 无法识别文件编码（已尝试UTF-8、GBK）")
            return pd.read_csv(
                io.StringIO(text),
                header=None,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
            )
        if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
            return pd.read_excel(path, sheet_name=0, header=None, dtype=object, engine="calamine")
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path.name}: 文件为空") from exc
    except InputError:
        raise
    except Exception as exc:  # calamine and the CSV parser raise many kinds
        raise InputError(f"{path.name}: 无法读取表格（{type(exc).__name__}）") from exc
    raise InputError(f"{path.name}: 不支持的文件类型，请提供.csv或.xlsx表格")


def _find_header_row(cells: pd.DataFrame, spec: LayerSpec) -> int | None:
    """The first of the top ten rows naming the required column; a title row may sit above."""
    aliases = {_normalize_header(a) for a in (*spec.required, *spec.aliases[spec.required[0]])}
    for i in range(min(10, len(cells))):
        row = {_normalize_header(value) for value in cells.iloc[i] if _text(value) is not None}
        stripped = {_BRACKETED_SUFFIX.sub("", value) for value in row}
        if (row | stripped) & aliases:
            return i
    return None


def _assume_wgs84(geometry: gpd.GeoSeries) -> gpd.GeoSeries:
    """Frames from :func:`read_layer` carry EPSG:4326; a bare one is taken to be so too."""
    return geometry.set_crs(WGS84) if geometry.crs is None else geometry


def _in_metres(geometry: gpd.GeoSeries) -> gpd.GeoSeries | None:
    """The geometries in their UTM zone, for areas in m²; None when there is nothing to measure."""
    geometry = _assume_wgs84(geometry)
    present = ~(geometry.isna() | geometry.is_empty)
    if not present.any():
        return None
    utm = gpd.GeoSeries(geometry[present]).estimate_utm_crs()
    return geometry.to_crs(utm).reset_index(drop=True)


def _feature_names(frame: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """How to name features in a result: their key column, or the index without one."""
    source = frame[column] if column in frame.columns else frame.index.to_series()
    return source.to_numpy(dtype=object)


def _empty_frame(columns: list[str], dtypes: list[str]) -> pd.DataFrame:
    """A result with no rows that still has the promised columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in zip(columns, dtypes, strict=True)})


def _sorted(problems: list[Problem]) -> list[Problem]:
    """File-level findings first, then by feature or row, in the order they were found."""
    return sorted(problems, key=lambda p: -1 if p.row is None else p.row)
