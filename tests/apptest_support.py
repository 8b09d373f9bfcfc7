"""Helpers for driving the app with Streamlit's AppTest: open a page, read its map, metrics,
tables and downloads as a user would see them."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from conftest import REPO

APP = str(REPO / "streamlit_app.py")


def open_page(page: str, query: dict | None = None) -> AppTest:
    """The app opened on ``page`` (e.g. "pages/places.py"), optionally with a link's query."""
    at = AppTest.from_file(APP, default_timeout=120).run()
    if query:
        at.query_params.update(query)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def map_script(at: AppTest) -> str:
    """The Leaflet script of the page's one st_folium map (an UnknownElement in AppTest)."""
    maps = [e for e in at.main if type(e).__name__ == "UnknownElement"]
    assert len(maps) == 1
    return json.loads(maps[0].proto.json_args)["script"]


def shows(script: str, text: str) -> bool:
    """Whether ``text`` is in the map script, as written or JSON-escaped."""
    return text in script or json.dumps(text)[1:-1] in script


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def table_with(at: AppTest, column: str):
    """The first table on screen that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)
