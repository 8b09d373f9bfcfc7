"""Domain logic of 网格党建覆盖一张图: reading, placing, coverage, rates, reports.

Nothing in this package imports Streamlit or folium, so the headless report, the tests and
the dashboard all compute every number through the same functions.
"""
