"""Outputs: the result, its writers, the console summary and the report."""
