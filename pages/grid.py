import streamlit as st
st.title("grid")
