"""UI pieces of the 账号管理 page: the account list, the create form, password resets,
disabling and deleting, and the audit log.

Accounts decide who sees which units and people, so every change is made by an explicit click
and lands in the audit log under the administrator's name (``who``). The writes run in the
buttons' callbacks with their arguments bound when the buttons are drawn; each leaves a notice
that is shown once, in the run the callback starts. Nothing here shows a password hash:
:func:`services.accounts.accounts` never returns one.

Account names, towns and grid names are typed by people, so they reach Markdown only through
:func:`dashboard.popups.markdown_text`; tables go to ``st.dataframe``.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from services import accounts
from services.access import ROLES, Viewer
from services.analysis import Analysis
from services.store import Store

from dashboard import auth
from dashboard.notices import post as _notice, show as show_notice  # noqa: F401
from dashboard.popups import markdown_text

ROLE_KEY = "account_role"
NAME_KEY = "account_name"
TOWNS_KEY = "account_towns"
GRIDS_KEY = "account_grids"
PASSWORD_KEY = "account_password"
REPEAT_KEY = "account_password_repeat"
PICK_KEY = "account_pick"
RESET_KEY = "account_reset_password"
RESET_REPEAT_KEY = "account_reset_password_repeat"
DELETE_CONFIRM_KEY = "account_delete_confirmed"
AUDIT_WHO_KEY = "audit_who"
AUDIT_ACTION_KEY = "audit_actions"
AUDIT_LIMIT = 5000

ROLE_HELP = {
    "admin": "全部功能，包括数据管理和账号管理",
    "county": "查看全县，不能修改",
    "town": "只看所辖乡镇街道，可修改其中的单位信息",
    "grid_leader": "只看所管网格，可修改其中的单位信息",
    "demo": "查看全县，单位名称、人名、电话、信用代码均已隐去，用于汇报演示",
}
AUDIT_COLUMNS = {"at": "时间", "who": "操作人", "action": "操作", "detail": "详情"}



# --- what the county has ---------------------------------------------------------------


def town_names(analysis: Analysis) -> list[str]:
    """The county's towns, for a 乡镇街道 account (from the towns layer, else the grids')."""
    county = analysis.county
    if county.towns is not None and len(county.towns):
        names = county.towns["name"]
    else:
        names = county.grids["town"]
    return sorted({str(n) for n in names.dropna() if str(n).strip()})


def grid_labels(analysis: Analysis) -> dict[str, str]:
    """Grid id → "名称（id）", in the layer's order, for a 网格长 account."""
    grids = analysis.county.grids
    return {str(g): (f"{n}（{g}）" if isinstance(n, str) and n.strip() else str(g))
            for g, n in zip(grids["id"], grids["name"])}


# --- the list ----------------------------------------------------------------------------


def status(row, now: float) -> str:
    """正常, 已停用 or 锁定中 (too many wrong passwords; the lock ends by itself or on a reset)."""
    if row["disabled"]:
        return "已停用"
    locked = row["locked_until"]
    if locked is not None and locked == locked and locked > now:
        return "锁定中"
    return "正常"


def scope_text(role: str, towns: str | None, grids: str | None, labels: dict[str, str]) -> str:
    """What the account sees: 全县, its towns, or its grids by name."""
    if role == "town":
        return "、".join(t for t in (towns or "").split(",") if t) or "—"
    if role == "grid_leader":
        return "、".join(labels.get(g, g) for g in (grids or "").split(",") if g) or "—"
    return "全县（已隐去个人信息）" if role == "demo" else "全县"


def account_table(frame: pd.DataFrame, labels: dict[str, str], now: float | None = None) -> pd.DataFrame:
    """The accounts as the administrator reads them (no hash is ever in ``frame``)."""
    now = time.time() if now is None else now
    return pd.DataFrame({
        "账号": frame["name"],
        "角色": frame["role"].map(ROLES),
        "所辖范围": [scope_text(r, t, g, labels) for r, t, g in zip(frame["role"], frame["towns"], frame["grids"])],
        "创建时间": frame["created_at"],
        "创建人": frame["created_by"],
        "状态": [status(row, now) for _, row in frame.iterrows()],
    })




# --- creating ------------------------------------------------------------------------------


def create_form(store: Store, viewer: Viewer, towns: list[str], grids: dict[str, str], *, first: bool) -> None:
    """The role choice (outside the form, so the scope fields follow it at once) and the form.

    The first account must be an administrator: it is the one who then creates the others,
    and the moment it exists every page asks for sign-in.
    """
    show_notice("create")
    if first:
        st.session_state[ROLE_KEY] = "admin"
    role = st.selectbox("角色", list(ROLES), format_func=ROLES.get, key=ROLE_KEY, disabled=first,
                        help="第一个账号必须是管理员" if first else None)
    st.caption(ROLE_HELP[role])
    with st.form("create_account"):
        st.text_input("账号名", key=NAME_KEY, max_chars=40, placeholder="例如：张三 或 qh-admin")
        if role == "town":
            st.multiselect("所辖乡镇街道", towns, key=TOWNS_KEY, placeholder="请选择")
        elif role == "grid_leader":
            st.multiselect("所管网格", list(grids), format_func=lambda g: grids.get(g, g), key=GRIDS_KEY,
                           placeholder="按名称或编号查找")
        columns = st.columns(2)
        columns[0].text_input("密码", type="password", key=PASSWORD_KEY,
                              help=f"至少{accounts.MIN_PASSWORD_LENGTH}位")
        columns[1].text_input("再次输入密码", type="password", key=REPEAT_KEY)
        st.form_submit_button("创建账号", type="primary", icon=":material/person_add:",
                              on_click=_create, args=(store, viewer.name, first))


def _create(store: Store, who: str, first: bool) -> None:
    """The create button's callback. After the first account the open session ends: the rest
    of this very run passes the sign-in gate, which now finds an account and shows 登录."""
    state = st.session_state
    role = "admin" if first else state.get(ROLE_KEY)
    password = state.get(PASSWORD_KEY) or ""
    if password != (state.get(REPEAT_KEY) or ""):
        _notice("create", "error", "两次输入的密码不一致，账号未创建。")
        return
    try:
        created = accounts.add_account(
            store, state.get(NAME_KEY) or "", role, password,
            towns=(state.get(TOWNS_KEY) or ()) if role == "town" else (),
            grids=(state.get(GRIDS_KEY) or ()) if role == "grid_leader" else (), who=who)
    except accounts.AccountError as error:
        _notice("create", "error", f"账号未创建：{markdown_text(str(error))}")
        return
    for key in (NAME_KEY, TOWNS_KEY, GRIDS_KEY, PASSWORD_KEY, REPEAT_KEY):
        state.pop(key, None)
    if first:
        auth.sign_out(notice=f"已创建管理员账号“{created.name}”，此后所有页面都需要登录。请用该账号登录。")
        return
    _notice("create", "success", f"已创建账号“{markdown_text(created.name)}”（{created.role_label}）。")


# --- changing ------------------------------------------------------------------------------


def manage_section(store: Store, viewer: Viewer, frame: pd.DataFrame) -> None:
    """Reset a password, disable or enable, delete — for one chosen account (never yourself
    for the last two: the administrator must not lock themselves out)."""
    show_notice("manage")
    names = frame["name"].tolist()
    if st.session_state.get(PICK_KEY) not in names:
        st.session_state[PICK_KEY] = None
    name = st.selectbox("选择账号", names, index=None, key=PICK_KEY, placeholder="请选择要修改的账号")
    if name is None:
        return
    row = frame[frame["name"] == name].iloc[0]
    yourself = name == viewer.name
    left, middle, right = st.columns(3)
    with left:
        st.markdown("###### 重设密码")
        with st.form("reset_password"):
            st.text_input("新密码", type="password", key=RESET_KEY, help=f"至少{accounts.MIN_PASSWORD_LENGTH}位")
            st.text_input("再次输入新密码", type="password", key=RESET_REPEAT_KEY)
            st.form_submit_button("重设密码", on_click=_reset, args=(store, name, viewer.name),
                                  icon=":material/key:")
        st.caption("重设密码同时解除因密码错误造成的锁定。")
    with middle:
        st.markdown("###### 停用或启用")
        disabled = bool(row["disabled"])
        st.button("启用账号" if disabled else "停用账号", key="account_toggle", disabled=yourself,
                  icon=":material/check_circle:" if disabled else ":material/block:",
                  on_click=_set_disabled, args=(store, name, not disabled, viewer.name),
                  help="不能停用自己的账号" if yourself else "停用后该账号无法登录，可随时启用")
    with right:
        st.markdown("###### 删除")
        confirmed = st.checkbox("确认删除该账号", key=DELETE_CONFIRM_KEY, disabled=yourself)
        st.button("删除账号", key="account_delete", type="primary", icon=":material/delete:",
                  disabled=yourself or not confirmed, on_click=_remove, args=(store, name, viewer.name),
                  help="不能删除自己的账号" if yourself else "删除后审计日志中的记录仍保留")


def _reset(store: Store, name: str, who: str) -> None:
    state = st.session_state
    password = state.get(RESET_KEY) or ""
    if password != (state.get(RESET_REPEAT_KEY) or ""):
        _notice("manage", "error", "两次输入的密码不一致，密码未修改。")
        return
    try:
        accounts.set_password(store, name, password, who)
    except accounts.AccountError as error:
        _notice("manage", "error", f"密码未修改：{markdown_text(str(error))}")
        return
    state.pop(RESET_KEY, None)
    state.pop(RESET_REPEAT_KEY, None)
    _notice("manage", "success", f"已重设“{markdown_text(name)}”的密码。")


def _set_disabled(store: Store, name: str, disabled: bool, who: str) -> None:
    try:
        accounts.set_disabled(store, name, disabled, who)
    except accounts.AccountError as error:
        _notice("manage", "error", markdown_text(str(error)))
        return
    _notice("manage", "success", f"已{'停用' if disabled else '启用'}账号“{markdown_text(name)}”。")


def _remove(store: Store, name: str, who: str) -> None:
    try:
        accounts.remove_account(store, name, who)
    except accounts.AccountError as error:
        _notice("manage", "error", markdown_text(str(error)))
        return
    st.session_state.pop(PICK_KEY, None)
    st.session_state.pop(DELETE_CONFIRM_KEY, None)
    _notice("manage", "success", f"已删除账号“{markdown_text(name)}”。")


# --- the audit log -------------------------------------------------------------------------


def audit_table(log: pd.DataFrame) -> pd.DataFrame:
    """The audit log under Chinese headers, newest first."""
    return log[list(AUDIT_COLUMNS)].rename(columns=AUDIT_COLUMNS)


def filter_audit(table: pd.DataFrame, who: list[str], actions: list[str]) -> pd.DataFrame:
    """Entries by any of ``who`` and of any of ``actions`` (an empty choice keeps all)."""
    keep = pd.Series(True, index=table.index)
    if who:
        keep &= table["操作人"].isin(who)
    if actions:
        keep &= table["操作"].isin(actions)
    return table[keep]
