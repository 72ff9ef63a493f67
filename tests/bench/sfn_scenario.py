"""The Step Functions benchmark's scenario (issue 14): an Express workflow of five states — a
Lambda task, a Choice, a second Lambda task, a Pass and a Succeed — started by traffic at a steady
rate. The SimPy baseline (`simpy_sfn_baseline.py`) models the same workflow per execution."""

from __future__ import annotations


def lam(name: str, **more) -> dict:
    return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": name},
            **more}


def sfn_scenario(rate_per_s: float, duration_s: float, seed: int = 1) -> dict:
    return {
        "name": "bench_sfn", "duration_s": duration_s, "seed": seed,
        "account": {"concurrency_limit": 5000},
        "functions": {
            "validate": {"memory_mb": 256, "duration_ms": {"dist": "exponential", "mean": 20},
                         "init_ms": {"dist": "fixed", "value": 200}},
            "charge": {"memory_mb": 512, "duration_ms": {"dist": "exponential", "mean": 50},
                       "init_ms": {"dist": "fixed", "value": 200}},
        },
        "state_machines": {"orders": {
            "type": "EXPRESS",
            "choices": {"Route": {"Charge": 0.8}},
            "definition": {"StartAt": "Validate", "States": {
                "Validate": lam("validate", Next="Route"),
                "Route": {"Type": "Choice", "Choices": [{"Variable": "$.paid", "BooleanEquals": False,
                                                         "Next": "Charge"}], "Default": "Record"},
                "Charge": lam("charge", Next="Record"),
                "Record": {"Type": "Pass", "Next": "Done"},
                "Done": {"Type": "Succeed"}}},
        }},
        "traffic": [{"name": "orders", "target": "state_machine:orders", "invocation": "async",
                     "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s}}],
        "record": {"period_s": 60, "report": False},
    }
