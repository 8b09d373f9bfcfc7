"""Draw a folium map through streamlit-folium's component, rendering each distinct map once.

Why: ``st_folium`` renders the whole folium tree to HTML and JavaScript on every call, i.e. on
every rerun of the page, even when nothing on the map changed (a download click, a search
keystroke, a table sort): for the demo county that was two thirds of a page run, for a
100k-unit city over a second. :func:`render` does that work once and keeps the component's
arguments; :func:`show` sends them. The county pages keep rendered maps per assessment and
view in a :class:`MapCache` (``dashboard.widgets.show_county_map``), so a rerun that does not
change the map costs a dictionary lookup.

What is sent is what ``st_folium`` (streamlit-folium 0.27.4, pinned in requirements.txt: the
helpers used are private, so check this module when upgrading it) sends, built with its own
helpers: the Leaflet script with folium's random ids replaced by ``map_div``, the header and
HTML, and the ``default_js``/``default_css`` URLs of every element (local files, see
``dashboard.assets``). The component's key is a digest of the script, as in ``st_folium``:
the same map keeps its mounted iframe (no redraw, the user's pan and zoom stay), a different
map mounts a new one.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future

import folium
import streamlit as st
import streamlit_folium

#: What the component reports back: only clicks (a click on a grid opens its page), so panning
#: and zooming never rerun the script.
RETURNED = ("last_clicked",)


@dataclasses.dataclass(frozen=True)
class RenderedMap:
    """A folium map as the component's arguments (read-only, shared between sessions)."""

    script: str
    header: str
    html: str
    map_id: str
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    digest: str  # of the script without folium's random ids: the same map, the same digest

    @property
    def size(self) -> int:
        """Characters sent to the browser (what the benchmarks call the map's size)."""
        return len(self.script) + len(self.header) + len(self.html)


def render(fmap: folium.Map) -> RenderedMap:
    """Render ``fmap`` once into what :func:`show` sends (the work ``st_folium`` does per call)."""
    fmap.get_root().render()
    fmap.render()
    # _get_html and _get_header read the rendered tree; _get_map_string re-renders it (it must
    # come last, as in st_folium).
    html = streamlit_folium._get_html(fmap)
    header = streamlit_folium._get_header(fmap)
    script = streamlit_folium._get_map_string(fmap)
    css_links, js_links = _asset_links(fmap)
    return RenderedMap(script=script, header=header, html=html, map_id=streamlit_folium.get_full_id(fmap),
                       css_links=css_links, js_links=js_links, digest=_digest(script))


def ensure_served() -> None:
    """Make sure the running server serves streamlit-folium's frontend.

    streamlit-folium declares its component when first imported, and Streamlit registers a
    declared component with the server only when that happens inside a script run. The map
    modules may first be imported by a background thread (the data watcher, the warm-up at
    start, see ``dashboard.serve``); the browser then got a 404 for the map's frame. Registering
    it here, on the script run that shows a map, does not depend on who imported it first.
    """
    from streamlit.runtime import Runtime

    if not Runtime.exists():  # AppTest, or plain Python: nothing serves frontends
        return
    registry = Runtime.instance().component_registry
    component = streamlit_folium._component_func
    if registry.get_component(component.name) is None:
        registry.register_component(component)


def show(rendered: RenderedMap, key: str, height: int, on_change: Callable | None = None) -> dict:
    """Send ``rendered`` to the component; return what it reports (``last_clicked``), which is
    also kept in ``st.session_state[key]`` as ``st_folium`` does."""
    ensure_served()
    component_key = hashlib.sha256(f"{rendered.digest}|{key}".encode()).hexdigest()

    def _on_change():
        st.session_state[key] = st.session_state.get(component_key, {})
        if on_change is not None:
            on_change()

    defaults = dict.fromkeys(RETURNED)
    return streamlit_folium._component_func(
        script=rendered.script, header=rendered.header, html=rendered.html, id=rendered.map_id,
        key=component_key, height=height, width=None, returned_objects=list(RETURNED),
        default=defaults, zoom=None, center=None, feature_group=None, return_on_hover=False,
        layer_control=None, pixelated=False, css_links=list(rendered.css_links),
        js_links=list(rendered.js_links), on_change=_on_change, wrap_longitude=False)


class MapCache:
    """Rendered maps by fingerprint, shared by every session of the process; the least recently
    used beyond ``capacity`` are dropped (a city's map is ~5 MB).

    A map can be rendered ahead, in a background thread (:meth:`prepare`): the 汇报演示 page
    renders the next step's map while the presenter talks over this one. A page that needs a
    map being rendered ahead waits for it instead of rendering it a second time. Plain Python
    rather than ``st.cache_resource``, because the background thread has no Streamlit session
    to show a spinner in.
    """

    def __init__(self, capacity: int = 32):
        self._capacity = capacity
        self._maps: collections.OrderedDict[str, RenderedMap] = collections.OrderedDict()
        self._pending: dict[str, Future] = {}
        self._lock = threading.Lock()

    def __contains__(self, fingerprint: str) -> bool:
        with self._lock:
            return fingerprint in self._maps

    def maps(self) -> list[RenderedMap]:
        """The maps kept now, oldest first (for checks and diagnostics)."""
        with self._lock:
            return list(self._maps.values())

    def get(self, fingerprint: str, make: Callable[[], RenderedMap]) -> RenderedMap:
        """The map kept under ``fingerprint``, made by ``make`` if nobody has (or is doing so)."""
        while True:
            with self._lock:
                if fingerprint in self._maps:
                    self._maps.move_to_end(fingerprint)
                    return self._maps[fingerprint]
                pending = self._pending.get(fingerprint)
                if pending is None:
                    pending = self._pending[fingerprint] = Future()
                    break
            try:
                return pending.result()
            except Exception:  # the other attempt failed: try again here, where errors are shown
                continue
        try:
            rendered = make()
        except BaseException as error:
            with self._lock:
                del self._pending[fingerprint]
            pending.set_exception(error)
            raise
        with self._lock:
            del self._pending[fingerprint]
            self._maps[fingerprint] = rendered
            while len(self._maps) > self._capacity:
                self._maps.popitem(last=False)
        pending.set_result(rendered)
        return rendered

    def prepare(self, fingerprint: str, make: Callable[[], RenderedMap]) -> None:
        """Render the map in a background thread unless it is kept or being rendered already."""
        with self._lock:
            if fingerprint in self._maps or fingerprint in self._pending:
                return

        def run():
            try:
                self.get(fingerprint, make)
            except Exception:  # shown, if it happens again, when a page asks for this map
                logging.getLogger(__name__).exception("rendering a map ahead failed")

        threading.Thread(target=run, name="render-map-ahead", daemon=True).start()


# --- helpers ------------------------------------------------------------------------------


def _asset_links(fmap: folium.Map) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Every element's ``default_css`` and ``default_js`` URLs, in tree order, without repeats
    (the component adds them to its iframe; ``dashboard.assets`` points them at local files)."""
    css, js, todo = [], [], [fmap]
    while todo:
        element = todo.pop(0)
        css += [href for _, href in getattr(element, "default_css", [])]
        js += [src for _, src in getattr(element, "default_js", [])]
        todo[:0] = list(getattr(element, "_children", {}).values())
    return tuple(dict.fromkeys(css)), tuple(dict.fromkeys(js))


_RANDOM_IDS = re.compile(r"_[a-z0-9]+")


def _digest(script: str) -> str:
    """A digest of the script that ignores folium's random element ids (as ``st_folium``'s
    key does), so one map rendered twice gets one digest."""
    return hashlib.sha256(_RANDOM_IDS.sub("", script).encode()).hexdigest()
