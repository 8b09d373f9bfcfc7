"""The outcome of a button's write, shown once on the run after the click.

A write runs in the button's callback, before the page is drawn again; what it says (done,
refused, why) is kept here under the name of the page section it belongs to and shown there,
once, by that section.
"""

from __future__ import annotations

import streamlit as st

_KEY = "_section_notice"


def post(slot: str, kind: str, message: str) -> None:
    """Keep ``message`` for section ``slot``; ``kind`` is success, info, warning or error."""
    st.session_state[_KEY] = (slot, kind, message)


def show(slot: str) -> None:
    """Show the kept message of section ``slot``, if any, and forget it."""
    notice = st.session_state.get(_KEY)
    if notice and notice[0] == slot:
        del st.session_state[_KEY]
        getattr(st, notice[1])(notice[2])
