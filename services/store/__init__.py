"""The store: the county's data in an embedded GeoPackage file, or in PostGIS when
``DATABASE_URL`` is set. See :mod:`services.store.store` for what it guarantees."""

from __future__ import annotations

import os
from pathlib import Path

from services.store.diff import UnitDiff, diff_units
from services.store.store import (EDITABLE_FIELDS, ConflictError, EditRejected, EditResult, ImportResult, Store,
                                  StoreError, open_engine)

DEFAULT_STORE = Path(__file__).resolve().parents[2] / "data" / "county.gpkg"

__all__ = ["DEFAULT_STORE", "EDITABLE_FIELDS", "ConflictError", "EditRejected", "EditResult", "ImportResult",
           "Store", "StoreError", "UnitDiff", "diff_units", "default_url", "open_store"]


def default_url() -> str:
    """``$DATABASE_URL`` (PostGIS), else ``$COUNTY_STORE`` (a GeoPackage path), else
    ``data/county.gpkg`` in the project folder."""
    return os.environ.get("DATABASE_URL") or os.environ.get("COUNTY_STORE") or str(DEFAULT_STORE)


def open_store(url: str | None = None) -> Store:
    """Open (and on first use create) the store at ``url`` (default :func:`default_url`)."""
    url = url or default_url()
    engine, backend = open_engine(url)
    return Store(url, engine, backend)
