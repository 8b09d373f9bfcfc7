"""修改单位信息: the grid leader corrects a unit of the grid, and sees who changed what.

The grid leader knows the units best, so they correct the ledger where it is wrong (members,
org, instructor, mass orgs, reason) instead of waiting for the next ledger import. Three things
matter here:

- **Only what the user changed is sent.** Each widget starts at the stored value; a field is
  sent only when its widget no longer shows that value, so a value the widget cannot show
  exactly (an old spelling such as "存续") is never rewritten by merely saving the form.
- **Nobody overwrites anybody.** The form remembers the version of the unit it was filled
  from and sends it with the edit; if someone saved the unit meanwhile the store refuses, the
  user sees what the other person changed, and the form reloads the latest values.
- **Only those allowed, only their units.** The save goes through
  :func:`services.access.edit_unit`, which checks the viewer's role and that the unit lies in
  their grid or towns on the whole county's analysis (not on what the page happened to list),
  and records the viewer's name; read-only roles do not get the form at all.
- **Every page is current at once.** The save runs in the button's callback, before the page
  is drawn again, and the analysis is keyed on the store's version, so the KPI cards, the
  units table and every other page show the new figures in the very next run.

Stored values are text cells as staff typed them; a value the widget cannot represent (a count
written as "约10", a date written as "2021年春") is offered as free text rather than lost.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import streamlit as st

from services.access import AccessDenied, edit_unit
from services.ledger import BUSINESS_STATUSES, CHINESE_HEADER, COUNT_COLUMNS, MASS_ORGS, ORG_TYPES, REASONS_NO_ORG
from services.store import EDITABLE_FIELDS, ConflictError, EditRejected, StoreError

from dashboard import state
from dashboard.popups import markdown_text

COUNT_FIELDS = ("employees", *COUNT_COLUMNS)
SELECT_CHOICES = {"business_status": BUSINESS_STATUSES, "org_type": ORG_TYPES, "reason_no_org": REASONS_NO_ORG}
HISTORY_COLUMNS = {"changed_at": "时间", "who": "修改人", "action": "操作", "field": "字段", "old": "原值", "new": "新值"}
CHANGE_COLUMNS = {"changed_at": "时间", "who": "修改人", "field": "字段", "old": "原值", "new": "新值"}
EARLIEST_ELECTION = dt.date(1949, 10, 1)

_PICK_KEY = "unit_edit_choice"
_PARAM_APPLIED = "unit_param_applied"
_LOADED = "unit_edit_loaded"  # {credit code: the stored record the form was filled from}
_NOTICE = "unit_edit_notice"
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_MASS_SPLIT = re.compile(r"[,，、;；/\s]+")


# --- the form's values (plain functions: the callback recomputes exactly what was drawn) ----


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""


def initial_values(record: dict) -> dict:
    """What each widget starts at for a stored unit: an int (or None) for a count, a date (or
    None) for the election, a list for mass orgs, text otherwise ("" for blank). A count or
    date the widget cannot show stays its stored text (drawn as a text input)."""
    values = {}
    for field in EDITABLE_FIELDS:
        raw = record.get(field)
        text = "" if _blank(raw) else str(raw).strip()
        if field in COUNT_FIELDS:
            values[field] = None if text == "" else int(text) if re.fullmatch(r"-?\d+", text) else text
        elif field == "org_elected":
            values[field] = None if text == "" else _date(text) or text
        elif field == "mass_orgs":
            values[field] = [part for part in _MASS_SPLIT.split(text) if part]
        else:
            values[field] = text
    return values


def _date(text: str) -> dt.date | None:
    """A stored election date the date picker can show (in its range), else None."""
    match = _DATE.match(text)
    if not match:
        return None
    try:
        day = dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None
    return day if EARLIEST_ELECTION <= day <= _latest_election() else None


def _latest_election() -> dt.date:
    """The picker's last day: a year ahead, for an election already scheduled."""
    return dt.date.today() + dt.timedelta(days=366)


def cell_text(field: str, value) -> str | None:
    """A widget's value as the store's text cell ("3", "2024-05-01", "工会,共青团"; blank → None)."""
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        ordered = [m for m in MASS_ORGS if m in value] + [m for m in value if m not in MASS_ORGS]
        return ",".join(ordered) or None
    text = str(value).strip()
    return text or None


def changed_fields(record: dict, submitted: dict) -> dict[str, str | None]:
    """The fields whose widget no longer shows the stored value, as cells to send."""
    start = initial_values(record)
    return {field: cell_text(field, submitted[field]) for field in EDITABLE_FIELDS
            if field in submitted and _comparable(submitted[field]) != _comparable(start[field])}


def _comparable(value):
    if isinstance(value, (list, tuple)):
        return sorted(value)
    if isinstance(value, str):
        return value.strip() or None
    return value


def _options(field: str, current: str, extra=()) -> list[str]:
    """Blank, the listed values, and the stored value when it is not one of them (kept, so
    saving the form never changes it behind the user's back)."""
    listed = list(dict.fromkeys([*SELECT_CHOICES.get(field, ()), *extra]))
    return ["", *listed, *([current] if current and current not in listed else [])]


def _show_blank(value: str) -> str:
    return value or "（空）"


def _cell(value) -> str:
    return "（空）" if _blank(value) else str(value)


# --- the section on the 网格 page ---------------------------------------------------------


def edit_section(units: pd.DataFrame, instructors: pd.DataFrame | None = None) -> None:
    """修改单位信息 and 修改记录 for the units of one grid (``units`` from the analysis); for a
    role that may not edit, one line saying so instead."""
    viewer = state.viewer()
    if not viewer.may_edit_units:
        st.caption(f"当前为{viewer.role_label}账号，只能查看，不能修改单位信息。")
        return
    st.subheader("修改单位信息")
    names = dict(zip(units["credit_code"], units["name"]))
    wanted = st.query_params.get("unit")
    if wanted != st.session_state.get(_PARAM_APPLIED):
        st.session_state[_PARAM_APPLIED] = wanted
        if wanted in names:
            st.session_state[_PICK_KEY] = wanted
    if st.session_state.get(_PICK_KEY) not in names:
        st.session_state[_PICK_KEY] = None
    code = st.selectbox("选择要修改的单位", list(names), index=None, key=_PICK_KEY,
                        format_func=lambda c: f"{names[c]}（{c}）", placeholder="按名称或统一社会信用代码查找")
    _show_notice()  # even when the saved unit left the grid's list (e.g. set to 注销)
    if code is None:
        st.caption("选择本网格的一个单位后，可修改党员人数、党组织、党建指导员、群团组织等信息。")
        return
    record = _loaded(code)
    if record is None:
        st.warning("该单位已不在数据库中（可能已被删除），请刷新页面。")
        return
    _form(code, record, _instructor_names(instructors))
    st.subheader("修改记录")
    _history(code)


def _loaded(code: str) -> dict | None:
    """The record the form shows: read when the unit is picked, kept until a save or a
    conflict reloads it (its version is the one the edit is checked against)."""
    loaded = st.session_state.get(_LOADED) or {}
    if code not in loaded:
        record = state.store().unit(code)
        if record is None:
            return None
        st.session_state[_LOADED] = loaded = {code: record}
    return loaded[code]


def _reload(code: str) -> None:
    record = state.store().unit(code)
    st.session_state[_LOADED] = {code: record} if record is not None else {}


def _instructor_names(instructors: pd.DataFrame | None) -> list[str]:
    if instructors is None or "name" not in instructors:
        return []
    return list(dict.fromkeys(n.strip() for n in instructors["name"].dropna().astype(str) if n.strip()))


def _key(code: str, record: dict, field: str) -> str:
    # The version is part of the key, so a reload after a save or a conflict redraws every
    # widget at the newly loaded value (a keyed widget otherwise keeps what it showed).
    return f"unit_edit_{code}_v{record['version']}_{field}"


def _form(code: str, record: dict, instructors: list[str]) -> None:
    start = initial_values(record)
    st.caption(f"当前为第{record['version']}版 · 最后修改：{markdown_text(record.get('updated_at')) or '—'}　"
               f"{markdown_text(record.get('updated_by'))}")

    def key(field):
        return _key(code, record, field)

    def label(field):
        return CHINESE_HEADER[field]

    with st.form(key=f"unit_edit_form_{code}_v{record['version']}"):
        counts = st.columns(len(COUNT_FIELDS))
        for column, field in zip(counts, COUNT_FIELDS):
            if isinstance(start[field], str):  # a stored count that is not a whole number
                column.text_input(label(field), value=start[field], key=key(field), help="原值不是整数，请改为人数")
            else:
                column.number_input(label(field), value=start[field], step=1, key=key(field))
        org = st.columns([1, 2, 1, 1])
        _select(org[0], "business_status", start, key)
        org[1].text_input(label("org_name"), value=start["org_name"], key=key("org_name"),
                          placeholder="未建党组织则留空")
        _select(org[2], "org_type", start, key)
        if isinstance(start["org_elected"], str):
            org[3].text_input(label("org_elected"), value=start["org_elected"], key=key("org_elected"),
                              help="原值无法识别为日期，请按 YYYY-MM-DD 填写")
        else:
            org[3].date_input(label("org_elected"), value=start["org_elected"], min_value=EARLIEST_ELECTION,
                              max_value=_latest_election(), format="YYYY-MM-DD", key=key("org_elected"))
        work = st.columns([1, 1, 2])
        people = list(dict.fromkeys([*instructors, *([start["instructor"]] if start["instructor"] else [])]))
        work[0].selectbox(label("instructor"), people,
                          index=people.index(start["instructor"]) if start["instructor"] else None,
                          accept_new_options=True, placeholder="选择或输入姓名", key=key("instructor"))
        work[1].multiselect(label("mass_orgs"), list(dict.fromkeys([*MASS_ORGS, *start["mass_orgs"]])),
                            default=start["mass_orgs"], key=key("mass_orgs"), placeholder="无")
        _select(work[2], "reason_no_org", start, key, help="已建党组织的单位留空")
        st.form_submit_button("保存修改", type="primary", on_click=_save, args=(code,))


def _select(column, field: str, start: dict, key, help: str | None = None) -> None:
    options = _options(field, start[field])
    column.selectbox(CHINESE_HEADER[field], options, index=options.index(start[field]), format_func=_show_blank,
                     key=key(field), help=help)


def _save(code: str) -> None:
    """The submit button's callback: send the changed fields with the remembered version, and
    leave a notice for the page drawn next."""
    record = (st.session_state.get(_LOADED) or {}).get(code)
    if record is None:  # the session lost the form (e.g. a restart): nothing to compare with
        return
    keys = {field: _key(code, record, field) for field in EDITABLE_FIELDS}
    submitted = {field: st.session_state[key] for field, key in keys.items() if key in st.session_state}
    changes = changed_fields(record, submitted)
    if not changes:
        st.session_state[_NOTICE] = {"kind": "info", "lines": ["没有需要保存的修改。"]}
        return
    viewer = state.viewer()
    who = viewer.name
    try:
        result = edit_unit(state.store(), state.full_analysis(), viewer, code, changes,
                           expected_version=int(record["version"]))
    except AccessDenied as error:
        st.session_state[_NOTICE] = {"kind": "error", "lines": [markdown_text(str(error))]}
        return
    except EditRejected as error:
        st.session_state[_NOTICE] = {"kind": "error", "lines": [
            "修改未保存，以下内容不符合台账规则：",
            *(markdown_text(p.reason) for p in error.problems)]}
        return
    except ConflictError as error:
        _reload(code)
        changed = None
        if len(error.changes):
            changed = error.changes.rename(columns=CHANGE_COLUMNS)[list(CHANGE_COLUMNS.values())].astype(object)
            changed = changed.where(changed.notna(), "")
        st.session_state[_NOTICE] = {"kind": "conflict", "lines": [
            markdown_text(str(error)), "表单已载入最新内容。"], "table": changed}
        return
    except StoreError as error:
        st.session_state[_NOTICE] = {"kind": "error", "lines": [markdown_text(str(error))]}
        return
    _reload(code)
    if not result.changes:
        st.session_state[_NOTICE] = {"kind": "info", "lines": ["没有需要保存的修改。"]}
        return
    lines = [f"已保存（第{result.version}版），修改人：{markdown_text(who)}"]
    lines += [f"{CHINESE_HEADER[field]}：{markdown_text(_cell(old))} → {markdown_text(_cell(new))}"
              for field, (old, new) in result.changes.items()]
    warnings = [markdown_text(p.reason) for p in result.warnings]  # each reason names its column
    st.session_state[_NOTICE] = {"kind": "success", "lines": lines, "warnings": warnings}


def _show_notice() -> None:
    """The outcome of the last save, shown once: the run right after the button's callback."""
    notice = st.session_state.pop(_NOTICE, None)
    if not notice:
        return
    text = "  \n".join(notice["lines"])
    if notice["kind"] == "success":
        st.success(text, icon=":material/check_circle:")
        if notice.get("warnings"):
            st.warning("已保存，但请核对：  \n" + "  \n".join(notice["warnings"]), icon=":material/warning:")
    elif notice["kind"] == "conflict":
        st.warning(text, icon=":material/warning:")
        if notice.get("table") is not None:
            st.dataframe(notice["table"], hide_index=True, width="stretch")
    elif notice["kind"] == "error":
        st.error(text, icon=":material/block:")
    else:
        st.info(text)


def _history(code: str) -> None:
    history = state.store().history(code)
    if history.empty:
        st.caption("暂无修改记录。")
        return
    table = history.assign(field=history["field"].map(lambda f: CHINESE_HEADER.get(f, f) if f else None))
    table = table[list(HISTORY_COLUMNS)].rename(columns=HISTORY_COLUMNS).astype(object)
    st.dataframe(table.where(table.notna(), ""), hide_index=True, width="stretch")
