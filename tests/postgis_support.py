"""A real PostgreSQL + PostGIS server for the tests, started by ``scripts/postgis``.

``postgis_url`` (session): one throwaway cluster on a free 127.0.0.1 port, its database ``county``
has PostGIS. ``postgis_db`` (per test): a fresh database with PostGIS on that server, dropped after
the test, so tests cannot see each other's tables.

If the server cannot be installed or started the fixtures fail (with the script's stderr) rather
than skip: a skipped store test would hide that the PostGIS path was never exercised.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "postgis"


def _postgis(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], cwd=REPO, capture_output=True, text=True)


def _fail(what: str, result: subprocess.CompletedProcess) -> None:
    pytest.fail(f"scripts/postgis {what} failed (exit {result.returncode}):\n{result.stderr}{result.stdout}",
                pytrace=False)


def _database_url(url: str, database: str) -> str:
    """The same server's URL for another database (the URLs here have no query string)."""
    return f"{url.rsplit('/', 1)[0]}/{database}"


@pytest.fixture(scope="session")
def postgis_url(tmp_path_factory):
    """URL of the session's throwaway PostGIS server (database ``county``)."""
    install = _postgis("install")
    if install.returncode != 0:
        _fail("install", install)
    # As root the cluster belongs to the postgres user, who cannot enter pytest's private
    # /tmp/pytest-of-root (mode 0700): then the cluster goes in its own directory under /tmp.
    parent = None if os.geteuid() == 0 else tmp_path_factory.getbasetemp()
    cluster = tempfile.mkdtemp(prefix="postgis-", dir=parent)
    start = _postgis("start", cluster)
    if start.returncode != 0:
        _postgis("stop", cluster)  # removes whatever the failed start left behind
        with contextlib.suppress(OSError):
            os.rmdir(cluster)  # (start failed before it marked the directory as its own)
        _fail("start", start)
    try:
        yield start.stdout.strip()
    finally:
        stop = _postgis("stop", cluster)
        if stop.returncode != 0:
            _fail("stop", stop)


@pytest.fixture
def postgis_db(postgis_url):
    """URL of a fresh database with PostGIS on the session server, dropped after the test."""
    name = f"test_{uuid.uuid4().hex}"
    admin_url = _database_url(postgis_url, "postgres")
    # CREATE/DROP DATABASE cannot run inside a transaction: autocommit connections.
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _database_url(postgis_url, name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        yield url
    finally:
        # FORCE: a connection the code under test left open must not keep the database alive.
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(params=["gpkg", "postgis"])
def store_url(request, tmp_path):
    """An empty store of each kind, for the tests that must hold on both: a GeoPackage file,
    and a fresh database on the throwaway PostGIS server."""
    if request.param == "gpkg":
        return str(tmp_path / "county.gpkg")
    return request.getfixturevalue("postgis_db")


@pytest.fixture
def demo_store(store_url):
    """A store of each kind filled with the demo county, as the dashboard's first start fills it."""
    from conftest import DEMO
    from services.store import open_store
    from services.workspace import seed_store

    store = open_store(store_url)
    seed_store(store, DEMO)
    return store
