"""Sweeps: gathering a multirun's jobs into one table, and the report across its arms."""
