"""The maps load nothing from a CDN: every JS/CSS file is served by the app from static/vendor/.

These need scripts/setup to have fetched static/vendor/ (scripts/test runs it first); without it
they fail, saying so, rather than skip: a county install without those files draws no map.
"""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

import folium
import folium.plugins
import pytest

from dashboard import assets
from dashboard.assets import (MISSING_MESSAGE, URL_PREFIX, VENDOR_DIR, inline_assets,
                              missing_assets, use_local_assets)

REPO = Path(__file__).resolve().parents[1]
HTTP_URL = re.compile(r"https?://[^\s\"'<>()\\]+")


def require_setup() -> None:
    if not VENDOR_DIR.is_dir():
        pytest.fail(f"{VENDOR_DIR} is missing: run scripts/setup ({MISSING_MESSAGE})")
    missing = missing_assets()
    if missing:
        pytest.fail(f"{len(missing)} offline map files missing from static/vendor, e.g. "
                    f"{missing[:3]}: run scripts/setup")


def make_map(tiles: str | None = None) -> folium.Map:
    """A map with every overlay and plugin the dashboard uses."""
    use_local_assets()
    # Without a tile layer folium passes max_zoom to nothing: the map itself needs maxZoom,
    # or MarkerCluster refuses the map.
    extra = {"maxZoom": 18} if tiles is None else {}
    m = folium.Map(location=[25.0, 102.0], zoom_start=13, tiles=tiles, max_zoom=18, **extra)
    square = [[101.99, 24.99], [102.01, 24.99], [102.01, 25.01], [101.99, 25.01], [101.99, 24.99]]
    folium.GeoJson({"type": "Feature", "properties": {"name": "G1"},
                    "geometry": {"type": "Polygon", "coordinates": [square]}}).add_to(m)
    cluster = folium.plugins.MarkerCluster().add_to(m)
    for d in (0.0, 0.001, 0.002):
        folium.Marker([25.0 + d, 102.0 + d], popup="单位").add_to(cluster)
    folium.Marker([25.006, 101.995], icon=folium.Icon(icon="info-sign", color="green")).add_to(m)
    folium.Marker([25.006, 102.005], icon=folium.Icon(icon="star", prefix="fa", angle=45)).add_to(m)
    folium.plugins.FastMarkerCluster([[24.995, 101.995], [24.9952, 101.9952]]).add_to(m)
    folium.plugins.Fullscreen().add_to(m)
    folium.CircleMarker([25.004, 101.996], radius=12).add_to(m)
    return m


def vendor_file(url: str) -> Path:
    assert url.startswith(URL_PREFIX), f"not a local asset URL: {url}"
    return VENDOR_DIR / PurePosixPath(url[len(URL_PREFIX):])


class Attributes(HTMLParser):
    """Every src/href attribute of the page's tags (script bodies are not parsed as tags)."""

    def __init__(self, html: str):
        super().__init__()
        self.links: list[tuple[str, str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.links += [(tag, name, value or "") for name, value in attrs if name in ("src", "href")]


def st_folium_links(m: folium.Map) -> list[str]:
    """The JS/CSS URLs st_folium (streamlit-folium 0.27.4) sends its iframe: the default_js and
    default_css of every element of the map."""
    links, todo = [], [m]
    while todo:
        element = todo.pop()
        for attr in ("default_js", "default_css"):
            links += [url for _, url in getattr(element, attr, [])]
        todo += list(getattr(element, "_children", {}).values())
    return links


def test_no_locked_file_is_missing_or_changed():
    require_setup()
    assert missing_assets() == []
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "fetch_assets"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, f"static/vendor differs from the lock: run scripts/setup\n{done.stdout}"


@pytest.mark.parametrize("tiles", [None, "OpenStreetMap"])
def test_rendered_map_loads_nothing_from_a_cdn(tiles):
    require_setup()
    m = make_map(tiles)
    html = m.get_root().render()
    for child in m._children.values():  # the tile layer's own URL and attribution may stay
        if isinstance(child, folium.TileLayer):
            html = html.replace(child.tiles, "")
            for url in HTTP_URL.findall(child.options.get("attribution", "")):
                html = html.replace(url, "")
    assert HTTP_URL.findall(html) == []

    links = Attributes(html).links
    assert len(links) >= 10
    for tag, _, url in links:
        assert vendor_file(url).is_file(), f"<{tag}> refers to {url}, not in static/vendor"

    image_path = re.search(r'L\.Icon\.Default\.imagePath = "([^"]+)"', html).group(1)
    assert (vendor_file(image_path) / "marker-icon.png").is_file()


def test_streamlit_folium_gets_local_links_and_icon_path_before_markers():
    require_setup()
    import streamlit_folium

    m = make_map()
    m.get_root().render()
    links = st_folium_links(m)
    assert any(url.endswith("/leaflet.markercluster.js") for url in links)
    for url in links:
        assert vendor_file(url).is_file(), url
    assert HTTP_URL.findall(streamlit_folium._get_header(m)) == []
    script = streamlit_folium._get_map_string(m)
    assert script.count("L.Icon.Default.imagePath") == 1
    assert script.index("L.Icon.Default.imagePath") < script.index("L.marker(")


def test_use_local_assets_is_idempotent():
    use_local_assets()
    before = list(folium.Map.default_js), list(folium.Map.default_css)
    use_local_assets()
    assert (list(folium.Map.default_js), list(folium.Map.default_css)) == before
    m = make_map()
    m.get_root().render()
    assert m.get_root().render().count("L.Icon.Default.imagePath") == 1


def test_inline_assets_leaves_no_external_reference():
    require_setup()
    html = inline_assets(make_map().get_root().render())
    links = Attributes(html).links
    assert not [link for link in links if link[0] in ("script", "link")]
    for tag, name, value in links:
        assert value.startswith("data:"), f"<{tag} {name}={value[:80]}>"
    css_urls = re.findall(r"url\(\s*[\"']?([^\"')]+)", html)
    assert css_urls and all(u.startswith(("data:", "#")) for u in css_urls), \
        [u[:60] for u in css_urls if not u.startswith(("data:", "#"))]
    # Default marker images as data: URIs, set right after leaflet.js.
    assert 'L.Icon.Default.mergeOptions({"iconUrl": "data:image/png;base64,' in html
    assert not re.search(r'L\.Icon\.Default\.imagePath = "[^"]', html)
    assert html.count("Font Awesome 6 Free") >= 1 and "fa-solid-900.ttf" not in html


def test_inline_assets_refuses_an_unlocked_url():
    with pytest.raises(ValueError, match="not a locked offline asset"):
        inline_assets('<script src="https://example.invalid/plugin.js"></script>')


def test_every_cdn_url_folium_and_its_plugins_use_is_locked():
    """After upgrading folium, a new CDN URL shows up here: lock its package."""
    use_local_assets()
    cdn = [(cls.__module__ + "." + cls.__name__, url)
           for cls in assets._jscss_classes()
           for attr in ("default_js", "default_css") for _, url in cls.__dict__.get(attr) or []
           if url.startswith(("http://", "https://"))]
    used = {"folium.folium.Map", "folium.plugins.marker_cluster.MarkerCluster",
            "folium.plugins.fast_marker_cluster.FastMarkerCluster",
            "folium.plugins.fullscreen.Fullscreen", "folium.features.GeoJson",
            "folium.vector_layers.CircleMarker", "folium.map.Marker", "folium.map.Icon"}
    assert [c for c in cdn if c[0] in used] == []
