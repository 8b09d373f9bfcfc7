"""Bench app: an empty folium map in st_folium (the baseline Streamlit itself costs)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo, for dashboard

import folium
import streamlit as st
from streamlit_folium import st_folium

from dashboard import assets

st.set_page_config(layout="wide")
assets.use_local_assets()
fmap = folium.Map(location=[25.05, 102.7], zoom_start=11, tiles=None, max_zoom=18, maxZoom=18)
folium.CircleMarker([25.05, 102.7], radius=6, class_name="unit-marker").add_to(fmap)
st_folium(fmap, height=640, use_container_width=True, returned_objects=[])
