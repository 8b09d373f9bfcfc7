"""Benchmarks that print figures (see BENCHMARKS.md); never part of the test suite."""
