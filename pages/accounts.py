"""账号管理: who may sign in and what each sees; passwords reset, accounts disabled or deleted;
and the audit log of sign-ins, edits, imports, exports and account changes.

With no account yet the app is open to anyone who reaches it; the page says so and creates the
first (administrator) account, after which every page asks for sign-in.
"""

from functools import partial

import streamlit as st

from services import accounts
from services.access import OPEN_VIEWER
from services.exports import to_xlsx

from dashboard import account_admin, state, widgets

widgets.page_header("账号管理")
store, viewer = state.store(), state.viewer()
if not viewer.may_manage_accounts:  # the navigation already hides the page from other roles
    st.error("只有管理员可以管理账号。")
    st.stop()
first = viewer == OPEN_VIEWER
county = state.full_analysis()
grids = account_admin.grid_labels(county)

if first:
    st.warning("尚未创建任何账号：现在任何能打开本系统的人都能看到全部数据。请先创建一个管理员账号。"
               "创建后，所有页面都需要登录，本页面也将转到登录页，请用新账号登录。", icon=":material/lock_open:")
else:
    st.subheader("账号列表")
    frame = accounts.accounts(store)
    st.dataframe(account_admin.account_table(frame, grids), hide_index=True, width="stretch", key="account_list")

st.subheader("创建第一个管理员账号" if first else "创建账号")
account_admin.create_form(store, viewer, account_admin.town_names(county), grids, first=first)

if not first:
    st.subheader("修改账号")
    account_admin.manage_section(store, viewer, frame)

st.subheader("审计日志")
st.caption("登录、退出、修改单位、导入、删除、上传图层、导出和账号变更，每一次都记录操作人和时间。")
log = account_admin.audit_table(accounts.audit_log(store, limit=account_admin.AUDIT_LIMIT))
filters = st.columns(2)
who = filters[0].multiselect("操作人", sorted(log["操作人"].dropna().unique()), key=account_admin.AUDIT_WHO_KEY,
                             placeholder="全部")
actions = filters[1].multiselect("操作", sorted(log["操作"].dropna().unique()), key=account_admin.AUDIT_ACTION_KEY,
                                 placeholder="全部")
shown = account_admin.filter_audit(log, who, actions)
st.caption(f"共{len(shown):,}条（最近{account_admin.AUDIT_LIMIT:,}条记录内）。")
st.dataframe(shown, hide_index=True, width="stretch", height=420, placeholder="—", key="audit_table")
st.download_button("下载审计日志（Excel）", key="audit_download", icon=":material/download:",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   data=widgets.audited(partial(to_xlsx, {"审计日志": shown}), "审计日志.xlsx"),
                   file_name="审计日志.xlsx")
