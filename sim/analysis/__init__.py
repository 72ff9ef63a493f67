"""Analytic models the report sets beside the simulated figures (expected values, not simulation)."""
