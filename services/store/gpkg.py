"""The few parts of the GeoPackage standard (OGC 12-128r18) the embedded store needs.

Why by hand: the store writes its tables through SQLite transactions of its own (an import is
one transaction that a killed process cannot leave half done), so it cannot let GDAL write
them. A GeoPackage is an SQLite file with three metadata tables and geometry stored as a small
header followed by WKB; that is all QGIS needs to open the store as layers.
"""

from __future__ import annotations

import struct

import numpy as np
import pyproj
import shapely

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10400  # GeoPackage 1.4
SRS_ID = 4326
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
_HEADER = b"GP" + bytes([0, 0b0000_0001]) + struct.pack("<i", SRS_ID)  # v1, little-endian, no envelope
_EMPTY_HEADER = b"GP" + bytes([0, 0b0001_0001]) + struct.pack("<i", SRS_ID)

METADATA_DDL = (
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
        organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
        description TEXT DEFAULT '',
        last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
        srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
)


def spatial_ref_rows() -> list[dict]:
    """The three rows every GeoPackage has (undefined cartesian, undefined geographic, WGS 84)."""
    return [
        {"srs_name": "Undefined cartesian SRS", "srs_id": -1, "organization": "NONE",
         "organization_coordsys_id": -1, "definition": "undefined", "description": None},
        {"srs_name": "Undefined geographic SRS", "srs_id": 0, "organization": "NONE",
         "organization_coordsys_id": 0, "definition": "undefined", "description": None},
        {"srs_name": "WGS 84 geodetic", "srs_id": SRS_ID, "organization": "EPSG",
         "organization_coordsys_id": SRS_ID,
         "definition": pyproj.CRS.from_epsg(SRS_ID).to_wkt("WKT1_GDAL"),
         "description": "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"},
    ]


def to_blobs(geometries) -> list[bytes | None]:
    """Shapely geometries (None allowed) as GeoPackage geometry blobs."""
    geometries = np.asarray(geometries, dtype=object)
    wkb = shapely.to_wkb(geometries, byte_order=1, output_dimension=2)
    empty = shapely.is_empty(geometries)
    return [None if body is None else (_EMPTY_HEADER if flag else _HEADER) + body
            for body, flag in zip(wkb.tolist(), empty.tolist())]


def from_blobs(blobs) -> np.ndarray:
    """GeoPackage geometry blobs (None allowed) as an array of shapely geometries."""
    bodies = [None if blob is None else bytes(blob)[8 + _ENVELOPE_BYTES[(blob[3] >> 1) & 0b111]:]
              for blob in blobs]
    return shapely.from_wkb(np.array(bodies, dtype=object))
