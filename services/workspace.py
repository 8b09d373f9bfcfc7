"""Which county the dashboard shows: the store, filled from a county folder on first start.

The dashboard reads its county from the store (:mod:`services.store`): ``DATABASE_URL``
(PostGIS) or a GeoPackage file (``$COUNTY_STORE``, default ``data/county.gpkg``). A store that
has never been loaded is filled from ``$COUNTY_FOLDER`` or, by default, the shipped demo county
in ``geodata/demo``, so the README's run command shows a county with no set-up at all.
The headless report reads folders directly (:func:`load_folder`).
"""

from __future__ import annotations

import os
from pathlib import Path

from services.analysis import Analysis, analyse
from services.county import County, county_files, load_county
from services.ledger import Ledger, read_ledger
from services.problems import InputError
from services.settings import DEFAULT_POLICY, Policy
from services.store import Store, open_store
from services.store.store import SYSTEM_USER

DEMO_FOLDER = Path(__file__).resolve().parents[1] / "geodata" / "demo"
FICTIONAL_NOTE = "虚构示例数据"
STORED_LAYERS = ("towns", "grids", "parks", "buildings", "markets", "centres", "boundary")


def county_folder() -> Path:
    """The folder an empty store is filled from: ``$COUNTY_FOLDER`` when set, else the demo."""
    return Path(os.environ.get("COUNTY_FOLDER") or DEMO_FOLDER)


def is_fictional(folder: Path) -> bool:
    """True for the shipped demo (every screen that shows it says 虚构示例数据)."""
    readme = folder / "README.txt"
    return folder.resolve() == DEMO_FOLDER.resolve() or (
        readme.exists() and FICTIONAL_NOTE in readme.read_text(encoding="utf-8", errors="ignore"))


def read_folder(folder: Path, *, keep_cells: bool = False) -> tuple[Ledger, County]:
    """The ledger and layers of a county folder (see :func:`services.county.county_files`)."""
    files = county_files(folder)
    ledger = files.pop("ledger", None)
    if ledger is None:
        raise InputError(f"{folder}: 目录中没有台账（ledger.xlsx / ledger.csv / 台账.xlsx）")
    return read_ledger(ledger, keep_cells=keep_cells), load_county(**files)


def load_folder(folder: Path, policy: Policy = DEFAULT_POLICY) -> Analysis:
    """Read and assess the county folder's ledger and layers."""
    ledger, county = read_folder(folder)
    return analyse(ledger, county, policy)


def county_layers(county: County) -> dict:
    """The layers of a county as the store takes them (only those the county has)."""
    layers = {kind: getattr(county, kind) for kind in STORED_LAYERS if getattr(county, kind) is not None}
    if county.instructors is not None:
        layers["instructors"] = county.instructors
    return layers


def seed_store(store: Store, folder: Path) -> None:
    """Fill an empty store from a county folder (one transaction; a no-op once filled).

    The first figures are kept as the snapshot "初始数据", the start line of every progress
    chart; only by the process that actually filled the store (another one may have been first).
    """
    from services.snapshots import take_snapshot  # snapshots reads the store through load_store

    ledger, county = read_folder(folder, keep_cells=True)
    seeded = store.seed(ledger, county_layers(county), name=county.name, fictional=is_fictional(folder),
                        source=f"{folder.name}/{ledger.source}")
    if seeded is not None:
        take_snapshot(store, label="初始数据", who=SYSTEM_USER)


def workspace_store(url: str | None = None) -> Store:
    """The dashboard's store, filled from :func:`county_folder` the first time."""
    store = open_store(url)
    if store.is_empty():
        seed_store(store, county_folder())
    return store


def load_store(store: Store, policy: Policy = DEFAULT_POLICY) -> Analysis:
    """Assess the stored county: the same pipeline as for a folder."""
    return analyse(store.load_ledger(), store.load_county(), policy)
