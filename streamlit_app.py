"""网格党建覆盖一张图 — entry point: page setup, offline map assets, navigation."""

from __future__ import annotations

import streamlit as st

from dashboard import assets, auth, state

st.set_page_config(page_title="网格党建覆盖一张图", page_icon=":material/map:", layout="wide")
assets.use_local_assets()

# Each page's url_path is its file name: on a freshly started server Streamlit resolves the
# first request in the legacy pages/ mode, by file name, before st.navigation has run (see
# dashboard.widgets.page_header), so a shared link such as /blind_spots must name the file.
PAGES = [
    st.Page("pages/county_map.py", title="全县一张图", icon=":material/map:", url_path="county", default=True),
    st.Page("pages/grid.py", title="网格", icon=":material/grid_view:", url_path="grid"),
    st.Page("pages/places.py", title="园区与楼宇", icon=":material/apartment:", url_path="places"),
    st.Page("pages/joint_orgs.py", title="联合党支部", icon=":material/hub:", url_path="joint_orgs"),
    st.Page("pages/blind_spots.py", title="空白点", icon=":material/warning:", url_path="blind_spots"),
    st.Page("pages/centres.py", title="党群服务中心", icon=":material/account_balance:", url_path="centres"),
    st.Page("pages/briefing.py", title="汇报演示", icon=":material/slideshow:", url_path="briefing"),
    st.Page("pages/data.py", title="数据管理", icon=":material/database:", url_path="data"),
    st.Page("pages/accounts.py", title="账号管理", icon=":material/manage_accounts:", url_path="accounts"),
]

# Pages only some roles may open; the others never see them in the navigation, and a link to
# one leads to the default page.
RESTRICTED = {"data": lambda viewer: viewer.may_manage_data,
              "accounts": lambda viewer: viewer.may_manage_accounts}

viewer = auth.gate()
if viewer is None:  # accounts exist and nobody is signed in: the sign-in page is all there is
    st.navigation([st.Page(auth.sign_in_page, title="登录", icon=":material/login:", url_path="login")]).run()
    st.stop()

allowed = [page for page in PAGES if page.url_path not in RESTRICTED or RESTRICTED[page.url_path](viewer)]
navigation = st.navigation(allowed)
if navigation.url_path != "briefing":  # the projector shows the briefing only (its page hides the sidebar)
    auth.session_panel(viewer)
state.policy_panel()
navigation.run()
