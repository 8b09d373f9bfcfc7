"""The map's JavaScript, CSS, images and fonts come from the app itself, never from a CDN.

Why: folium points Leaflet, jQuery, Bootstrap, awesome-markers, Font Awesome and its plugins
(MarkerCluster, Fullscreen…) at public CDNs. County intranets have no internet and public
CDNs are often unreachable in China, so with those URLs nothing draws at all. scripts/setup
runs scripts/fetch_assets, which fetches the exact files from npm, pinned by version and
sha512 in dashboard/assets.lock.json, into static/vendor/ (git-ignored); Streamlit serves
static/ (next to streamlit_app.py) at ``app/static/`` because .streamlit/config.toml sets
``server.enableStaticServing``.

How the URLs work inside streamlit-folium (0.27.4): ``st_folium`` drops the <script src>
and <link> tags from folium's header and instead sends the component the ``default_js`` /
``default_css`` URLs of every element of the map; its frontend adds them as <script>/<link>
elements to the component's iframe, whose page is ``<base>/component/<name>/index.html`` on
the Streamlit server. A URL relative to that page, ``../../app/static/vendor/…``, therefore
reaches the app's static route on whatever host, port and ``server.baseUrlPath`` the app is
served from (behind a reverse proxy too), where an absolute ``/app/static/…`` would break
under a base path. Streamlit 1.67 serves static files with the Content-Type Python's
``mimetypes`` gives their extension (application/javascript, text/css, font/woff2…) plus
``X-Content-Type-Options: nosniff``; browsers accept that for scripts and stylesheets as long
as the type is right, so ``use_local_assets`` registers the types of what we serve (a Windows
registry can map .js to text/plain, which nosniff would block).

Inside that iframe the header's inline <script>s never run (the frontend adds the header with
innerHTML) and the CSS may not be loaded yet when the map script runs, so Leaflet cannot find
its default marker images by itself: every folium.Map therefore gets, as its first child, a
script setting ``L.Icon.Default.imagePath`` to the local leaflet images folder.

- ``use_local_assets()``: call once before drawing maps (idempotent).
- ``missing_assets()``: the locked files absent from static/vendor/; when not empty, show
  ``MISSING_MESSAGE`` instead of a blank map.
- ``inline_assets(html)``: a standalone folium page (``m.get_root().render()``) with every
  asset inlined, so a saved map opens offline by double-click.

Not covered: branca colour-map legends added to a map (streamlit-folium hard-codes d3 from
CDNs for them): draw legends with Streamlit or plain HTML instead. Maps without tiles need
``max_zoom`` (MarkerCluster refuses a map with no maximum zoom).
"""

from __future__ import annotations

import base64
import json
import re
from functools import lru_cache
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parents[1]
LOCK_PATH = Path(__file__).with_name("assets.lock.json")
VENDOR_DIR = REPO / "static" / "vendor"

#: Where static/vendor/ is, seen from the streamlit-folium iframe (see the module docstring).
URL_PREFIX = "../../app/static/vendor/"
#: What every local asset URL contains, whatever its prefix.
_VENDOR_MARK = "app/static/vendor/"

MISSING_MESSAGE = "离线地图资源未安装，请运行 scripts/setup"

_MIME = {
    ".png": "image/png", ".gif": "image/gif", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml", ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf",
    ".otf": "font/otf", ".eot": "application/vnd.ms-fontobject", ".css": "text/css",
    ".js": "text/javascript",
}


@lru_cache(maxsize=1)
def _lock() -> dict:
    return json.loads(LOCK_PATH.read_text(encoding="utf-8"))


def _package_dir(package: dict) -> str:
    return f"{package['name']}@{package['version']}"


def locked_files() -> list[str]:
    """Every file the lock puts under static/vendor/, as paths relative to it."""
    lock = _lock()
    files = [f"{_package_dir(p)}/{f}" for p in lock["packages"] for f in p["files"]]
    return files + [g["path"] for g in lock.get("generated", [])]


def missing_assets() -> list[str]:
    """The locked files absent from static/vendor/ (empty once scripts/setup has run)."""
    return [rel for rel in locked_files() if not (VENDOR_DIR / rel).is_file()]


@lru_cache(maxsize=1)
def _replacements() -> dict[str, str]:
    """End of a CDN URL -> the vendor-relative path of the file standing in for it."""
    lock = _lock()
    table = {suffix: f"{_package_dir(p)}/{path}"
             for p in lock["packages"] for suffix, path in p.get("replaces", {}).items()}
    table.update({g["replaces"]: g["path"] for g in lock.get("generated", [])})
    return table


def _leaflet_images() -> str:
    leaflet = next(p for p in _lock()["packages"] if p["name"] == "leaflet")
    return f"{_package_dir(leaflet)}/dist/images/"


def _vendor_relative(url: str) -> str | None:
    """The vendor-relative path a URL stands for: a local URL, or a locked CDN URL."""
    if _VENDOR_MARK in url:
        return url.split(_VENDOR_MARK, 1)[1].split("?", 1)[0].split("#", 1)[0]
    for suffix, rel in _replacements().items():
        if url == suffix or url.endswith("/" + suffix):
            return rel
    return None


# ---------------------------------------------------------------------------------------------
# use_local_assets

_state = {"prefix": URL_PREFIX}
_ICON_CHILD = "local_icon_path"


def _localize(url: str, prefix: str) -> str:
    if url.startswith(prefix) and _VENDOR_MARK in url:
        return url
    rel = _vendor_relative(url)
    return url if rel is None else prefix + rel


def _jscss_classes() -> list[type]:
    import folium.plugins  # noqa: F401  (defines the plugin classes walked below)
    from folium.elements import JSCSSMixin

    seen: list[type] = []
    todo = [JSCSSMixin]
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.append(cls)
            todo.extend(cls.__subclasses__())
    return seen


def _icon_path_element_class() -> type:
    from branca.element import MacroElement
    from jinja2 import Template

    class LocalIconPath(MacroElement):
        """Points Leaflet's default marker images at the local copy (must run first)."""

        _template = Template(
            "{% macro script(this, kwargs) %}\n"
            "    L.Icon.Default.imagePath = {{ this.image_path|tojson }};\n"
            "{% endmacro %}"
        )

        def __init__(self):
            super().__init__()
            self._name = "LocalIconPath"

        @property
        def image_path(self) -> str:
            return _state["prefix"] + _leaflet_images()

    return LocalIconPath


def use_local_assets(url_prefix: str = URL_PREFIX) -> None:
    """Point folium's and every plugin's default_js/default_css at static/vendor/ (through
    ``url_prefix``) and make every folium.Map set ``L.Icon.Default.imagePath`` to the local
    leaflet images. Safe to call on every Streamlit rerun.

    ``url_prefix`` must end with ``app/static/vendor/`` (Streamlit's static route); the default
    is right for st_folium's iframe, an absolute one (``/app/static/vendor/``) for pages that
    are not inside a component iframe."""
    import mimetypes

    import folium

    # Streamlit names a static file's Content-Type from Python's mimetypes, which on some
    # systems (Windows registry entries) says text/plain for .js: with Streamlit's nosniff
    # header the browser would then refuse to run the script. Set the types we serve.
    for mime, ext in (("text/javascript", ".js"), ("text/css", ".css"), ("font/woff2", ".woff2"),
                      ("font/woff", ".woff"), ("image/svg+xml", ".svg")):
        mimetypes.add_type(mime, ext)

    if not url_prefix.endswith(_VENDOR_MARK):
        raise ValueError(f"url_prefix must end with {_VENDOR_MARK!r}: {url_prefix!r}")
    for cls in _jscss_classes():
        for attr in ("default_js", "default_css"):
            links = cls.__dict__.get(attr)
            if not links:
                continue
            new = [(name, _localize(url, url_prefix)) for name, url in links]
            if isinstance(links, list):
                links[:] = new  # in place: folium shares these lists between classes
            else:
                setattr(cls, attr, new)
    _state["prefix"] = url_prefix

    if getattr(folium.Map.render, "_local_icon_path", False):
        return
    original_render = folium.Map.render
    element_class = _icon_path_element_class()

    def render(self, **kwargs):
        if _ICON_CHILD not in self._children:
            self.add_child(element_class(), name=_ICON_CHILD)
            # First child: markers read the path when they are added to the map.
            self._children.move_to_end(_ICON_CHILD, last=False)
        return original_render(self, **kwargs)

    render._local_icon_path = True
    folium.Map.render = render


# ---------------------------------------------------------------------------------------------
# inline_assets

# A <script src=…></script> (group 1: the URL) or a <link … href=…> (group 2), in one pass so
# that nothing inside an already inlined script is taken for a tag.
_ASSET_TAG = re.compile(
    r"""<script\b[^>]*?\bsrc\s*=\s*["']([^"']+)["'][^>]*>\s*</script\s*>"""
    r"""|<link\b[^>]*?\bhref\s*=\s*["']([^"']+)["'][^>]*>""", re.I)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""")
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.I)
_WOFF2 = re.compile(r"""url\([^)]*\)\s*format\(\s*["']woff2["']\s*\)""", re.I)
_SOURCE_MAP = re.compile(r"(?://[#@]\s*sourceMappingURL=[^\s*]*|/\*[#@]\s*sourceMappingURL=[^*]*\*/)")
_IMAGE_PATH = re.compile(r"""L\.Icon\.Default\.imagePath\s*=\s*(["'])[^"']*\1""")


def _vendor_file(url: str) -> Path:
    rel = _vendor_relative(url)
    if rel is None:
        raise ValueError(f"not a locked offline asset, cannot inline: {url}")
    path = (VENDOR_DIR / PurePosixPath(rel)).resolve()
    if not path.is_relative_to(VENDOR_DIR.resolve()):
        raise ValueError(f"asset outside static/vendor: {url}")
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {MISSING_MESSAGE}")
    return path


def _data_uri(path: Path) -> str:
    mime = _MIME.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _woff2_only(css: str) -> str:
    """In each @font-face that offers woff2, keep only it (every current browser reads it),
    and drop a later @font-face of a font file already declared (Font Awesome 6 declares
    each font again for its version 4 and 5 family names, which folium's icons do not use):
    a standalone map then carries each font once, not six times."""
    seen: set[str] = set()

    def block(match: re.Match) -> str:
        text = match.group(0)
        woff2 = _WOFF2.search(text)
        if not woff2:
            return text
        if woff2.group(0) in seen:
            return ""
        seen.add(woff2.group(0))
        text = re.sub(r"src\s*:[^;}]*;?", "", text)
        return text.replace("{", "{src:" + woff2.group(0) + ";", 1)
    return _FONT_FACE.sub(block, css)


def _inline_css(path: Path) -> str:
    css = _woff2_only(path.read_text(encoding="utf-8"))

    def replace(match: re.Match) -> str:
        ref = next(g for g in match.groups() if g is not None)
        if not ref or ref.startswith(("data:", "#")):
            return match.group(0)
        target = (path.parent / ref.split("?", 1)[0].split("#", 1)[0]).resolve()
        if not target.is_relative_to(VENDOR_DIR.resolve()) or not target.is_file():
            raise FileNotFoundError(f"{path.name} refers to {ref}, which is not in static/vendor")
        return f'url("{_data_uri(target)}")'

    css = _SOURCE_MAP.sub("", _CSS_URL.sub(replace, css))
    return css.replace("</style", "<\\/style")


def _default_icon_script() -> str:
    images = VENDOR_DIR / _leaflet_images()
    options = {"iconUrl": _data_uri(images / "marker-icon.png"),
               "iconRetinaUrl": _data_uri(images / "marker-icon-2x.png"),
               "shadowUrl": _data_uri(images / "marker-shadow.png")}
    return ("<script>L.Icon.Default.imagePath = \"\";"
            f"L.Icon.Default.mergeOptions({json.dumps(options)});</script>")


def inline_assets(html: str) -> str:
    """A standalone folium page with every locked JS/CSS inlined (CSS url()s as data: URIs),
    so it opens offline from a file. Raises ValueError on an asset that is not locked."""
    leaflet_js = (VENDOR_DIR / _leaflet_images()).parent / "leaflet.js"

    def inline(match: re.Match) -> str:
        src, href = match.groups()
        if href is not None:
            if not re.search(r"""\brel\s*=\s*["']?stylesheet""", match.group(0), re.I):
                return match.group(0)
            return f"<style>{_inline_css(_vendor_file(href))}</style>"
        path = _vendor_file(src)
        js = _SOURCE_MAP.sub("", path.read_text(encoding="utf-8"))
        js = re.sub(r"</script", r"<\\/script", js, flags=re.I)
        tag = f"<script>{js}</script>"
        if path == leaflet_js.resolve():
            tag += _default_icon_script()
        return tag

    html = _ASSET_TAG.sub(inline, html)
    # The default marker images are data: URIs now, no folder to point at.
    return _IMAGE_PATH.sub('L.Icon.Default.imagePath = ""', html)
