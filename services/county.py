"""The county's map layers, read once and held together.

Every computation needs the same handful of layers (grids always; towns, parks, buildings,
markets, centres and the instructor table when the county has them). :class:`County` holds them
in EPSG:4326 with canonical columns, so placement and coverage never care whether a layer came
from GeoJSON, GeoPackage, a zipped Shapefile or the store.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import pandas as pd

from services import geodata
from services.problems import InputError, Problem

LAYERS = ("towns", "grids", "parks", "buildings", "markets", "centres")
_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".shp")
_TABLE_SUFFIXES = (".csv", ".xlsx", ".xls")


@dataclasses.dataclass
class County:
    """The layers of one county. A layer the county lacks is ``None`` (not given), which is
    different from an empty layer: with no centres file the service radius cannot be judged,
    with an empty one every unit is outside it."""

    grids: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame | None = None
    parks: gpd.GeoDataFrame | None = None
    buildings: gpd.GeoDataFrame | None = None
    markets: gpd.GeoDataFrame | None = None
    centres: gpd.GeoDataFrame | None = None
    instructors: pd.DataFrame | None = None
    boundary: gpd.GeoDataFrame | None = None
    problems: list[Problem] = dataclasses.field(default_factory=list)
    name: str | None = None

    def layer(self, kind: str) -> gpd.GeoDataFrame:
        """A layer, or an empty frame with its canonical columns when the county lacks it."""
        frame = getattr(self, kind)
        if frame is not None:
            return frame
        columns = list(geodata.LAYER_SPECS[kind].columns) + ["source_row"]
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns},
                                geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def load_county(grids: str | Path, *, towns=None, parks=None, buildings=None, markets=None,
                centres=None, instructors=None, boundary=None, name: str | None = None,
                check_overlaps: bool = True) -> County:
    """Read the given layer files into a :class:`County`; only ``grids`` is required.

    Raises :class:`InputError` for a file that cannot be read at all; problems inside a
    readable file (a repaired polygon, a duplicate grid id) are collected in ``problems``.
    ``check_overlaps=False`` skips looking for overlapping grids, for callers that never show
    layer problems (the JSON report): on a city's 10,000 grids it costs most of a second.
    """
    paths = {"grids": grids, "towns": towns, "parks": parks, "buildings": buildings,
             "markets": markets, "centres": centres}
    frames: dict[str, gpd.GeoDataFrame | None] = {}
    problems: list[Problem] = []
    for kind, path in paths.items():
        if path is None:
            frames[kind] = None
            continue
        result = geodata.read_layer(path, kind)
        frames[kind] = result.frame
        problems.extend(result.problems)
        if kind == "grids" and check_overlaps:
            problems.extend(grid_overlap_problems(result.frame, Path(path).name))
    instructor_frame = None
    if instructors is not None:
        table = geodata.read_instructors(instructors)
        instructor_frame = table.frame
        problems.extend(table.problems)
    boundary_frame = None
    if boundary:
        layer = "boundary" if Path(boundary).suffix == ".gpkg" and "boundary" in {
            str(name) for name, _ in _gpkg_layers(boundary)} else None
        boundary_frame = gpd.read_file(boundary, layer=layer).to_crs("EPSG:4326")
    if name is None and boundary_frame is not None and "name" in boundary_frame:
        name = str(boundary_frame["name"].iloc[0])
    return County(instructors=instructor_frame, boundary=boundary_frame, problems=problems,
                  name=name, **frames)


def grid_overlap_problems(grids: gpd.GeoDataFrame, file_name: str) -> list[Problem]:
    """Grids that overlap each other, as problems: a unit in the overlap has two grids."""
    rows = dict(zip(grids["id"], grids["source_row"]))
    return [Problem(file_name, int(rows.get(a, 0)) or None, "geometry",
                    f"网格“{a}”与网格“{b}”重叠约{area:,.0f}平方米")
            for a, b, area in geodata.find_grid_overlaps(grids).itertuples(index=False)]


def county_files(folder: str | Path) -> dict[str, Path]:
    """The layer files of a county folder, found by name: ``grids.geojson``, ``网格.gpkg``…

    This is how the shipped demo county and a county's own folder are read without listing
    every file on the command line.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: 目录不存在")
    chinese = {"towns": "乡镇街道", "grids": "网格", "parks": "园区", "buildings": "商务楼宇",
               "markets": "商圈市场", "centres": "党群服务中心", "instructors": "党建指导员",
               "boundary": "县界", "ledger": "台账"}
    english = {"boundary": "county"}
    found: dict[str, Path] = {}
    for kind in (*LAYERS, "instructors", "boundary", "ledger"):
        suffixes = _TABLE_SUFFIXES if kind in ("instructors", "ledger") else _SUFFIXES
        stems = (english.get(kind, kind), chinese[kind])
        for stem in stems:
            for suffix in suffixes:
                candidate = folder / f"{stem}{suffix}"
                if candidate.exists() and kind not in found:
                    found[kind] = candidate
    bundle = folder / "layers.gpkg"  # one GeoPackage with a layer per kind (our gpkg export)
    if bundle.exists():
        names = {str(name) for name, _ in _gpkg_layers(bundle)}
        for kind in (*LAYERS, "boundary"):
            if kind not in found and kind in names:
                found[kind] = bundle
    if "grids" not in found:
        raise InputError(f"{folder}: 目录中没有网格图层（grids.geojson 或 网格.gpkg）")
    return found


def _gpkg_layers(path):
    import pyogrio

    return pyogrio.list_layers(path)


def load_county_folder(folder: str | Path) -> County:
    """Read every layer a county folder has (see :func:`county_files`)."""
    files = county_files(folder)
    layers = {k: v for k, v in files.items() if k != "ledger"}
    return load_county(**layers)
