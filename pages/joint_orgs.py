import streamlit as st
st.title("joint_orgs")
