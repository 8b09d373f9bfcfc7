"""The PostGIS server the store tests run against is a real one (scripts/postgis), not a mock."""

import psycopg


def test_postgis_server_is_real(postgis_db):
    with psycopg.connect(postgis_db) as conn:
        version = conn.execute("SELECT postgis_version()").fetchone()[0]
        point = conn.execute("SELECT ST_AsText(ST_GeomFromText('POINT(120 30)', 4326))").fetchone()[0]
    assert version.split()[0].startswith("3.")
    assert point == "POINT(120 30)"
