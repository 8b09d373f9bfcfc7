"""Make folium's rendering of a map cheaper: no Jinja compile of rendered output, and data
embedded as UTF-8 rather than ``\\uXXXX`` escapes.

1. Stop branca from compiling already-rendered output as a Jinja template.

branca (folium's base) wraps each element's rendered header, HTML and script in a new
``Element(text)``, whose constructor compiles ``text`` as a Jinja template; a county map's
unit layer is a megabyte of JavaScript, and lexing it again costs most of a map's render time
on every Streamlit rerun. Text without any Jinja marker renders to itself, so for such text a
literal stands in for the compiled template. Text with a marker still goes through Jinja, so
nothing changes in what is produced. (Data never carries markers: ``dashboard.popups.text``
turns braces into character references, which is also what keeps names out of Jinja.)

2. Jinja's ``tojson`` (how folium puts a GeoJSON layer's data into the script) escapes every
non-ASCII character: a Chinese name costs six characters per character, and the unit rows
were a third larger than needed to send, and to parse in the browser. ``ensure_ascii=False``
keeps them as UTF-8; ``tojson`` still turns ``< > & '`` into ``\\u`` escapes, which is what
keeps data from closing a ``<script>`` (names are HTML-escaped before that, see
``dashboard.popups``).
"""

from __future__ import annotations

import types

import branca.element
import folium.template
import jinja2

_MARKERS = ("{{", "{%", "{#")


class _Literal:
    """A stand-in for a compiled template of text that has no Jinja markers."""

    module = types.SimpleNamespace()

    def __init__(self, text: str):
        # Jinja drops one trailing newline (keep_trailing_newline=False); so does this.
        self._text = text[:-1] if text.endswith("\n") else text

    def render(self, *args, **kwargs) -> str:
        return self._text


_original_init = branca.element.Element.__init__


def _init(self, template=None, template_name=None):
    literal = isinstance(template, str) and not any(marker in template for marker in _MARKERS)
    _original_init(self, None if literal else template, template_name)
    if literal:
        self._template_str = template
        self._template = _Literal(template)


def install() -> None:
    """Patch branca and set the JSON policy of folium's and the map's own templates (idempotent)."""
    if branca.element.Element.__init__ is not _init:
        branca.element.Element.__init__ = _init
    for environment in (folium.template.Template("").environment, jinja2.Template("").environment):
        environment.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
