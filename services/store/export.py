"""Everything in the store as files: the ledger, the instructor list and the map layers.

An export is always a complete county folder (``ledger``, ``instructors``, the layers) that
:func:`services.workspace.read_folder`, the headless report and ``python -m services import``
read back unchanged; ``format`` chooses how the tables and layers are written:

========  =====================================  ===========================================
format    tables (台账, 党建指导员)                 map layers
========  =====================================  ===========================================
xlsx      ``ledger.xlsx``, ``instructors.xlsx``   one ``.geojson`` per layer
csv       ``ledger.csv``, ``instructors.csv``     one ``.geojson`` per layer
geojson   ``ledger.csv``, ``instructors.csv``     one ``.geojson`` per layer + ``units.geojson``
gpkg      ``ledger.csv``, ``instructors.csv``     ``layers.gpkg`` (every layer + ``units``)
========  =====================================  ===========================================

``units`` (geojson/gpkg) are the placed units with their coverage status, for GIS users.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from services.exports import to_csv, to_xlsx, unit_table
from services.ledger import CHINESE_HEADER
from services.store.tables import LEDGER_FIELDS

FORMATS = ("xlsx", "csv", "geojson", "gpkg")
LAYER_KINDS = ("towns", "grids", "parks", "buildings", "markets", "centres", "boundary")
LAYER_FILE_NAMES = {"boundary": "county"}  # the folder reader finds the outline as county.*
INSTRUCTOR_HEADERS = {"name": "姓名", "unit": "单位", "phone": "联系电话"}


def ledger_frame(cells: pd.DataFrame) -> pd.DataFrame:
    """Stored units as a ledger under the canonical Chinese headers, in the store's order."""
    return cells[list(LEDGER_FIELDS)].rename(columns=CHINESE_HEADER).reset_index(drop=True)


def instructor_frame(instructors: pd.DataFrame) -> pd.DataFrame:
    return instructors[list(INSTRUCTOR_HEADERS)].rename(columns=INSTRUCTOR_HEADERS)


def layer_geojson(frame: gpd.GeoDataFrame) -> bytes:
    """A layer as GeoJSON (UTF-8, WGS-84, Chinese kept readable)."""
    return frame.to_json(ensure_ascii=False, drop_id=True).encode("utf-8")


def layers_gpkg(layers: dict[str, gpd.GeoDataFrame]) -> bytes:
    """Several layers as one GeoPackage file, as bytes (for a download button)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "layers.gpkg"
        _write_gpkg(layers, path)
        return path.read_bytes()


def placed_units(units: pd.DataFrame) -> gpd.GeoDataFrame:
    """Placed units as points with the columns people read (status, flags…)."""
    placed = units[units["x"].notna()]
    table = unit_table(placed)
    return gpd.GeoDataFrame(table.reset_index(drop=True),
                            geometry=gpd.points_from_xy(placed["x"], placed["y"]), crs="EPSG:4326")


def export_store(store, out: str | Path, fmt: str = "xlsx", *, analysis=None) -> list[Path]:
    """Write the store as a county folder in ``out``; returns the files written.

    ``analysis`` (of the same store) is only needed for the ``units`` layer of the geojson and
    gpkg formats; it is computed when not given.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    note = "虚构示例数据" if store.fictional else None
    county = store.load_county()
    ledger = ledger_frame(store.unit_cells())
    table_format = "xlsx" if fmt == "xlsx" else "csv"
    written = [_write_table(ledger, out / f"ledger.{table_format}", "台账")]
    if county.instructors is not None:
        written.append(_write_table(instructor_frame(county.instructors), out / f"instructors.{table_format}", "党建指导员"))
    layers = {kind: getattr(county, kind) for kind in LAYER_KINDS if getattr(county, kind) is not None}
    if fmt in ("geojson", "gpkg"):
        if analysis is None:
            from services.workspace import load_store

            analysis = load_store(store)
        layers["units"] = placed_units(analysis.units)
    if fmt == "gpkg":
        path = out / "layers.gpkg"
        _write_gpkg(layers, path)
        written.append(path)
    else:
        for kind, frame in layers.items():
            path = out / f"{LAYER_FILE_NAMES.get(kind, kind)}.geojson"
            path.write_bytes(layer_geojson(frame))
            written.append(path)
    if note:
        readme = out / "README.txt"
        readme.write_text(f"{note}：本目录由网格党建覆盖一张图导出，内容为虚构的示例县，不代表任何真实单位。\n",
                          encoding="utf-8")
        written.append(readme)
    return written


def _write_table(frame: pd.DataFrame, path: Path, sheet: str) -> Path:
    """A table as .xlsx (header in row 1, so it reads back as written) or UTF-8 CSV."""
    path.write_bytes(to_xlsx({sheet: frame}) if path.suffix == ".xlsx" else to_csv(frame))
    return path


def _write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path) -> None:
    for kind, frame in layers.items():
        pyogrio.write_dataframe(frame, path, layer=kind, driver="GPKG")


def to_bytes(frame: pd.DataFrame, fmt: str, sheet: str = "台账", note: str | None = None) -> bytes:
    """A table as xlsx or csv bytes (download buttons)."""
    return to_xlsx({sheet: frame}, note=note) if fmt == "xlsx" else to_csv(frame)
