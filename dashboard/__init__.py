"""UI pieces (map layers, legend, KPI cards, filters): frames in, Streamlit/folium out.

Nothing here reads files or computes a figure: every number comes from ``services``.
"""
