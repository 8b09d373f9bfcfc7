"""Stop branca from compiling already-rendered output as a Jinja template.

branca (folium's base) wraps each element's rendered header, HTML and script in a new
``Element(text)``, whose constructor compiles ``text`` as a Jinja template; a county map's
unit layer is a megabyte of JavaScript, and lexing it again costs most of a map's render time
on every Streamlit rerun. Text without any Jinja marker renders to itself, so for such text a
literal stands in for the compiled template. Text with a marker still goes through Jinja, so
nothing changes in what is produced. (Data never carries markers: ``dashboard.popups.text``
turns braces into character references, which is also what keeps names out of Jinja.)
"""

from __future__ import annotations

import types

import branca.element

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
    """Patch branca once (idempotent)."""
    if branca.element.Element.__init__ is not _init:
        branca.element.Element.__init__ = _init
