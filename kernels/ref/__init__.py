"""Reference twins: plain Python versions of the kernels, for the tests only."""
