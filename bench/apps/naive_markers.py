"""Bench app: the naive map, one folium.Marker per unit (BENCH_UNITS units of the demo
generator's city), to compare with the dashboard's one-layer map."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo, for dashboard

import os
import time

import folium
import numpy as np
import streamlit as st
from streamlit_folium import st_folium

from dashboard import assets

st.set_page_config(layout="wide")
assets.use_local_assets()
count = int(os.environ.get("BENCH_UNITS", "10000"))
rng = np.random.default_rng(1)
lon = 102.6 + rng.random(count) * 0.3
lat = 24.95 + rng.random(count) * 0.25
started = time.perf_counter()
fmap = folium.Map(location=[25.05, 102.75], zoom_start=11, tiles=None, max_zoom=18, maxZoom=18)
for x, y in zip(lon, lat):
    folium.Marker([y, x], popup=f"单位{x:.4f}").add_to(fmap)
st_folium(fmap, height=640, use_container_width=True, returned_objects=[])
st.caption(f"server seconds: {time.perf_counter() - started:.2f}")
