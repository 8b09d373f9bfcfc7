"""The store's tables, declared once for both backends.

The same columns live in a GeoPackage file and in PostgreSQL+PostGIS; only the geometry type
differs (a GeoPackage blob or a PostGIS ``geometry``), so the schema is built per backend from
one description.

- ``units``: one row per unit, the ledger's 27 columns as the staff wrote them (text, so an
  unknown value survives with its flag and an export gives back what was imported), the
  spreadsheet row it came from, a ``version`` that every change raises (two people editing one
  unit are told, not silently overwritten), who changed it last, and ``absent_since`` for a unit
  the latest ledger no longer lists (kept until someone confirms its removal). ``geom`` is the
  position the ledger records, converted to WGS-84, for QGIS users.
- ``unit_history``: every change of every field: who, when, old → new, and why.
- ``imports``: every import and layer upload with its counts.
- one table per map layer, in canonical columns, and ``instructors``.
- ``snapshots``: the county's figures as they stood after an import (totals, per town, per grid,
  and each unit's status and position, compressed), for the "progress over time" views.
- ``meta``: the data version (raised by every write: the dashboard's caches key on it), the
  county's name, whether the data is the fictional demo, which layers the county has.
"""

from __future__ import annotations

import shapely
from sqlalchemy import BigInteger, Column, Float, Integer, LargeBinary, MetaData, Table, Text, func
from sqlalchemy.types import UserDefinedType

from services.geodata import LAYER_SPECS
from services.ledger import CHINESE_HEADER
from services.store import gpkg

LEDGER_FIELDS = tuple(CHINESE_HEADER)  # English names, in the template's order
LAYER_TABLES = ("towns", "grids", "parks", "buildings", "markets", "centres", "boundary")
INSTRUCTOR_COLUMNS = ("name", "unit", "phone")
ATTRIBUTE_TABLES = ("unit_history", "imports", "instructors", "meta", "accounts", "audit_log", "snapshots")


class GpkgGeometry(UserDefinedType):
    """A GeoPackage geometry column: shapely in, shapely out, GP blobs in the file."""

    cache_ok = True

    def __init__(self, geometry_type: str = "GEOMETRY"):
        self.geometry_type = geometry_type

    def get_col_spec(self, **kw):
        return self.geometry_type

    def bind_processor(self, dialect):
        # bytes: already encoded in bulk by the store (a 100k-unit import encodes once)
        return lambda value: value if value is None or isinstance(value, bytes) else gpkg.to_blobs([value])[0]

    def result_processor(self, dialect, coltype):
        return lambda value: None if value is None else gpkg.from_blobs([value])[0]


class PostgisGeometry(UserDefinedType):
    """A PostGIS ``geometry(<type>, 4326)`` column, exchanged as WKB."""

    cache_ok = True

    def __init__(self, geometry_type: str = "GEOMETRY"):
        self.geometry_type = geometry_type

    def get_col_spec(self, **kw):
        return f"geometry({self.geometry_type.capitalize()},{gpkg.SRS_ID})"

    def bind_expression(self, bindvalue):
        return func.ST_GeomFromWKB(bindvalue, gpkg.SRS_ID)

    def column_expression(self, col):
        return func.ST_AsBinary(col, type_=self)

    def bind_processor(self, dialect):
        return lambda value: value if value is None or isinstance(value, bytes) else shapely.to_wkb(
            value, byte_order=1, output_dimension=2)

    def result_processor(self, dialect, coltype):
        return lambda value: None if value is None else shapely.from_wkb(bytes(value))


def encode_geometries(backend: str, geometries) -> list[bytes | None]:
    """Many geometries encoded at once for ``backend`` (what the column types would do one by one)."""
    if backend == "gpkg":
        return gpkg.to_blobs(geometries)
    return list(shapely.to_wkb(geometries, byte_order=1, output_dimension=2))


def build_tables(backend: str) -> tuple[MetaData, dict[str, Table]]:
    """The store's tables for ``backend`` ("gpkg" or "postgis")."""
    geometry = GpkgGeometry if backend == "gpkg" else PostgisGeometry
    metadata = MetaData()

    def fid():
        # SQLite needs exactly INTEGER PRIMARY KEY for a rowid alias (GeoPackage requires it).
        return Column("fid", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)

    tables = {
        "meta": Table("meta", metadata, Column("key", Text, primary_key=True), Column("value", Text)),
        "units": Table(
            "units", metadata, fid(),
            Column("geom", geometry("POINT")),
            *(Column(name, Text, nullable=name != "credit_code", unique=name == "credit_code")
              for name in LEDGER_FIELDS),
            Column("source_row", Integer),
            Column("version", Integer, nullable=False),
            Column("updated_at", Text),
            Column("updated_by", Text),
            Column("absent_since", Text),
        ),
        "unit_history": Table(
            "unit_history", metadata, fid(),
            Column("credit_code", Text, nullable=False, index=True),
            Column("unit_version", Integer),
            Column("changed_at", Text, nullable=False),
            Column("who", Text, nullable=False),
            Column("action", Text, nullable=False),
            Column("field", Text),
            Column("old", Text),
            Column("new", Text),
            Column("import_id", Integer),
        ),
        "imports": Table(
            "imports", metadata, fid(),
            Column("imported_at", Text, nullable=False),
            Column("who", Text, nullable=False),
            Column("what", Text, nullable=False),
            Column("source", Text),
            Column("added", Integer),
            Column("changed", Integer),
            Column("unchanged", Integer),
            Column("rejected", Integer),
            Column("absent", Integer),
            Column("note", Text),
        ),
        # Sign-in accounts (services.accounts): a salted argon2 hash, never the password; the
        # failure count and lock time slow down password guessing across app instances.
        "accounts": Table(
            "accounts", metadata, fid(),
            Column("name", Text, nullable=False, unique=True),
            Column("role", Text, nullable=False),
            Column("towns", Text),
            Column("grids", Text),
            Column("password_hash", Text, nullable=False),
            Column("created_at", Text, nullable=False),
            Column("created_by", Text),
            Column("disabled", Integer, nullable=False, default=0),
            Column("failed_count", Integer, nullable=False, default=0),
            Column("locked_until", Float),
        ),
        # Who signed in, imported, edited, exported or changed an account, and when.
        "audit_log": Table(
            "audit_log", metadata, fid(),
            Column("at", Text, nullable=False),
            Column("who", Text, nullable=False),
            Column("action", Text, nullable=False),
            Column("detail", Text),
        ),
        # Dated figures for "progress over time" (services.snapshots): JSON for the small parts,
        # the units as zlib-compressed columnar JSON (a city's 100k units stay a few MB).
        "snapshots": Table(
            "snapshots", metadata, fid(),
            Column("taken_at", Text, nullable=False),
            Column("label", Text, nullable=False),
            Column("import_id", Integer),
            Column("totals", Text, nullable=False),
            Column("towns", Text, nullable=False),
            Column("grids", Text, nullable=False),
            Column("units", LargeBinary, nullable=False),
        ),
        "instructors": Table(
            "instructors", metadata, fid(),
            *(Column(name, Text) for name in INSTRUCTOR_COLUMNS),
            Column("source_row", Integer),
        ),
    }
    for kind in LAYER_TABLES:
        spec = LAYER_SPECS.get(kind)
        columns = spec.columns if spec else ("name",)
        numeric = spec.numeric if spec else ()
        tables[kind] = Table(
            kind, metadata, fid(),
            Column("geom", geometry("GEOMETRY")),
            *(Column(name, Float if name in numeric else Text) for name in columns),
            Column("source_row", Integer),
        )
    return metadata, tables
