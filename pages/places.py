import streamlit as st
st.title("places")
