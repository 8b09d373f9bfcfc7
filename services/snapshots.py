"""Progress over time: the county's figures kept as dated snapshots, and two of them compared.

A briefing asks "what changed since the start of the year?": which units formed an org, which
blind spots were closed (and which opened), which grids moved. The store keeps only the
current ledger and a field-by-field history, and re-deriving an old state from the history
would need the old map layers and the old rules too. So every import keeps what the rules
said at that moment: the county totals, the rows per town and per grid (the same
:func:`services.rates.coverage_rates` every page uses, so a snapshot taken now equals the
page's figures), and each unit's status and position, compressed.

Everything except reading and writing the ``snapshots`` table is frames in, frames out:
:func:`compare` and :func:`for_viewer` are pure, so the page can cache them.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import secrets
import zlib

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa

from services.access import MASKED_CODE, Viewer, mask_name
from services.coverage import BLIND, JOINT, OWN
from services.rates import COUNT_COLUMNS, RATE_COLUMNS, coverage_rates, totals as county_totals
from services.store import Store, StoreError
from services.store.store import now_text

UNIT_COLUMNS = ("credit_code", "name", "status", "priority_blind", "grid_id", "town_name", "x", "y")
# Kept with the units so a viewer's totals can be recomputed exactly (the formation rate).
_EXTRA_UNIT_COLUMNS = ("above_scale",)
TOTAL_KEYS = (*COUNT_COLUMNS, *RATE_COLUMNS)
LIST_COLUMNS = ("id", "taken_at", "label", "units", "own", "joint", "work", "blind", "priority_blind",
                "org_coverage_rate", "work_coverage_rate")
CHANGE_COLUMNS = ("credit_code", "name", "grid_id", "town_name", "x", "y", "status_before", "status_after")
_COVERED = (OWN, JOINT)
_CATEGORICAL = ("status", "grid_id", "town_name")
_FLAGS = ("priority_blind", "above_scale")
_FORMAT = 1
# Anonymised units are matched between two snapshots by a keyed hash of their credit code: the
# key lives only in this process, so the hash cannot be looked up against a list of codes.
_ANONYMOUS_KEY = secrets.token_bytes(32)


@dataclasses.dataclass
class Snapshot:
    """The county's figures as they stood when the snapshot was taken.

    ``towns`` and ``grids`` are :func:`services.rates.coverage_rates` rows with the town name /
    grid id as a column (``town`` / ``grid_id``; grids also carry ``name`` and ``town``);
    ``units`` has :data:`UNIT_COLUMNS` (plus ``above_scale``).
    """

    id: int
    taken_at: str
    label: str
    import_id: int | None
    totals: dict
    towns: pd.DataFrame
    grids: pd.DataFrame
    units: pd.DataFrame


@dataclasses.dataclass
class Comparison:
    """What changed from ``before`` to ``after``.

    ``new_orgs``, ``closed_blind``, ``new_blind``: units (:data:`CHANGE_COLUMNS`; a unit gone
    from one side has status None there). ``grids``: each grid's org coverage rate before and
    after and the ``change`` in percentage points, largest move first. ``totals``: the county
    figures, one column ``before``, one ``after``.
    """

    before: Snapshot
    after: Snapshot
    new_orgs: pd.DataFrame
    closed_blind: pd.DataFrame
    new_blind: pd.DataFrame
    grids: pd.DataFrame
    totals: pd.DataFrame


# --- storing ---------------------------------------------------------------------------------


def take_snapshot(store: Store, analysis=None, *, label: str | None = None, who: str = "系统") -> int:
    """Keep the county's current figures; returns the snapshot's id.

    ``analysis`` defaults to the stored county assessed with the default policy (what the pages
    show); pass one already computed to save the seconds a city takes. The snapshot belongs to
    the latest import, and its default label is that import's date ("2026-11-23 导入"), which
    the user can rename ("年初") with :func:`rename_snapshot`. Taking a snapshot does not raise
    the data version: no figure on any page changes because of it.
    """
    if analysis is None:
        from services.workspace import load_store  # workspace takes a snapshot when it seeds

        analysis = load_store(store)
    units = analysis.units
    stamp = now_text()
    imports = store.imports()
    import_id = int(imports["fid"].iloc[0]) if len(imports) else None
    label = (label or "").strip() or f"{stamp[:10]} {'导入' if import_id is not None else '快照'}"
    record = {
        "taken_at": stamp,
        "label": label,
        "import_id": import_id,
        "totals": _dumps({key: _plain(value) for key, value in _figures(county_totals(units)).items()}),
        "towns": _dumps(_table(_town_rows(units, analysis.county))),
        "grids": _dumps(_table(_grid_rows(units, analysis.county.grids))),
        "units": encode_units(units),
    }
    table = store.tables["snapshots"]
    with store.transaction() as conn:
        snapshot_id = int(conn.execute(table.insert().values(**record)).inserted_primary_key[0])
        store.record(conn, who, "保存快照", f"#{snapshot_id} {label}")
    return snapshot_id


def list_snapshots(store: Store) -> pd.DataFrame:
    """Every snapshot with its county figures (:data:`LIST_COLUMNS`), oldest first, as a line
    chart of the rates reads them. Cheap: the units are not read."""
    table = store.tables["snapshots"]
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.fid, table.c.taken_at, table.c.label, table.c.totals)
                            .order_by(table.c.fid)).all()
    records = []
    for fid, taken_at, label, totals in rows:
        figures = _totals(totals)
        records.append({"id": int(fid), "taken_at": taken_at, "label": label,
                        **{key: figures.get(key) for key in LIST_COLUMNS[3:]}})
    frame = pd.DataFrame(records, columns=list(LIST_COLUMNS))
    counts = [c for c in LIST_COLUMNS[3:] if c not in RATE_COLUMNS]
    return frame.astype({"id": "int64", **{c: "int64" for c in counts},
                         **{c: "float64" for c in LIST_COLUMNS if c in RATE_COLUMNS}})


def load_snapshot(store: Store, snapshot_id: int) -> Snapshot:
    """One snapshot, units and all; :class:`StoreError` if there is no such snapshot."""
    table = store.tables["snapshots"]
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.fid == int(snapshot_id))).mappings().first()
    if row is None:
        raise StoreError(f"没有编号为 {snapshot_id} 的快照")
    return Snapshot(
        id=int(row["fid"]), taken_at=row["taken_at"], label=row["label"],
        import_id=None if row["import_id"] is None else int(row["import_id"]),
        totals=_totals(row["totals"]),
        towns=_frame(orjson.loads(row["towns"])),
        grids=_frame(orjson.loads(row["grids"])),
        units=decode_units(bytes(row["units"])),
    )


def rename_snapshot(store: Store, snapshot_id: int, label: str, who: str) -> None:
    """Give a snapshot a name people use in a briefing ("年初"); recorded in the audit log."""
    label = (label or "").strip()
    if not label:
        raise StoreError("快照名称不能为空")
    table = store.tables["snapshots"]
    with store.transaction() as conn:
        old = conn.execute(sa.select(table.c.label).where(table.c.fid == int(snapshot_id))).scalar()
        if old is None:
            raise StoreError(f"没有编号为 {snapshot_id} 的快照")
        conn.execute(table.update().where(table.c.fid == int(snapshot_id)).values(label=label))
        store.record(conn, who, "重命名快照", f"#{snapshot_id} {old}→{label}")


# --- comparing -------------------------------------------------------------------------------


def compare(before: Snapshot, after: Snapshot) -> Comparison:
    """What changed between two snapshots: units that formed an org, blind spots closed and
    opened, each grid's move in org coverage, and the county figures side by side.

    Units are matched by credit code (by their anonymous key when both snapshots went through
    :func:`for_viewer` for 演示), so a unit that changed grid is still the same unit.
    """
    a_units, b_units = _keyed(after.units), _keyed(before.units)
    keys = a_units.index.append(b_units.index.difference(a_units.index, sort=False))
    status_before = b_units["status"].reindex(keys)
    status_after = a_units["status"].reindex(keys)
    columns = list(CHANGE_COLUMNS[:6])
    info = a_units[columns].reindex(keys)
    gone = a_units.index.get_indexer(keys) < 0  # (isin of a string index with 100k values is slow)
    if gone.any():  # a unit no longer in the ledger: shown where it was
        for column in columns:
            info.loc[gone, column] = b_units[column].reindex(keys[gone]).to_numpy()
    changes = info.assign(status_before=status_before.astype(object).where(status_before.notna(), None),
                          status_after=status_after.astype(object).where(status_after.notna(), None))
    changes = changes.reset_index(drop=True)[list(CHANGE_COLUMNS)]
    was, now = changes["status_before"], changes["status_after"]
    return Comparison(
        before=before, after=after,
        new_orgs=changes[now.isin(_COVERED) & ~was.isin(_COVERED)].reset_index(drop=True),
        closed_blind=changes[was.eq(BLIND) & ~now.eq(BLIND)].reset_index(drop=True),
        new_blind=changes[now.eq(BLIND) & ~was.eq(BLIND)].reset_index(drop=True),
        grids=_grid_changes(before.grids, after.grids),
        totals=pd.DataFrame({"before": pd.Series(before.totals, dtype="float64"),
                             "after": pd.Series(after.totals, dtype="float64")}).reindex(
                                 [k for k in TOTAL_KEYS if k in before.totals or k in after.totals]),
    )


def _grid_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Each grid's org coverage rate before and after, change in percentage points, largest
    move first (a grid with no units on one side has no rate there, and no change)."""
    names = [c for c in ("name", "town") if c in after or c in before]
    left = before.set_index("grid_id")
    right = after.set_index("grid_id")
    ids = right.index.append(left.index.difference(right.index, sort=False))
    frame = pd.DataFrame({"grid_id": ids})
    for column in names:
        mine = right[column].reindex(ids) if column in right else pd.Series(None, index=ids, dtype=object)
        theirs = left[column].reindex(ids) if column in left else pd.Series(None, index=ids, dtype=object)
        frame[column] = mine.where(mine.notna(), theirs).to_numpy()
    frame["org_coverage_rate_before"] = left["org_coverage_rate"].reindex(ids).to_numpy(dtype=float)
    frame["org_coverage_rate_after"] = right["org_coverage_rate"].reindex(ids).to_numpy(dtype=float)
    frame["change"] = (frame["org_coverage_rate_after"] - frame["org_coverage_rate_before"]) * 100
    order = frame["change"].abs().sort_values(ascending=False, na_position="last", kind="stable").index
    return frame.loc[order].reset_index(drop=True)


# --- what a viewer may see -----------------------------------------------------------------


def for_viewer(snapshot: Snapshot, viewer: Viewer) -> Snapshot:
    """The snapshot as ``viewer`` may see it (the rule of :func:`services.access.scope`).

    A town or grid account keeps its own units, grids and towns, and its figures are
    recomputed from those units only (a grid leader sees their grid's share of a town, not the
    town). 演示 keeps every figure but no unit's name (masked, 某科技有限公司) or credit code;
    its units carry an anonymous ``key`` so two such snapshots can still be compared.
    """
    if viewer.whole_county and not viewer.anonymised:
        return snapshot
    result = snapshot
    if not viewer.whole_county:
        result = _within(snapshot, viewer)
    if viewer.anonymised:
        units = result.units
        result = dataclasses.replace(result, units=units.assign(
            key=[_anonymous_key(code) for code in units["credit_code"]],
            name=_mask_names(units["name"]), credit_code=MASKED_CODE))
    return result


def _within(snapshot: Snapshot, viewer: Viewer) -> Snapshot:
    units = snapshot.units[viewer.sees(snapshot.units)].reset_index(drop=True)
    grids = snapshot.grids
    if viewer.role == "grid_leader":
        grid_ids = set(viewer.grids)
    else:
        in_towns = grids["town"].isin(viewer.towns) if "town" in grids else pd.Series(False, index=grids.index)
        grid_ids = set(grids.loc[in_towns, "grid_id"]) | set(units["grid_id"].dropna())
    kept_grids = grids[grids["grid_id"].isin(grid_ids)]
    town_names = set(units["town_name"].dropna())
    if "town" in kept_grids:
        town_names |= set(kept_grids["town"].dropna())
    if viewer.role == "town":
        town_names |= set(viewer.towns)
    kept_towns = snapshot.towns[snapshot.towns["town"].isin(town_names)]
    return dataclasses.replace(
        snapshot,
        units=units,
        totals=_figures(county_totals(units)),
        towns=_recount(units, kept_towns, "town", "town_name"),
        grids=_recount(units, kept_grids, "grid_id", "grid_id"),
    )


def _recount(units: pd.DataFrame, rows: pd.DataFrame, key: str, by: str) -> pd.DataFrame:
    """``rows`` (towns or grids) with their figures recomputed from ``units``."""
    counts = coverage_rates(units, by=by, groups=rows[key]).reset_index(drop=True)
    labels = rows.drop(columns=[c for c in TOTAL_KEYS if c in rows]).reset_index(drop=True)
    return pd.concat([labels, counts], axis=1)


def _mask_names(names: pd.Series) -> list:
    """:func:`services.access.mask_name` for each name, remembered: it takes ~50 µs a name, and
    the two snapshots a briefing compares name mostly the same units."""
    return [_masked(name) if isinstance(name, str) else None for name in names.tolist()]


@functools.lru_cache(maxsize=1 << 18)
def _masked(name: str) -> str | None:
    return mask_name(name)


def _anonymous_key(code) -> str:
    return hashlib.blake2b(str(code).encode(), key=_ANONYMOUS_KEY, digest_size=12).hexdigest()


# --- encoding --------------------------------------------------------------------------------


def encode_units(units: pd.DataFrame) -> bytes:
    """The units' snapshot columns as zlib-compressed columnar JSON.

    Status, grid and town are stored as codes into a list of their values, flags as 0/1 and
    positions to 6 decimals (about 0.1 m): a city's 100k units then take a few MB at most.
    """
    columns: dict = {"format": _FORMAT, "rows": len(units)}
    for name in ("credit_code", "name"):
        columns[name] = _texts(units[name])
    for name in _CATEGORICAL:
        codes, values = pd.factorize(units[name], use_na_sentinel=True)
        columns[name] = {"values": [str(v) for v in values], "codes": codes.tolist()}
    for name in _FLAGS:
        columns[name] = units[name].fillna(False).to_numpy(dtype=bool).astype(np.int8).tolist()
    for name in ("x", "y"):
        values = np.round(units[name].to_numpy(dtype=float), 6)
        columns[name] = [None if math.isnan(v) else v for v in values.tolist()]
    return zlib.compress(orjson.dumps(columns), 6)


def decode_units(blob: bytes) -> pd.DataFrame:
    """The frame :func:`encode_units` stored (``UNIT_COLUMNS`` and ``above_scale``)."""
    columns = orjson.loads(zlib.decompress(blob))
    data = {}
    for name in ("credit_code", "name"):
        data[name] = _objects(columns[name])
    for name in _CATEGORICAL:
        values = np.array([*columns[name]["values"], None], dtype=object)
        codes = np.asarray(columns[name]["codes"], dtype=np.int64)
        data[name] = values[codes]  # code -1 (missing) picks the trailing None
    for name in _FLAGS:
        data[name] = np.asarray(columns[name], dtype=bool)
    for name in ("x", "y"):
        data[name] = np.array([np.nan if v is None else v for v in columns[name]], dtype=float)
    return pd.DataFrame({name: data[name] for name in (*UNIT_COLUMNS, *_EXTRA_UNIT_COLUMNS)},
                        index=pd.RangeIndex(columns["rows"]))


def _town_rows(units: pd.DataFrame, county) -> pd.DataFrame:
    """coverage_rates per town: every town of the map, plus any a unit names."""
    names = []
    if county.towns is not None and "name" in county.towns:
        names += list(county.towns["name"].dropna())
    if "town" in county.grids:
        names += list(county.grids["town"].dropna())
    names += list(units["town_name"].dropna())
    rows = coverage_rates(units, by="town_name", groups=dict.fromkeys(names))
    return rows.rename_axis("town").reset_index()


def _grid_rows(units: pd.DataFrame, grids) -> pd.DataFrame:
    """coverage_rates per grid of the map, with the grid's name and town."""
    ids = list(dict.fromkeys([*grids["id"], *units["grid_id"].dropna()]))
    rows = coverage_rates(units, by="grid_id", groups=ids).rename_axis("grid_id").reset_index()
    labels = pd.DataFrame(grids.drop(columns="geometry", errors="ignore")).drop_duplicates("id").set_index("id")
    for column in ("name", "town"):
        values = labels[column].reindex(rows["grid_id"]) if column in labels else pd.Series(None, index=rows.index)
        rows.insert(1 if column == "name" else 2, column, values.astype(object).where(values.notna(), None).to_numpy())
    return rows


def _table(frame: pd.DataFrame) -> dict:
    """A small frame as JSON-ready columns (missing values as null)."""
    return {"columns": list(frame.columns),
            "data": [[_plain(v) for v in frame[c].tolist()] for c in frame.columns]}


def _frame(table: dict) -> pd.DataFrame:
    frame = pd.DataFrame(dict(zip(table["columns"], (_objects(values) for values in table["data"]))),
                         columns=table["columns"])
    types = {c: "int64" for c in COUNT_COLUMNS if c in frame} | {c: "float64" for c in RATE_COLUMNS if c in frame}
    return frame.astype(types)


def _totals(text: str) -> dict:
    """Stored totals as :func:`_figures` gives them."""
    return _figures(orjson.loads(text))


def _figures(values) -> dict:
    """County figures as counts (int) and rates (float, NaN when undefined: "no units" is not
    "0% covered"), whether from :func:`services.rates.totals` or from JSON."""
    return {key: (float("nan") if _plain(value) is None else float(value)) if key in RATE_COLUMNS
            else int(value) for key, value in dict(values).items()}


def _dumps(value) -> str:
    return orjson.dumps(value).decode()


def _plain(value):
    """A value JSON can hold: Python scalars, None for missing."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return value


def _texts(values: pd.Series) -> list:
    return [v if isinstance(v, str) else (None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
            for v in values.tolist()]


def _objects(values: list) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _keyed(units: pd.DataFrame) -> pd.DataFrame:
    """Units indexed by what matches them across snapshots: the anonymous key, else the code."""
    key = units["key"] if "key" in units else units["credit_code"]
    return units.set_index(pd.Index(key.to_numpy(dtype=object), name="key"))
