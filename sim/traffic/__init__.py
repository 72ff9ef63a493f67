"""Traffic: arrival processes and the sources that feed the data plane."""
