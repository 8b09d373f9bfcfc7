"""Helpers for driving the app with Streamlit's AppTest: open a page, read its map, metrics,
tables and downloads as a user would see them."""

from __future__ import annotations

import json
import re

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


def map_units(at: AppTest) -> dict[str, dict]:
    """The units drawn on the page's map, by credit code: each unit's popup data (``k`` is its
    style: status, priority, approximate; see ``dashboard.popups.unit_properties``)."""
    found = (json.loads(p) for p in re.findall(r'"properties": (\{[^{}]*\})', map_script(at)))
    return {p["c"]: p for p in found if "c" in p and "k" in p}


def shows(script: str, text: str) -> bool:
    """Whether ``text`` is in the map script, as written or JSON-escaped."""
    return text in script or json.dumps(text)[1:-1] in script


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def table_with(at: AppTest, column: str):
    """The first table on screen that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


# --- who is looking -----------------------------------------------------------------------

PASSWORD = "grid-party-2024"  # a password long enough for the rules; tests use it for everyone


def add_account(name: str, role: str, *, password: str = PASSWORD, towns=(), grids=()):
    """Create an account in the test's store (``COUNTY_STORE``), as an administrator does on
    the 账号管理 page; an account that exists already is left as it is."""
    from services import accounts
    from services.store import open_store

    store = open_store()
    if name not in set(accounts.accounts(store)["name"]):
        accounts.add_account(store, name, role, password, towns=towns, grids=grids, who="测试管理员")
    return store


def sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    """Fill in the 登录 form and submit it."""
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    next(b for b in at.button if b.label == "登录").click().run()
    assert not at.exception, at.exception
    return at


def signed_in(name: str, role: str = "admin", *, password: str = PASSWORD, towns=(), grids=(),
              page: str | None = None, query: dict | None = None) -> AppTest:
    """A new session of ``name``: their account is created in the test's store, the app is
    opened (it shows only 登录), the sign-in form filled in, then ``page`` opened (with a
    link's ``query``)."""
    add_account(name, role, password=password, towns=towns, grids=grids)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert navigation(at) == ["登录"], "with accounts, a new session sees only the sign-in page"
    sign_in(at, name, password)
    assert at.session_state["viewer"].name == name, [e.value for e in at.error]
    if query:
        at.query_params.update(query)
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def navigation(at: AppTest) -> list[str]:
    """The page titles in the session's navigation menu, in order (AppTest keeps what
    ``st.navigation`` registered in its last run; the menu itself is not an element)."""
    return [info["page_name"] for info in at._registered_pages.values()]


def screen_text(at: AppTest) -> str:
    """Every text a visitor could read on screen (main area and sidebar): titles, labels,
    Markdown, notices, widget values, as one string."""
    from google.protobuf import text_format

    parts = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(text_format.MessageToString(proto, as_utf8=True))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    walk(at.sidebar)
    return "\n".join(parts)
