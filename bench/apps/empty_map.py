"""Bench app: an empty folium map in st_folium (the baseline Streamlit itself costs).

:func:`empty_map` is also the floor of ``bench.map_bench``'s map-alone figure."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo, for dashboard

import folium


def empty_map() -> folium.Map:
    """A map with one unit-like marker and nothing else: what Leaflet alone costs."""
    fmap = folium.Map(location=[25.05, 102.7], zoom_start=11, tiles=None, max_zoom=18, maxZoom=18)
    folium.CircleMarker([25.05, 102.7], radius=6, class_name="unit-marker").add_to(fmap)
    return fmap


if __name__ == "__main__":  # as `streamlit run` runs it
    import streamlit as st
    from streamlit_folium import st_folium

    from dashboard import assets

    st.set_page_config(layout="wide")
    assets.use_local_assets()
    st_folium(empty_map(), height=640, use_container_width=True, returned_objects=[])
