import streamlit as st
st.title("centres")
