"""Who sees what, in the app as each role uses it (issue 5): a 网格长, a 乡镇街道 account and a 演示
account sign in, open every page their role can reach, try links, searches and filters, and
take every file offered; everything that reached them is collected and searched.

"Everything" is: each element's content as Streamlit sends it (titles, Markdown, captions,
metrics, widget labels, values and options, help texts), every table's cells, every map's
script, and every download, eager or made on the click. Unit names are compared as whole cells
(a table cell, an option) and as the names drawn on the map; credit codes, people's names and
phones, and addresses are searched as text in all of it. Each test also shows that the
collection is real: the viewer's own units are all found in it (and, for 演示, the very same
collection on the administrator's screen does contain the names, codes and phones it must not).
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import re

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from google.protobuf import text_format
from streamlit.testing.v1 import AppTest

from apptest_support import APP
from conftest import DEMO, MAP_FRAME, running_app, screenshot
from services import accounts
from services.store import open_store
from services.workspace import seed_store

GRID = "QH-01-03"  # 青禾街道第3网格: 33 units, of all four statuses, with a grid leader
OTHER_GRID = "QH-03-02"  # another town's grid
TOWN = "禾丰镇"
PASSWORD = "角色测试口令2026"
LEADER, TOWN_ACCOUNT, BRIEFING, ADMIN = "网格长秦", "禾丰镇干部", "演示账号", "县委管理员"
ACCOUNTS = {LEADER: ("grid_leader", {"grids": (GRID,)}), TOWN_ACCOUNT: ("town", {"towns": (TOWN,)}),
            BRIEFING: ("demo", {}), ADMIN: ("admin", {})}
PAGES = {"pages/county_map.py": "全县一张图", "pages/grid.py": "网格", "pages/places.py": "园区与楼宇",
         "pages/joint_orgs.py": "联合党支部", "pages/blind_spots.py": "空白点", "pages/centres.py": "党群服务中心",
         "pages/briefing.py": "汇报演示"}
ADMIN_ONLY = ("pages/data.py", "pages/accounts.py")


@pytest.fixture
def county(demo):
    """The whole demo county, as the headless report reads it."""
    return demo


@pytest.fixture(scope="module")
def role_store(tmp_path_factory):
    """A store of this module only: the demo county and one account of each role."""
    path = tmp_path_factory.mktemp("roles") / "s.gpkg"
    store = open_store(str(path))
    seed_store(store, DEMO)
    for name, (role, where) in ACCOUNTS.items():
        accounts.add_account(store, name, role, PASSWORD, **where)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COUNTY_STORE", str(path))
        yield str(path)


# --- what reached the user ------------------------------------------------------------------

CODE_WINDOW = re.compile(r"(?=([0-9A-Z]{18}))")


def _unescaped_script(script: str) -> str:
    """A map script as text: JSON's \\uXXXX escapes and HTML's entities resolved."""
    return html.unescape(re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), script))


def _elements(node):
    for child in getattr(node, "children", {}).values():
        yield child
        yield from _elements(child)


@dataclasses.dataclass
class Seen:
    """Everything shown to or handed to one session."""

    cells: set = dataclasses.field(default_factory=set)  # whole strings: table cells, options, values
    texts: list = dataclasses.field(default_factory=list)  # every text, to search in
    scripts: dict = dataclasses.field(default_factory=dict)  # page → map scripts
    metrics: dict = dataclasses.field(default_factory=dict)  # page → {label: value}
    files: dict = dataclasses.field(default_factory=dict)  # file name → its text

    def look(self, at: AppTest, page: str, typed: str | None = None) -> None:
        """Collect the screen ``at`` shows now (main area and sidebar); ``typed`` is what the
        user typed into a text box (theirs, not the app's answer)."""
        assert not at.exception, at.exception
        for node in _elements(at._tree):
            kind = type(node).__name__
            if kind == "TextInput" and typed is not None and node.value == typed:
                continue
            if kind == "Dataframe":
                frame = node.value
                frame = frame.data if hasattr(frame, "data") else frame  # a Styler's frame
                self.cells |= {str(c) for c in frame.columns}
                self.cells |= {str(v) for v in frame.to_numpy().ravel() if not pd.isna(v)}
                self.texts.append(frame.to_csv(index=False))
            elif kind == "UnknownElement":
                args = json.loads(node.proto.json_args or "{}")
                script = args.pop("script", "")
                if script:
                    self.scripts.setdefault(page, []).append(script)
                self.texts += [_unescaped_script(script), json.dumps(args, ensure_ascii=False)]
            elif hasattr(node, "proto") and kind not in ("Block", "SpecialBlock", "Column", "Tab"):
                self.texts.append(text_format.MessageToString(node.proto, as_utf8=True))
                for attribute in ("value", "label"):
                    value = getattr(node, attribute, None)
                    if isinstance(value, str):
                        self.cells.add(value)
                for option in getattr(node, "options", None) or ():
                    self.cells.add(str(option))
            if kind == "Metric":
                self.metrics.setdefault(page, {})[node.label] = node.value

    def take_files(self, downloads: dict, made_on_click: dict) -> None:
        """Every file offered so far: ready ones, and those made on the click (clicked here)."""
        for name, data in downloads.items():
            self._file(name, data)
        for name, make in made_on_click.items():
            self._file(name, make())

    def _file(self, name: str, data) -> None:
        data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        if name.endswith(".xlsx"):
            book = openpyxl.load_workbook(io.BytesIO(data))
            values = [str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row
                      if c.value is not None]
        elif name.endswith(".csv"):
            values = [v for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for v in row]
        else:
            text = data.decode("utf-8", errors="replace")
            values = [html.unescape(v).strip() for v in re.findall(r">([^<]+)<", text)]
            self.texts.append(html.unescape(text))
        self.cells |= set(values)
        self.texts.append("\n".join(values))
        self.files[name] = "\n".join(values)

    @property
    def blob(self) -> str:
        return "\n".join(self.texts)

    def codes(self) -> set[str]:
        """Every 18-character run that could be a credit code, anywhere."""
        return set(CODE_WINDOW.findall(self.blob))

    def drawn_units(self, page: str) -> set[tuple[str, str]]:
        """(name, credit code) of every unit drawn on the page's maps."""
        return {unit for script in self.scripts.get(page, []) for unit in drawn_units(script)}


def drawn_units(script: str) -> list[tuple[str, str]]:
    """(name, credit code) of each unit feature in a map script (its GeoJSON properties
    ``n`` and ``c``, HTML-escaped for the popup)."""
    decoder = json.JSONDecoder()
    units = []
    for match in re.finditer(r'"properties": ', script):
        properties, _ = decoder.raw_decode(script, match.end())
        if isinstance(properties, dict) and {"n", "c", "k"} <= set(properties):
            units.append((html.unescape(properties["n"]), html.unescape(properties["c"])))
    return units


def _trie_pattern(words) -> re.Pattern:
    """One regex matching any of ``words`` at every position (overlapping), built as a trie so
    thousands of names are searched in one pass over megabytes of text."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node) -> str:
        ends = "" in node
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = "(?:" + "|".join(branches) + ")"
        return body + "?" if ends else body

    return re.compile("(?=(" + pattern(trie) + "))")


def found(words, text: str) -> set[str]:
    """Which of ``words`` occur in ``text`` (as substrings)."""
    words = {w for w in words if isinstance(w, str) and w}
    return set(_trie_pattern(words).findall(text)) & words if words else set()


# --- signing in and going round the pages ---------------------------------------------------


def signed_in(name: str) -> AppTest:
    """A session signed in through the sign-in form, on the default page."""
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert [s.value for s in at.subheader] == ["登录"] and not at.metric, "nothing shows before signing in"
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.get("form_submit_button")[0].click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "全县一张图"
    return at


def every_page(at: AppTest, seen: Seen) -> None:
    for page, title in PAGES.items():
        at.switch_page(page).run()
        assert not at.exception, at.exception
        if page != "pages/briefing.py":  # the projector view has a headline, not a page title
            assert at.title[0].value == title
        seen.look(at, title)


def cannot_open_admin_pages(at: AppTest) -> None:
    """数据管理 (whole-store exports) and 账号管理 are not pages of this session at all: the
    navigation does not register them, so no link or path can open them."""
    assert [info["page_name"] for info in at._registered_pages.values()] == list(PAGES.values())
    for page in ADMIN_ONLY:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)


def metric_of(seen: Seen, page: str, label: str) -> str:
    return seen.metrics[page][label]


def search(at: AppTest, query: str) -> AppTest:
    at.switch_page("pages/county_map.py").run()
    at.text_input(key="search").input(query).run()
    assert not at.exception, at.exception
    return at


# --- the tests --------------------------------------------------------------------------------


def _scoped_session_sees_only(at: AppTest, seen: Seen, county, inside: pd.Series, my_grids: set[str],
                              other_grid: str, downloads, made_on_click) -> None:
    """The checks shared by the 网格长 and 乡镇街道 tests: ``inside`` marks the units the viewer
    may see, ``my_grids`` their grids; nothing of any other unit may reach them, and all of
    their own do."""
    units = county.units
    mine, others = units[inside], units[~inside]
    other_codes, other_names = set(others["credit_code"]), set(others["name"])

    # A link to another grid opens one of the viewer's own grids instead; only those are offered.
    at.query_params["grid"] = other_grid
    at.switch_page("pages/grid.py").run()
    choice = at.selectbox(key="grid_choice")
    assert choice.value in my_grids
    assert {re.search(r"（([^（）]+)）$", option).group(1) for option in choice.options} == my_grids
    seen.look(at, "网格?grid=其他网格")
    # A link to another grid's unit (the edit form's ?unit=) shows nothing of it (checked below
    # with everything else).
    stranger = others[others["grid_id"].notna()].iloc[0]
    at.query_params["unit"] = stranger["credit_code"]
    at.switch_page("pages/grid.py").run()
    seen.look(at, "网格?unit=其他单位")
    at.query_params.clear()

    # Searching another unit by its code or its name finds nothing; one's own unit is found.
    for query in (stranger["credit_code"], stranger["name"]):
        search(at, query)
        assert [w.value for w in at.warning] == ["没有找到匹配的单位"], query
        seen.look(at, f"搜索 {query}", typed=query)
    own = mine[mine["x"].notna()].iloc[0]
    search(at, own["credit_code"])
    assert at.selectbox(key="search_hit").value == own["row"]
    seen.look(at, "搜索本人单位")

    # The sidebar filters offer only the viewer's towns and grids.
    grid_options = set(at.sidebar.multiselect(key="filter_grids").options)
    assert grid_options == set(mine["grid_id"])
    assert set(at.sidebar.multiselect(key="filter_towns").options) == set(mine["town_name"])

    seen.take_files(downloads, made_on_click)
    assert seen.files, "the pages offered files"

    # The collection is real: every own unit's code and name is in it, and the county map
    # draws exactly the own placed units.
    assert set(mine["credit_code"]) <= seen.codes()
    assert set(mine["name"]) <= seen.cells
    placed = mine[mine["x"].notna()]
    assert seen.drawn_units("全县一张图") == set(zip(placed["name"], placed["credit_code"]))

    # Nothing of any other unit: no code anywhere, no name as a cell, an option or on a map, and
    # no name in any text (except a name that is part of an own unit's name, such as a head
    # office's name inside its branch's).
    assert not other_codes & seen.codes()
    assert not other_names & seen.cells
    for page in seen.scripts:
        assert not {n for n, _ in seen.drawn_units(page)} & other_names, page
    part_of_own = {n for n in other_names if any(n in m for m in mine["name"])}
    assert not found(other_names - part_of_own, seen.blob)
    # Nor another grid: not offered, not in a table, and no other grid leader's name or phone.
    grids = county.county.grids
    other_grids = grids[~grids["id"].isin(set(mine["grid_id"]))]
    assert not set(other_grids["id"]) & seen.cells
    assert not found(set(other_grids["leader_phone"].dropna()), seen.blob)
    assert not found(set(other_grids["leader"].dropna()), seen.blob)


def test_a_grid_leader_reaches_no_unit_of_another_grid(role_store, county, downloads, made_on_click):
    at = signed_in(LEADER)
    seen = Seen()
    every_page(at, seen)
    cannot_open_admin_pages(at)
    assert metric_of(seen, "网格", "单位总数") == str((county.units["grid_id"] == GRID).sum())

    _scoped_session_sees_only(at, seen, county, county.units["grid_id"].eq(GRID), {GRID}, OTHER_GRID,
                              downloads, made_on_click)
    assert at.sidebar.multiselect(key="filter_grids").options == [GRID]
    leader = county.county.grids.set_index("id").loc[GRID]
    assert found({leader["leader"], leader["leader_phone"]}, seen.blob) == {leader["leader"], leader["leader_phone"]}


def test_a_town_account_reaches_no_unit_of_another_town(role_store, county, downloads, made_on_click):
    at = signed_in(TOWN_ACCOUNT)
    seen = Seen()
    every_page(at, seen)
    cannot_open_admin_pages(at)
    inside = county.units["town_name"].eq(TOWN)
    assert metric_of(seen, "全县一张图", "单位总数") == f"{inside.sum():,}"
    town_grids = set(county.county.grids.loc[county.county.grids["town"] == TOWN, "id"])

    _scoped_session_sees_only(at, seen, county, inside, town_grids, OTHER_GRID, downloads, made_on_click)


def _people_and_units(county) -> dict[str, set[str]]:
    """What a briefing must never show, by kind, from the demo county's own files."""
    grids = gpd.read_file(DEMO / "grids.geojson")
    instructors = pd.read_csv(DEMO / "instructors.csv", dtype=str)
    ledger = pd.read_excel(DEMO / "ledger.xlsx", dtype=str, engine="calamine")
    return {
        "网格长姓名": set(grids["leader"].dropna()) - {""},
        "网格长电话": set(grids["leader_phone"].dropna()) - {""},
        "指导员姓名": set(instructors["姓名"].dropna()) | set(county.units["instructor"].dropna()),
        "指导员电话": set(instructors["联系电话"].dropna()),
        "统一社会信用代码": set(ledger["统一社会信用代码"].dropna()),
        "地址": set(ledger["地址"].dropna()),
        "单位名称": set(ledger["企业名称"].dropna()),
    }


def _whole_session(name: str, downloads, made_on_click) -> tuple[AppTest, Seen]:
    at = signed_in(name)
    seen = Seen()
    every_page(at, seen)
    at.switch_page("pages/grid.py").run()
    at.selectbox(key="grid_choice").select(GRID).run()  # a grid with a leader (the first has none)
    seen.look(at, f"网格 {GRID}")
    seen.take_files(downloads, made_on_click)
    return at, seen


def test_the_briefing_role_shows_no_person_and_no_unit_but_the_same_figures(role_store, county, downloads,
                                                                             made_on_click):
    forbidden = _people_and_units(county)
    _, admin = _whole_session(ADMIN, downloads, made_on_click)
    downloads.clear()
    downloads.by_id.clear()
    made_on_click.clear()
    at, briefing = _whole_session(BRIEFING, downloads, made_on_click)
    # The same figures on every page.
    assert briefing.metrics == admin.metrics
    assert briefing.metrics["全县一张图"]["单位总数"] == f"{len(county.units):,}"

    cannot_open_admin_pages(at)
    # Searching a real unit by its name or code finds nothing.
    unit = county.units.iloc[0]
    for query in (unit["name"], unit["credit_code"]):
        search(at, query)
        assert [w.value for w in at.warning] == ["没有找到匹配的单位"], query
        briefing.look(at, f"搜索 {query}", typed=query)
    # The collection would have caught them: the administrator's screens and files show each
    # kind of personal data (an instructor's phone is on none of these pages for anyone).
    blob = admin.blob
    for kind, words in forbidden.items():
        if kind != "指导员电话":
            assert found(words, blob), f"{kind} not found even for the administrator"
    assert set(county.units["credit_code"]) <= admin.codes()
    # The briefing: every unit drawn, under a masked name, with no code; nothing personal anywhere.
    drawn = briefing.drawn_units("全县一张图")
    assert len(drawn_units(briefing.scripts["全县一张图"][0])) == county.units["x"].notna().sum()
    assert {c for _, c in drawn} == {"（已隐去）"}
    assert all(n.startswith("某") for n, _ in drawn)
    assert briefing.files, "the pages offered files"
    text = briefing.blob
    assert not forbidden["统一社会信用代码"] & briefing.codes()
    for kind, words in forbidden.items():
        assert not found(words, text), kind
        assert not words & briefing.cells, kind


# --- in a real browser --------------------------------------------------------------------------


def signed_in_page(browser, url: str, name: str):
    """A new tab in which ``name`` has signed in and 全县一张图 with its map is up."""
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(url)
    page.get_by_label("账号").fill(name)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="全县一张图").first.wait_for(timeout=60_000)
    page.wait_for_selector(MAP_FRAME, state="attached", timeout=60_000)
    return page


def test_in_the_browser_a_grid_leader_gets_only_their_grid(browser, role_store, county):
    units = county.units
    mine = units[units["grid_id"].eq(GRID) & units["x"].notna()]
    other_codes = set(units.loc[~units["grid_id"].eq(GRID), "credit_code"])
    with running_app({"COUNTY_STORE": role_store}) as url:
        page = signed_in_page(browser, url, LEADER)
        frame = page.frame_locator(MAP_FRAME).first
        markers = frame.locator("path.unit-marker")
        markers.first.wait_for(state="attached", timeout=60_000)
        assert markers.count() == len(mine)

        # The codes of the units the map in the page holds (Leaflet's own layers).
        map_frame = page.locator(MAP_FRAME).first.element_handle().content_frame()
        drawn = map_frame.evaluate("""() => Object.values(window.map._layers)
            .filter(l => l.feature && l.feature.properties && l.feature.properties.c)
            .map(l => l.feature.properties.c)""")
        assert set(drawn) == set(mine["credit_code"])
        # The map's whole HTML (its script carries the units' data) and the page around it.
        markup = map_frame.content() + page.content() + page.inner_text("body")
        codes = set(CODE_WINDOW.findall(markup))
        assert set(mine["credit_code"]) <= codes
        assert not codes & other_codes
        assert page.get_by_text(f"（网格长，{GRID}）").count() == 1
        screenshot(page, "roles_grid_leader_county_map")
        page.close()


def test_in_the_browser_a_briefing_account_shows_no_person_and_no_unit(browser, role_store, county):
    hidden = _people_and_units(county)
    with running_app({"COUNTY_STORE": role_store}) as url:
        page = signed_in_page(browser, url, BRIEFING)
        markers = page.frame_locator(MAP_FRAME).first.locator("path.unit-marker")
        markers.first.wait_for(state="attached", timeout=60_000)
        assert markers.count() == int(county.units["x"].notna().sum()), "every placed unit is drawn"

        map_frame = page.locator(MAP_FRAME).first.element_handle().content_frame()
        drawn = map_frame.evaluate("""() => Object.values(window.map._layers)
            .filter(l => l.feature && l.feature.properties && l.feature.properties.n)
            .map(l => l.feature.properties.n)""")
        assert drawn and all(name.startswith("某") for name in drawn), "units are drawn under masked names"
        markup = map_frame.content() + page.content() + page.inner_text("body")
        assert not set(CODE_WINDOW.findall(markup)) & hidden["统一社会信用代码"]
        for kind in ("网格长姓名", "网格长电话", "指导员姓名", "指导员电话", "单位名称"):
            assert not found(hidden[kind], markup), kind
        screenshot(page, "roles_briefing_county_map")
        page.close()
