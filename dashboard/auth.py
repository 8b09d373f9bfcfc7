"""The sign-in gate: who is looking, before any page runs.

With no account in the store yet (a fresh start on the fictional demo county) the app opens
without sign-in, as an administrator, with a banner saying so — the README's run command just
works. The moment the first account exists, every page requires sign-in. A session that has
been idle longer than ``SESSION_TIMEOUT_MIN`` minutes (default 30) is signed out.
"""

from __future__ import annotations

import os
import time

import streamlit as st

from services import accounts
from services.access import OPEN_VIEWER, Viewer

from dashboard import state
from dashboard.popups import markdown_text

LAST_SEEN_KEY = "last_seen"
NOTICE_KEY = "sign_in_notice"


def session_timeout_s() -> float:
    return float(os.environ.get("SESSION_TIMEOUT_MIN", "30")) * 60


def gate() -> Viewer | None:
    """The session's viewer, or None when the user must sign in first."""
    store = state.store()
    if not accounts.has_accounts(store):
        st.session_state[state.VIEWER_KEY] = OPEN_VIEWER
        return OPEN_VIEWER
    viewer = st.session_state.get(state.VIEWER_KEY)
    if viewer is None or viewer == OPEN_VIEWER:
        st.session_state.pop(state.VIEWER_KEY, None)
        return None
    now = time.time()
    if now - st.session_state.get(LAST_SEEN_KEY, 0.0) > session_timeout_s():
        accounts.audit(store, viewer.name, "会话超时", "长时间未操作，自动退出")
        sign_out(notice="长时间未操作，已自动退出，请重新登录。")
        return None
    current = accounts.current_viewer(store, viewer.name)  # disabled, deleted or re-scoped since?
    if current is None:
        sign_out(notice="该账号已停用或删除，请联系管理员。")
        return None
    st.session_state[LAST_SEEN_KEY] = now
    st.session_state[state.VIEWER_KEY] = current
    return current


def sign_out(notice: str | None = None) -> None:
    st.session_state.pop(state.VIEWER_KEY, None)
    st.session_state.pop(LAST_SEEN_KEY, None)
    if notice:
        st.session_state[NOTICE_KEY] = notice


def sign_in_page() -> None:
    """The only page a signed-out visitor can reach."""
    st.title("网格党建覆盖一张图")
    st.subheader("登录")
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice)
    with st.form("sign_in"):
        name = st.text_input("账号", key="sign_in_name")
        password = st.text_input("密码", type="password", key="sign_in_password")
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        try:
            viewer = accounts.sign_in(state.store(), name, password)
        except accounts.SignInError as error:
            st.error(str(error))
            return
        st.session_state[state.VIEWER_KEY] = viewer
        st.session_state[LAST_SEEN_KEY] = time.time()
        st.rerun()


def session_panel(viewer: Viewer) -> None:
    """Sidebar: who is signed in and a sign-out button; or, with no account yet, the banner."""
    if viewer == OPEN_VIEWER:
        st.warning("尚未创建任何账号，当前无需登录即可使用全部功能。创建第一个管理员账号（“账号管理”页或命令 "
                   "`python -m services users add 名称 --role admin --password-stdin`）后，所有页面都需要登录。",
                   icon=":material/lock_open:")
        return
    scope = "、".join(viewer.grids or viewer.towns) or "全县"
    st.sidebar.markdown(f"**{markdown_text(viewer.name)}**（{viewer.role_label}，{markdown_text(scope)}）")
    if st.sidebar.button("退出登录", key="sign_out", icon=":material/logout:"):
        accounts.audit(state.store(), viewer.name, "退出登录")
        sign_out(notice="已退出登录。")
        st.rerun()
