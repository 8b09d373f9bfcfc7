import streamlit as st
st.title("blind_spots")
