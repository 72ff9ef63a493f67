"""Integration services: API Gateway (and workflows to come)."""
