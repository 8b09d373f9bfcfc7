"""The county's data kept safe: one interface over an embedded GeoPackage file and PostGIS.

Staff load ledgers and map layers, grid leaders correct units, everyone exports; the store
makes each of those one transaction. What it guarantees, on both backends:

- **Nothing half done.** An import, a layer upload, an edit or a removal is one transaction;
  a failed or killed import leaves the store exactly as it was.
- **Nothing silently overwritten.** Every unit carries a version; an edit names the version the
  editor saw, and if someone else changed the unit since, the edit is refused with what they
  changed. Writers are serialised (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock), so
  an import computes its difference against exactly the data it replaces.
- **Nothing forgotten.** Every changed field is recorded (who, when, old → new); units a new
  ledger no longer lists stay until someone confirms their removal.
- **Every page current.** Every write raises the data version in ``meta``; the dashboard keys
  its caches on it, so the figures change on every page right after an edit.

The units are read back through the same ledger parser a file goes through
(:func:`services.ledger.ledger_from_cells`), so a unit from the store and the same unit from its
file are the same unit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event

from services import geodata
from services.coords import to_wgs84
from services.county import County, grid_overlap_problems
from services.ledger import CHINESE_HEADER, Ledger, ledger_from_cells
from services.problems import Problem
from services.store import gpkg
from services.store.diff import UnitDiff, diff_units
from services.store.tables import (ATTRIBUTE_TABLES, INSTRUCTOR_COLUMNS, LAYER_TABLES, LEDGER_FIELDS, build_tables,
                                   encode_geometries)

# What a grid leader may correct in a unit (the list: members, instructor, mass orgs,
# reason, org; plus the employee count and business status those rules read).
EDITABLE_FIELDS = (
    "employees", "formal_members", "probationary_members", "mobile_members", "activists",
    "business_status", "org_name", "org_type", "org_elected", "instructor", "mass_orgs", "reason_no_org",
)
SYSTEM_USER = "系统"
_CHUNK = 900  # SQLite allows 999 bound parameters in one statement
_BEIJING = ZoneInfo("Asia/Shanghai")
_WRITE_LOCK = 0x43_4F_56_45  # PostgreSQL advisory lock key shared by every writer


class StoreError(Exception):
    """A write the store refused; the message is one Chinese sentence for the user."""


class ConflictError(StoreError):
    """Someone changed the unit (or the data) after the editor loaded it. ``changes`` lists what
    they changed (``changed_at``, ``who``, ``field``, ``old``, ``new``)."""

    def __init__(self, message: str, changes: pd.DataFrame | None = None):
        super().__init__(message)
        self.changes = changes if changes is not None else pd.DataFrame()


class EditRejected(StoreError):
    """An edit whose values the ledger rules reject (a negative count, say); nothing was written."""

    def __init__(self, problems: list[Problem]):
        super().__init__("；".join(f"{p.column}：{p.reason}" for p in problems))
        self.problems = problems


@dataclasses.dataclass
class ImportResult:
    """What an import did: counts for the report, and the difference it applied."""

    import_id: int
    diff: UnitDiff
    rejected: int
    version: int

    @property
    def added(self) -> int:
        return len(self.diff.added)

    @property
    def changed(self) -> int:
        return len(self.diff.changed)

    @property
    def unchanged(self) -> int:
        return self.diff.unchanged

    @property
    def absent(self) -> int:
        return len(self.diff.absent)


@dataclasses.dataclass
class EditResult:
    """An edit that went through: the unit's new version, the fields changed, and the values
    kept with a flag (e.g. more formal members than employees) for the user to see."""

    version: int
    changes: dict[str, tuple[str | None, str | None]]
    warnings: list[Problem]


def now_text() -> str:
    """Beijing time as people read it in a history list."""
    return dt.datetime.now(_BEIJING).strftime("%Y-%m-%d %H:%M:%S")


class Store:
    """The county's ledger, layers, history and imports in one database.

    Open one with :func:`services.store.open_store`. Methods that write take ``who`` (the
    account shown in the history) and run as one transaction.
    """

    def __init__(self, url: str, engine: sa.Engine, backend: str):
        self.url = url
        self.engine = engine
        self.backend = backend
        self.metadata, self.tables = build_tables(backend)
        self._initialise()

    # --- what the store is ---------------------------------------------------------------

    @property
    def label(self) -> str:
        """Where the data lives, for the 数据管理 page (no password)."""
        if self.backend == "gpkg":
            return f"GeoPackage 文件 {self.engine.url.database}"
        url = self.engine.url
        return f"PostGIS {url.host}:{url.port or 5432}/{url.database}"

    def version(self) -> int:
        """The data version: raised by every write (cheap; the dashboard asks on every rerun)."""
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(self.tables["meta"].c.value).where(
                self.tables["meta"].c.key == "version")).scalar()
        return int(value or 0)

    def meta(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(self.tables["meta"])).all())

    def is_empty(self) -> bool:
        """True until a county has been loaded (no grids, no units)."""
        return "layer:grids" not in self.meta()

    @property
    def fictional(self) -> bool:
        return self.meta().get("fictional") == "1"

    def setting(self, key: str, default=None):
        """A saved setting (JSON), e.g. the presenter's sequence of briefing steps."""
        import json

        value = self.meta().get(f"setting:{key}")
        return default if value is None else json.loads(value)

    def save_setting(self, key: str, value, who: str) -> None:
        """Save a setting (JSON-serialisable) for every session; not a data change, so the data
        version stays (no page recomputes its figures for it)."""
        import json

        with self.transaction() as conn:
            self._set_meta(conn, {f"setting:{key}": json.dumps(value, ensure_ascii=False)})
            self.record(conn, who, "保存设置", key)

    # --- reading ----------------------------------------------------------------------

    def unit_cells(self, *, include_absent: bool = True) -> pd.DataFrame:
        """Every stored unit: the ledger fields as text, ``version``, ``updated_at``,
        ``updated_by``, ``absent_since``, in the store's order (the export's order)."""
        with self.engine.connect() as conn:
            return self._unit_cells(conn, include_absent=include_absent)

    def load_ledger(self) -> Ledger:
        """The stored units as a :class:`Ledger`; row numbers are those of an export."""
        cells = self.unit_cells()
        return ledger_from_cells(cells[list(LEDGER_FIELDS)], "数据库")

    def load_county(self) -> County:
        """The stored layers as a :class:`County` (a layer never loaded is ``None``)."""
        meta = self.meta()
        frames: dict[str, gpd.GeoDataFrame | None] = {}
        with self.engine.connect() as conn:
            for kind in LAYER_TABLES:
                frames[kind] = self._read_layer(conn, kind) if f"layer:{kind}" in meta else None
            instructors = None
            if "layer:instructors" in meta:
                table = self.tables["instructors"]
                rows = conn.execute(sa.select(*(table.c[c] for c in (*INSTRUCTOR_COLUMNS, "source_row")))
                                    .order_by(table.c.fid)).all()
                instructors = pd.DataFrame(rows, columns=[*INSTRUCTOR_COLUMNS, "source_row"]).astype(
                    {c: "str" for c in INSTRUCTOR_COLUMNS} | {"source_row": "int64"})
        grids = frames.pop("grids")
        if grids is None:
            grids = geodata.canonical_layer("grids", pd.DataFrame({"source_row": []}), [])
        boundary = frames.pop("boundary")
        problems = grid_overlap_problems(grids, "网格图层") if len(grids) else []
        return County(grids=grids, instructors=instructors, boundary=boundary, problems=problems,
                      name=meta.get("county_name"), **frames)

    def unit(self, credit_code: str) -> dict | None:
        """One unit's stored record (ledger fields as text, version, who changed it last)."""
        units = self.tables["units"]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*self._unit_columns()).where(units.c.credit_code == credit_code)).mappings().first()
        return dict(row) if row else None

    def history(self, credit_code: str | None = None, limit: int | None = None) -> pd.DataFrame:
        """Changes, newest first: ``changed_at``, ``who``, ``action``, ``credit_code``,
        ``field``, ``old``, ``new``, ``unit_version``."""
        table = self.tables["unit_history"]
        query = sa.select(table.c.changed_at, table.c.who, table.c.action, table.c.credit_code, table.c.field,
                          table.c.old, table.c.new, table.c.unit_version).order_by(table.c.fid.desc())
        if credit_code is not None:
            query = query.where(table.c.credit_code == credit_code)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).all(),
                                columns=["changed_at", "who", "action", "credit_code", "field", "old", "new",
                                         "unit_version"])

    def imports(self) -> pd.DataFrame:
        """Every import and layer upload, newest first."""
        table = self.tables["imports"]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c.fid.desc())).mappings().all()
        return pd.DataFrame(rows, columns=[c.name for c in table.columns])

    def absent_units(self) -> pd.DataFrame:
        """Units the latest ledger no longer lists, waiting for someone to confirm removal."""
        cells = self.unit_cells()
        return cells[cells["absent_since"].notna()][["credit_code", "name", "absent_since"]].reset_index(drop=True)

    # --- writing ----------------------------------------------------------------------

    def plan_import(self, ledger: Ledger) -> UnitDiff:
        """What importing ``ledger`` would do, without writing (the page shows it first)."""
        return diff_units(self.unit_cells(), _incoming_cells(ledger))

    def import_ledger(self, ledger: Ledger | None, who: str, *, layers: Mapping[str, pd.DataFrame] | None = None,
                      source: str | None = None, expected_version: int | None = None,
                      progress: Callable[[str], None] | None = None, meta: Mapping[str, str] | None = None) -> ImportResult:
        """Import a ledger (and optionally layers) in one transaction.

        Units are matched by credit code: new ones are added, changed ones updated with each
        changed field in the history, units no longer listed are marked absent (not deleted).
        ``expected_version``: the data version the user saw the plan at; if anything was
        written since, nothing is imported and :class:`ConflictError` says so.
        """
        say = progress or (lambda message: None)
        with self.transaction() as conn:
            if expected_version is not None and self._version(conn) != expected_version:
                raise ConflictError("预览之后数据已被他人修改，请重新检查后再导入")
            stamp = now_text()
            import_id = self._record_import(conn, who, "台账" if ledger is not None else "图层", source, stamp)
            for kind, frame in (layers or {}).items():
                self._replace_layer(conn, kind, frame)
            diff = UnitDiff.nothing()
            rejected = 0
            if ledger is not None:
                incoming = _incoming_cells(ledger)
                diff = diff_units(self._unit_cells(conn), incoming)
                rejected = len(ledger.rejected_rows)
                self._apply_diff(conn, diff, ledger, who, stamp, import_id, say)
            counts = {"added": len(diff.added), "changed": len(diff.changed), "unchanged": diff.unchanged,
                      "rejected": rejected, "absent": len(diff.absent)}
            imports = self.tables["imports"]
            conn.execute(imports.update().where(imports.c.fid == import_id).values(**counts))
            if meta:
                self._set_meta(conn, dict(meta))
            what = "导入台账" if ledger is not None else "上传图层"
            detail = "，".join(filter(None, [source, ", ".join(layers or {}) or None,
                                             ledger is not None and "新增{added}，更新{changed}，拒收{rejected}，台账中已无{absent}".format(**counts)]))
            self.record(conn, who, what, detail)
            version = self._bump(conn)
        return ImportResult(import_id, diff, rejected, version)

    def replace_layers(self, layers: Mapping[str, pd.DataFrame], who: str, source: str | None = None) -> int:
        """Replace map layers (and/or ``instructors``) in one transaction; the new version."""
        return self.import_ledger(None, who, layers=layers, source=source).version

    def confirm_removals(self, credit_codes: list[str], who: str) -> int:
        """Delete units the latest ledger no longer lists, after a person confirmed it.

        Only units marked absent are removed (a unit listed again meanwhile stays); their history
        is kept with a 删除 entry. Returns how many were removed.
        """
        units = self.tables["units"]
        with self.transaction() as conn:
            stamp = now_text()
            removed = []
            for chunk in _chunks(list(credit_codes)):
                rows = conn.execute(sa.select(units.c.credit_code, units.c.name, units.c.version).where(
                    units.c.credit_code.in_(chunk), units.c.absent_since.is_not(None))).all()
                removed.extend(rows)
                conn.execute(units.delete().where(units.c.credit_code.in_([r[0] for r in rows])))
            if not removed:
                return 0
            conn.execute(self.tables["unit_history"].insert(), [
                {"credit_code": code, "unit_version": version, "changed_at": stamp, "who": who, "action": "删除",
                 "field": None, "old": name, "new": None} for code, name, version in removed])
            self.record(conn, who, "删除单位", f"{len(removed)}个：" + "、".join(name or code for code, name, _ in removed[:20]))
            self._bump(conn)
        return len(removed)

    def edit_unit(self, credit_code: str, changes: Mapping[str, object], *, expected_version: int,
                  who: str) -> EditResult:
        """Correct one unit's fields, as a grid leader does in the unit form.

        ``expected_version`` is the unit's version the editor saw. Values are checked by the
        ledger rules: a value the rules reject raises :class:`EditRejected`; a changed unit
        raises :class:`ConflictError` listing who changed what. Nothing is written then.
        """
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        expected_version = int(expected_version)  # a numpy integer binds as a blob in SQLite
        units = self.tables["units"]
        with self.transaction() as conn:
            query = sa.select(*self._unit_columns()).where(units.c.credit_code == credit_code)
            if self.backend == "postgis":
                query = query.with_for_update()
            row = conn.execute(query).mappings().first()
            if row is None:
                raise StoreError("该单位已不在数据库中（可能已被删除），请刷新页面")
            if row["version"] != expected_version:
                since = self._history_since(conn, credit_code, expected_version)
                who_changed = "、".join(dict.fromkeys(since["who"])) if len(since) else "他人"
                raise ConflictError(f"该单位已被{who_changed}修改（你看到的是第{expected_version}版，现为第"
                                    f"{row['version']}版），你的修改未保存，请查看最新内容后再改", since)
            new_values = {field: _clean_text(value) for field, value in changes.items()}
            actual = {field: (row[field], value) for field, value in new_values.items() if value != row[field]}
            cells = {field: row[field] for field in LEDGER_FIELDS} | new_values
            checked = ledger_from_cells(pd.DataFrame([cells]), "修改")
            rejected = [p for p in checked.problems if p.rejected]
            if rejected:
                raise EditRejected(rejected)
            if not actual:
                return EditResult(row["version"], {}, checked.problems)
            stamp = now_text()
            version = row["version"] + 1
            done = conn.execute(units.update().where(units.c.credit_code == credit_code, units.c.version == expected_version)
                                .values(**{f: new for f, (_, new) in actual.items()}, version=version,
                                        updated_at=stamp, updated_by=who))
            if done.rowcount != 1:  # cannot happen while writers are serialised; never overwrite if it does
                raise ConflictError("该单位刚被他人修改，你的修改未保存，请刷新后再改")
            conn.execute(self.tables["unit_history"].insert(), [
                {"credit_code": credit_code, "unit_version": version, "changed_at": stamp, "who": who,
                 "action": "修改", "field": field, "old": old, "new": new} for field, (old, new) in actual.items()])
            self.record(conn, who, "修改单位", f"{row['name']}（{credit_code}）：" + "，".join(
                f"{CHINESE_HEADER.get(f, f)} {old or '空'}→{new or '空'}" for f, (old, new) in actual.items()))
            self._bump(conn)
        return EditResult(version, actual, checked.problems)

    def seed(self, ledger: Ledger, layers: Mapping[str, pd.DataFrame], *, name: str | None, fictional: bool,
             source: str) -> ImportResult | None:
        """Fill an empty store with a county (the demo on first start); a no-op if another
        process filled it first."""
        with self.transaction() as conn:
            if self._meta_value(conn, "layer:grids") is not None:
                return None
        meta = {"fictional": "1" if fictional else "0"}
        if name:
            meta["county_name"] = name
        return self.import_ledger(ledger, SYSTEM_USER, layers=layers, source=source, meta=meta)

    def record(self, conn: sa.Connection, who: str, action: str, detail: str | None = None) -> None:
        """Add an entry to the audit log inside the caller's transaction."""
        conn.execute(self.tables["audit_log"].insert().values(at=now_text(), who=who, action=action, detail=detail))

    # --- private helpers ----------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One write transaction, serialised against every other writer of this store (the
        accounts module writes through it too)."""
        with self.engine.connect().execution_options(store_write=True) as conn:
            with conn.begin():
                if self.backend == "postgis":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK})
                yield conn

    def _initialise(self) -> None:
        """Create the tables (and the GeoPackage metadata) on first use; idempotent, safe with
        several app instances starting at once."""
        with self.transaction() as conn:
            if self.backend == "gpkg":
                for statement in gpkg.METADATA_DDL:
                    conn.exec_driver_sql(statement)
            elif not conn.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).scalar():
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
            self.metadata.create_all(conn, checkfirst=True)
            if self.backend == "gpkg":
                self._register_gpkg(conn)
            if self._meta_value(conn, "version") is None:
                conn.execute(self.tables["meta"].insert(), [{"key": "version", "value": "0"}])

    def _register_gpkg(self, conn: sa.Connection) -> None:
        """Describe every table in the GeoPackage metadata so QGIS lists them as layers."""
        conn.exec_driver_sql(f"PRAGMA application_id = {gpkg.APPLICATION_ID}")
        conn.exec_driver_sql(f"PRAGMA user_version = {gpkg.USER_VERSION}")
        present = {r[0] for r in conn.exec_driver_sql("SELECT srs_id FROM gpkg_spatial_ref_sys")}
        for row in gpkg.spatial_ref_rows():
            if row["srs_id"] not in present:
                conn.exec_driver_sql(
                    "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
                    (row["srs_name"], row["srs_id"], row["organization"], row["organization_coordsys_id"],
                     row["definition"], row["description"]))
        registered = {r[0] for r in conn.exec_driver_sql("SELECT table_name FROM gpkg_contents")}
        for name in ("units", *LAYER_TABLES):
            if name not in registered:
                conn.exec_driver_sql("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                                     "VALUES (?, 'features', ?, ?)", (name, name, gpkg.SRS_ID))
                kind = "POINT" if name == "units" else "GEOMETRY"
                conn.exec_driver_sql("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, 0, 0)",
                                     (name, kind, gpkg.SRS_ID))
        for name in ATTRIBUTE_TABLES:
            if name not in registered:
                conn.exec_driver_sql("INSERT INTO gpkg_contents (table_name, data_type, identifier) "
                                     "VALUES (?, 'attributes', ?)", (name, name))

    def _unit_columns(self) -> list[sa.Column]:
        units = self.tables["units"]
        return [units.c[name] for name in (*LEDGER_FIELDS, "source_row", "version", "updated_at", "updated_by",
                                            "absent_since")]

    def _unit_cells(self, conn: sa.Connection, *, include_absent: bool = True) -> pd.DataFrame:
        units = self.tables["units"]
        columns = self._unit_columns()
        query = sa.select(*columns).order_by(units.c.fid)
        if not include_absent:
            query = query.where(units.c.absent_since.is_(None))
        return _frame(conn.execute(query).all(), [c.name for c in columns])

    def _read_layer(self, conn: sa.Connection, kind: str) -> gpd.GeoDataFrame:
        table = self.tables[kind]
        columns = [c for c in table.columns if c.name not in ("fid", "geom")]
        rows = conn.execute(sa.select(*columns, table.c.geom).order_by(table.c.fid)).all()
        frame = _frame(rows, [*(c.name for c in columns), "geom"])
        return geodata.canonical_layer(kind, frame, frame["geom"].tolist())

    def _replace_layer(self, conn: sa.Connection, kind: str, frame: pd.DataFrame) -> None:
        table = self.tables[kind]
        conn.execute(table.delete())
        records = []
        columns = [c.name for c in table.columns if c.name not in ("fid", "geom")]
        geometry = frame.geometry.to_numpy() if isinstance(frame, gpd.GeoDataFrame) else None
        for position, row in enumerate(frame.reindex(columns=columns).itertuples(index=False)):
            record = {name: _plain(value) for name, value in zip(columns, row)}
            if geometry is not None:
                record["geom"] = geometry[position]
            records.append(record)
        if records:
            conn.execute(table.insert(), records)
        self._set_meta(conn, {f"layer:{kind}": "1"})
        if kind == "boundary" and len(frame) and "name" in frame and pd.notna(frame["name"].iloc[0]):
            self._set_meta(conn, {"county_name": str(frame["name"].iloc[0])})

    def _apply_diff(self, conn, diff: UnitDiff, ledger: Ledger, who: str, stamp: str, import_id: int, say) -> None:
        """Write an import's difference: changed units are replaced (version + 1), new ones
        inserted, absent ones marked; every change goes to the history."""
        units, history = self.tables["units"], self.tables["unit_history"]
        versions = dict(conn.execute(sa.select(units.c.credit_code, units.c.version).where(
            units.c.credit_code.in_(list(diff.changed["credit_code"])) if len(diff.changed) else sa.false())).all()) \
            if len(diff.changed) < _CHUNK else self._versions(conn)
        replaced = list(diff.changed["credit_code"]) if len(diff.changed) else []
        for chunk in _chunks(replaced):
            conn.execute(units.delete().where(units.c.credit_code.in_(chunk)))
        records = _unit_records(ledger, diff, versions, who, stamp, self.backend)
        total = len(records)
        for start in range(0, total, 5000):
            conn.execute(units.insert(), records[start:start + 5000])
            say(f"已写入 {min(start + 5000, total)}/{total} 个单位")
        still_present = [code for code in diff.returned if code not in set(replaced)]
        for chunk in _chunks(still_present):
            conn.execute(units.update().where(units.c.credit_code.in_(chunk)).values(absent_since=None))
        newly_absent = list(diff.absent_new["credit_code"])
        for chunk in _chunks(newly_absent):
            conn.execute(units.update().where(units.c.credit_code.in_(chunk)).values(absent_since=stamp))
        entries = [{"credit_code": code, "unit_version": 1, "changed_at": stamp, "who": who, "action": "导入新增",
                    "field": None, "old": None, "new": None, "import_id": import_id}
                   for code in (diff.added["credit_code"] if len(diff.added) else ())]
        entries += [{"credit_code": r.credit_code, "unit_version": versions[r.credit_code] + 1, "changed_at": stamp,
                     "who": who, "action": "导入更新", "field": r.field, "old": r.old, "new": r.new,
                     "import_id": import_id} for r in diff.changes.itertuples(index=False)]
        entries += [{"credit_code": code, "unit_version": None, "changed_at": stamp, "who": who,
                     "action": "台账中已无此单位", "field": None, "old": None, "new": None, "import_id": import_id}
                    for code in newly_absent]
        for start in range(0, len(entries), 20000):
            conn.execute(history.insert(), entries[start:start + 20000])

    def _versions(self, conn) -> dict[str, int]:
        units = self.tables["units"]
        return dict(conn.execute(sa.select(units.c.credit_code, units.c.version)).all())

    def _history_since(self, conn, credit_code: str, version: int) -> pd.DataFrame:
        table = self.tables["unit_history"]
        rows = conn.execute(sa.select(table.c.changed_at, table.c.who, table.c.field, table.c.old, table.c.new)
                            .where(table.c.credit_code == credit_code, table.c.unit_version > version)
                            .order_by(table.c.fid)).all()
        frame = pd.DataFrame(rows, columns=["changed_at", "who", "field", "old", "new"])
        frame["field"] = frame["field"].map(lambda f: CHINESE_HEADER.get(f, f))
        return frame

    def _record_import(self, conn, who: str, what: str, source: str | None, stamp: str) -> int:
        table = self.tables["imports"]
        result = conn.execute(table.insert().values(imported_at=stamp, who=who, what=what, source=source))
        return int(result.inserted_primary_key[0])

    def _version(self, conn) -> int:
        return int(self._meta_value(conn, "version") or 0)

    def _bump(self, conn) -> int:
        version = self._version(conn) + 1
        self._set_meta(conn, {"version": str(version)})
        return version

    def _meta_value(self, conn, key: str) -> str | None:
        table = self.tables["meta"]
        return conn.execute(sa.select(table.c.value).where(table.c.key == key)).scalar()

    def _set_meta(self, conn, values: Mapping[str, str]) -> None:
        table = self.tables["meta"]
        for key, value in values.items():
            if conn.execute(table.update().where(table.c.key == key).values(value=value)).rowcount == 0:
                conn.execute(table.insert().values(key=key, value=value))


def open_engine(url: str) -> tuple[sa.Engine, str]:
    """An engine for a store URL and its backend ("gpkg" or "postgis").

    ``postgresql://…`` is PostGIS (through psycopg 3); anything else is a GeoPackage file: a
    path, ``gpkg:PATH`` or ``sqlite:///PATH``.
    """
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return sa.create_engine(url, pool_pre_ping=True), "postgis"
    path = url.removeprefix("sqlite:///").removeprefix("gpkg:")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, record):
        # The driver's own transaction handling is switched off so the "begin" hook below
        # decides how each transaction starts (SQLAlchemy's documented pysqlite recipe).
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # A writer takes the write lock at once (BEGIN IMMEDIATE): an import then computes its
        # difference against exactly the data it replaces, and two writers queue, never fail.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("store_write") else "BEGIN")

    return engine, "gpkg"


# --- module helpers ------------------------------------------------------------------------


def _incoming_cells(ledger: Ledger) -> pd.DataFrame:
    if ledger.cells is None:
        raise ValueError("read the ledger with keep_cells=True to import it")
    return ledger.cells


def _unit_records(ledger: Ledger, diff: UnitDiff, versions: dict[str, int], who: str, stamp: str,
                  backend: str) -> list[dict]:
    """The rows to insert for an import's added and changed units, built column-wise (a
    100k-unit import must not cost a pandas lookup per cell)."""
    position = pd.Series(np.arange(len(ledger.cells)), index=ledger.cells["credit_code"].to_numpy())
    added = diff.added["credit_code"].tolist() if len(diff.added) else []
    changed = diff.changed["credit_code"].tolist() if len(diff.changed) else []
    taken = position.loc[added + changed].to_numpy()
    cells = ledger.cells.iloc[taken]
    columns = {field: _objects(cells[field]) for field in LEDGER_FIELDS}
    columns["geom"] = encode_geometries(backend, _ledger_points(ledger)[taken])
    columns["source_row"] = ledger.units["row"].to_numpy()[taken].astype(int).tolist()
    columns["version"] = [1] * len(added) + [versions[code] + 1 for code in changed]
    size = len(taken)
    columns |= {"updated_at": [stamp] * size, "updated_by": [who] * size, "absent_since": [None] * size}
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*columns.values())]


def _frame(rows, names: list[str]) -> pd.DataFrame:
    """Query rows as a frame of plain object columns, built column-wise: pandas' record path
    probes every SQLAlchemy row for attributes, and its string inference converts every text
    column to Arrow and back, which together cost seconds for a city."""
    columns = list(zip(*rows)) if rows else [()] * len(names)
    data = {}
    for name, values in zip(names, columns):
        array = np.empty(len(values), dtype=object)
        array[:] = values
        data[name] = pd.Series(array, dtype=object)
    return pd.DataFrame(data)


def _objects(values: pd.Series) -> list:
    """A column as Python values with None for missing (what the database driver takes)."""
    return values.astype(object).where(values.notna(), None).tolist()


def _ledger_points(ledger: Ledger) -> np.ndarray:
    """Each unit's recorded position in WGS-84 (None without usable coordinates)."""
    import shapely

    units = ledger.units
    lon, lat = to_wgs84(units["lon"].to_numpy(float), units["lat"].to_numpy(float),
                        units["crs"].fillna("WGS84").to_numpy(dtype=object))
    points = shapely.points(lon, lat)
    points[~(np.isfinite(lon) & np.isfinite(lat))] = None
    return points


def _plain(value):
    """A value as the database takes it: None for any missing value, Python scalars."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _clean_text(value) -> str | None:
    """A form value as a cell: blank → None, numbers as the ledger writes them."""
    value = _plain(value)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    text = str(value)
    return text if text.strip() else None


def _chunks(items: list, size: int = _CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
