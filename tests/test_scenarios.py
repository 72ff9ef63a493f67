"""Scenario loading: defaults, every class of user mistake and its message, Hydra composition."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from scenarios import (
    Arrivals,
    Dist,
    Function,
    ProvisionedStep,
    RateStep,
    Scenario,
    ScenarioError,
    Traffic,
    load_scenario,
    to_dict,
)

BASE = {
    "name": "orders",
    "duration_s": 3600,
    "functions": {"worker": {"memory_mb": 1024}},
    "traffic": [{"name": "checkout", "target": "function:worker", "arrivals": {"kind": "poisson", "rate_per_s": 200}}],
}


def scenario(**changes):
    """BASE with top-level keys replaced."""
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


def with_function(**fields):
    return scenario(functions={"worker": {"memory_mb": 1024, **fields}})


def with_traffic(**fields):
    t = {"name": "checkout", "target": "function:worker", "arrivals": {"kind": "poisson", "rate_per_s": 200}}
    t.update(fields)
    return scenario(traffic=[t])


def problems(data, **kw):
    with pytest.raises(ScenarioError) as info:
        load_scenario(data, **kw)
    return info.value.problems


def only(data, **kw):
    """The single problem a scenario has, as 'path: message'."""
    found = problems(data, **kw)
    assert len(found) == 1, found
    return f"{found[0][0]}: {found[0][1]}"


# --- happy paths -------------------------------------------------------------------------


def test_minimal_dict_fills_every_default():
    s = load_scenario(BASE)
    assert isinstance(s, Scenario)
    assert s.duration_s == 3600.0 and isinstance(s.duration_s, float)
    assert s.seed == 0 and s.region == "us-east-1"
    assert s.account.concurrency_limit == 1000
    w = s.functions["worker"]
    assert isinstance(w, Function)
    assert (w.memory_mb, w.arch, w.timeout_s, w.ephemeral_storage_mb) == (1024, "x86_64", 3.0, 512)
    assert w.duration_ms == Dist(dist="fixed", value=100.0)
    assert w.async_invoke.max_retry_attempts == 2
    t = s.traffic[0]
    assert isinstance(t, Traffic) and isinstance(t.arrivals, Arrivals)
    assert (t.invocation, t.arrivals.rate_per_s, t.message.size_bytes) == ("sync", 200.0, 1024)
    assert s.record.period_s == 60.0 and s.sim.window_s == "auto" and s.billing.month_h == 730.0


def test_empty_dict_is_a_valid_scenario():
    assert load_scenario({}) == Scenario()


def test_whole_floats_become_ints_and_ints_become_floats():
    s = load_scenario(with_function(memory_mb=2048.0, timeout_s=30))
    assert s.functions["worker"].memory_mb == 2048 and type(s.functions["worker"].memory_mb) is int
    assert s.functions["worker"].timeout_s == 30.0 and type(s.functions["worker"].timeout_s) is float


def test_nested_lists_become_dataclasses():
    data = with_function(reserved_concurrency=50, provisioned_schedule=[{"at_s": 0, "count": 5}, {"at_s": 60, "count": 10}])
    data["traffic"][0]["arrivals"] = {"kind": "steps", "steps": [{"at_s": 0, "rate_per_s": 1}, {"at_s": 10, "rate_per_s": 0}]}
    s = load_scenario(data)
    assert s.functions["worker"].provisioned_schedule == [ProvisionedStep(0.0, 5), ProvisionedStep(60.0, 10)]
    assert s.traffic[0].arrivals.steps == [RateStep(0.0, 1.0), RateStep(10.0, 0.0)]


def test_full_yaml_file(tmp_path):
    (tmp_path / "trace.csv").write_text("t_s\n0.5\n")
    path = tmp_path / "orders.yaml"
    path.write_text(
        """
defaults: [schema, _self_]   # Hydra's; ignored when loading the file directly
name: order_pipeline
duration_s: 3600
seed: 7
account: {concurrency_limit: 1000}
functions:
  worker:
    memory_mb: 1024
    arch: arm64
    timeout_s: 30
    reserved_concurrency: null
    provisioned_concurrency: 0
    duration_ms: {dist: lognormal, median: 120, p99: 900}
    init_ms: {dist: uniform, low: 100, high: 300}
    idle_expiry_s: {dist: fixed, value: 600}
    error_rate: 0.01
topics:
  orders: {subscriptions: [{protocol: lambda, endpoint: worker}]}
traffic:
  - name: checkout
    target: topic:orders
    arrivals: {kind: diurnal, rate_per_s: 200, peak_to_trough: 3}
    message: {size_bytes: 2048, attributes: {kind: {created: 0.7, updated: 0.3}}}
  - target: function:worker
    arrivals: {kind: trace, file: trace.csv}
record: {period_s: 60, requests: {sample: 0.0}}
sim: {window_s: 1.0}
billing: {free_tier: false, month_h: 730}
"""
    )
    s = load_scenario(path)
    assert s.name == "order_pipeline" and s.seed == 7
    assert s.functions["worker"].duration_ms == Dist(dist="lognormal", median=120.0, p99=900.0)
    assert s.traffic[0].message.attributes == {"kind": {"created": 0.7, "updated": 0.3}}
    assert s.traffic[1].name == "traffic1"  # an empty traffic name is filled in
    assert s.traffic[1].arrivals.file == str(tmp_path / "trace.csv")  # resolved against the file's directory


def test_dictconfig_input():
    s = load_scenario(OmegaConf.create(BASE))
    assert s == load_scenario(BASE)


def test_scenario_input_is_validated_again():
    s = load_scenario(BASE)
    assert load_scenario(s) == s
    s.functions["worker"].memory_mb = 64
    assert problems(s) == [("functions.worker.memory_mb", "64 is below the minimum 128 (allowed 128-10240 MB)")]


def test_to_dict_is_plain_yaml_and_round_trips():
    s = load_scenario(with_function(provisioned_concurrency=2))
    d = to_dict(s)
    assert load_scenario(yaml.safe_load(yaml.safe_dump(d))) == s
    assert d["functions"]["worker"]["duration_ms"]["value"] == 100.0


def test_pricing_is_not_part_of_a_scenario():
    # price books are chosen by region (configs/pricing/REGION.yaml) or given to simulate()
    assert "pricing" in only(scenario(pricing={"x": 1}))

def test_omegaconf_structured_merge_leaves_no_stray_dist_params():
    """Merging a user dict over the typed schema keeps the default Dist's `value`; it is dropped, not an error."""
    from scenarios.store import register

    register()
    register()  # idempotent
    user = with_function(duration_ms={"dist": "exponential", "mean": 50}, init_ms={"dist": "lognormal", "mu": 5, "sigma": 0.5})
    cfg = OmegaConf.merge(OmegaConf.structured(Scenario), user)
    assert cfg.functions.worker.duration_ms.value == 100.0
    s = load_scenario(cfg)
    assert s.functions["worker"].duration_ms == Dist(dist="exponential", mean=50.0)
    assert s.functions["worker"].init_ms == Dist(dist="lognormal", mu=5.0, sigma=0.5)


def test_hydra_compose_with_schema(tmp_path):
    from hydra import compose, initialize_config_dir

    from scenarios.store import register

    register()
    (tmp_path / "scenario").mkdir()
    (tmp_path / "config.yaml").write_text("defaults:\n  - scenario: small\n  - _self_\n")
    (tmp_path / "scenario" / "small.yaml").write_text(
        "defaults:\n  - schema\n  - _self_\n" + yaml.safe_dump(BASE)
    )
    with initialize_config_dir(version_base=None, config_dir=str(tmp_path)):
        cfg = compose("config", overrides=["scenario.functions.worker.memory_mb=2048"])
    s = load_scenario(cfg.scenario)
    assert s.functions["worker"].memory_mb == 2048


def test_scenarios_imports_neither_sim_nor_kernels():
    code = "import sys, scenarios, scenarios.store; print([m for m in sys.modules if m.split('.')[0] in ('sim', 'kernels')])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == "[]"


# --- the error itself --------------------------------------------------------------------


def test_error_is_a_value_error_with_one_line_per_problem():
    data = with_function(memory_mb=100, timeout_s=0)
    data["seed"] = -1
    with pytest.raises(ValueError) as info:
        load_scenario(data)
    assert isinstance(info.value, ScenarioError)
    assert str(info.value).splitlines() == [
        "seed: -1 is below the minimum 0",
        "functions.worker.memory_mb: 100 is below the minimum 128 (allowed 128-10240 MB)",
        "functions.worker.timeout_s: 0 must be greater than 0 (allowed more than 0 and at most 900 s)",
    ]


def test_all_problems_are_reported_in_one_pass():
    data = with_function(memroy_mb=1, arch="arm", error_rate=2)
    data["traffic"][0]["target"] = "function:nope"
    data["sim"] = {"window_s": 0}
    paths = [p for p, _ in problems(data)]
    assert paths == ["functions.worker.memroy_mb", "functions.worker.arch", "functions.worker.error_rate",
                     "traffic[0].target", "sim.window_s"]


# --- unknown keys ------------------------------------------------------------------------


def test_unknown_top_level_key_suggests_the_close_one():
    assert only(scenario(duraton_s=60)) == (
        "duraton_s: unknown key 'duraton_s' (did you mean 'duration_s'?); allowed keys: name, duration_s, seed,"
        " region, account, functions, queues, event_source_mappings, worker_fleets, topics, buses, endpoints, tables,"
        " apis, buckets, state_machines, services, outposts, swf_workflows, brokers, traffic, record, sim, billing,"
        " vpcs, transit_gateways, direct_connect, flows, slo"
    )


def test_unknown_key_in_a_function():
    message = only(with_function(memroy_mb=512))
    assert message.startswith("functions.worker.memroy_mb: unknown key 'memroy_mb' (did you mean 'memory_mb'?);"
                              " allowed keys: memory_mb, arch, timeout_s,")


def test_unknown_key_without_a_close_match_lists_the_allowed():
    assert only(scenario(record={"colour": "red"})) == (
        "record.colour: unknown key 'colour'; allowed keys: period_s, requests, traces, report"
    )


def test_unknown_key_in_a_dist():
    message = only(with_function(duration_ms={"dist": "exponential", "meen": 5, "mean": 5}))
    assert message.startswith("functions.worker.duration_ms.meen: unknown key 'meen' (did you mean 'mean'?)")


def test_wrapped_scenario_gets_a_hint():
    assert problems({"scenario": BASE})[0][1].startswith(
        "unknown key 'scenario' (pass the scenario mapping itself (cfg.scenario), not the whole config)"
    )


# --- wrong types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"memory_mb": "1024"}, "functions.worker.memory_mb: expected an integer, got the string '1024' (write numbers without quotes)"),
        ({"memory_mb": True}, "functions.worker.memory_mb: expected an integer, got true (a boolean)"),
        ({"memory_mb": 1024.5}, "functions.worker.memory_mb: expected an integer, got 1024.5, which is not a whole number"),
        ({"timeout_s": "slow"}, "functions.worker.timeout_s: expected a number, got the string 'slow'"),
        ({"timeout_s": float("nan")}, "functions.worker.timeout_s: expected a number, got nan; numbers must be finite"),
        ({"arch": 64}, "functions.worker.arch: expected a string, got 64"),
        ({"memory_mb": None}, "functions.worker.memory_mb: must not be null; expected an integer"),
        ({"duration_ms": [1, 2]}, "functions.worker.duration_ms: expected a mapping with keys dist, value, mean, median,"
                                  " p99, mu, sigma, low, high, file, column; got a list"),
        ({"provisioned_schedule": {"at_s": 0}}, "functions.worker.provisioned_schedule: expected a list, got a mapping"),
    ],
)
def test_wrong_types(fields, expected):
    assert only(with_function(**fields)) == expected


def test_wrong_type_for_a_boolean():
    assert only(scenario(billing={"free_tier": 1})) == "billing.free_tier: expected true or false, got 1"


def test_functions_must_be_a_mapping():
    assert only(scenario(functions=[{"memory_mb": 128}], traffic=[])) == "functions: expected a mapping, got a list"


def test_non_string_keys_are_rejected():
    data = with_traffic(message={"attributes": {"flag": {True: 0.5, "no": 0.5}}})
    assert problems(data)[0] == ("traffic[0].message.attributes.flag.True", "keys must be strings, got true (a boolean) (quote it in YAML)")


def test_a_broken_place_gets_no_further_messages():
    """A mapping where a number belongs is reported once, not again by the range checks."""
    assert only(with_function(memory_mb={"a": 1})) == "functions.worker.memory_mb: expected an integer, got a mapping"


def test_a_broken_dataclass_field_keeps_its_own_default():
    data = with_function(duration_ms=5)
    assert [p for p, _ in problems(data)] == ["functions.worker.duration_ms"]


def test_missing_value_in_a_dictconfig():
    cfg = OmegaConf.create(scenario(seed="???"))
    assert only(cfg) == "seed: Missing mandatory value: seed"


def test_top_level_not_a_mapping():
    with pytest.raises(ScenarioError) as info:
        load_scenario(42)
    assert str(info.value) == "(top level): expected a scenario mapping, a DictConfig, a Scenario or a YAML file path; got 42"


def test_missing_yaml_file(tmp_path):
    with pytest.raises(ScenarioError, match="scenario file '.*nope.yaml' does not exist"):
        load_scenario(tmp_path / "nope.yaml")


def test_yaml_syntax_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml:2:1: expected .*flow sequence"):
        load_scenario(path)


# --- ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, expected",
    [
        (with_function(memory_mb=100), "functions.worker.memory_mb: 100 is below the minimum 128 (allowed 128-10240 MB)"),
        (with_function(memory_mb=20000), "functions.worker.memory_mb: 20000 is above the maximum 10240 (allowed 128-10240 MB)"),
        (with_function(timeout_s=901), "functions.worker.timeout_s: 901 is above the maximum 900 (allowed more than 0 and at most 900 s)"),
        (with_function(ephemeral_storage_mb=256), "functions.worker.ephemeral_storage_mb: 256 is below the minimum 512 (allowed 512-10240 MB)"),
        (with_function(error_rate=1.5), "functions.worker.error_rate: 1.5 is above the maximum 1 (allowed 0-1)"),
        (with_function(provisioned_concurrency=-1), "functions.worker.provisioned_concurrency: -1 is below the minimum 0"),
        (with_function(reserved_concurrency=-1), "functions.worker.reserved_concurrency: -1 is below the minimum 0"),
        (with_function(async_invoke={"max_retry_attempts": 3}), "functions.worker.async_invoke.max_retry_attempts: 3 is above the maximum 2 (allowed 0-2)"),
        (with_function(async_invoke={"max_event_age_s": 30}), "functions.worker.async_invoke.max_event_age_s: 30 is below the minimum 60 (allowed 60-21600 s)"),
        (scenario(duration_s=0), "duration_s: 0 must be greater than 0 s"),
        (scenario(seed=-3), "seed: -3 is below the minimum 0"),
        (scenario(account={"concurrency_limit": 0}), "account.concurrency_limit: 0 is below the minimum 1"),
        (scenario(record={"period_s": -60}), "record.period_s: -60 must be greater than 0 s"),
        (scenario(record={"requests": {"sample": 1.1}}), "record.requests.sample: 1.1 is above the maximum 1 (allowed 0-1)"),
        (scenario(record={"requests": {"first_n": -1}}), "record.requests.first_n: -1 is below the minimum 0"),
        (scenario(sim={"window_s": 0}), "sim.window_s: 0 must be greater than 0 s"),
        (scenario(billing={"month_h": 0}), "billing.month_h: 0 must be greater than 0 h"),
        (with_traffic(arrivals={"kind": "constant", "rate_per_s": 0}), "traffic[0].arrivals.rate_per_s: 0 must be greater than 0 per s"),
        (with_traffic(arrivals={"kind": "diurnal", "rate_per_s": 5, "peak_to_trough": 0.5}), "traffic[0].arrivals.peak_to_trough: 0.5 is below the minimum 1"),
        (with_traffic(arrivals={"kind": "diurnal", "rate_per_s": 5, "peak_time_h": 24}), "traffic[0].arrivals.peak_time_h: 24 must be below 24 (allowed 0 to under 24 h)"),
        (with_traffic(retries={"max_attempts": 0}), "traffic[0].retries.max_attempts: 0 is below the minimum 1"),
        (with_traffic(retries={"base_delay_s": 0}), "traffic[0].retries.base_delay_s: 0 must be greater than 0 s"),
        (with_traffic(message={"size_bytes": -1}), "traffic[0].message.size_bytes: -1 is below the minimum 0 bytes"),
    ],
)
def test_ranges(data, expected):
    assert only(data) == expected


def test_max_delay_below_base_delay():
    assert only(with_traffic(retries={"base_delay_s": 2, "max_delay_s": 1})) == (
        "traffic[0].retries.max_delay_s: 1 is below base_delay_s 2"
    )


def test_end_before_start():
    assert only(with_traffic(start_s=10, end_s=5)) == "traffic[0].end_s: 5 must be after start_s 10"


# --- enumerations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, expected",
    [
        (with_function(arch="arm"), "functions.worker.arch: 'arm' is not a valid arch (did you mean 'arm64'?); allowed: x86_64, arm64"),
        (with_traffic(invocation="event"), "traffic[0].invocation: 'event' is not a valid invocation; allowed: sync, async"),
        (with_traffic(retries={"jitter": "ful"}), "traffic[0].retries.jitter: 'ful' is not a valid jitter (did you mean 'full'?); allowed: full, equal, none"),
        (scenario(account={"scaling_model": "burst"}), "account.scaling_model: 'burst' is not a valid scaling_model; allowed: per_function, region_burst"),
        (with_traffic(arrivals={"kind": "poison", "rate_per_s": 1}), "traffic[0].arrivals.kind: 'poison' is not a valid kind (did you mean 'poisson'?); allowed: constant, poisson, diurnal, steps, trace"),
        (with_function(duration_ms={"dist": "gamma", "mean": 1}), "functions.worker.duration_ms.dist: 'gamma' is not a valid dist; allowed: fixed, exponential, lognormal, uniform, empirical"),
    ],
)
def test_enumerations(data, expected):
    assert only(data) == expected


# --- distributions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "dist, expected",
    [
        ({"dist": "fixed", "value": 5, "mean": 3}, "duration_ms.mean: `mean` does not apply to dist: fixed; fixed takes value"),
        ({"dist": "fixed"}, "duration_ms: dist: fixed needs value"),
        ({"dist": "fixed", "value": -1}, "duration_ms.value: -1 is below the minimum 0"),
        ({"dist": "exponential", "mean": 0}, "duration_ms.mean: 0 must be greater than 0"),
        ({"dist": "exponential", "mean": 1, "value": 4}, "duration_ms.value: `value` does not apply to dist: exponential; exponential takes mean"),
        ({"dist": "lognormal", "median": 100, "sigma": 1}, "duration_ms: lognormal takes either median and p99, or mu and sigma, not a mix (got median, sigma)"),
        ({"dist": "lognormal", "median": 100}, "duration_ms: dist: lognormal with median also needs p99"),
        ({"dist": "lognormal"}, "duration_ms: dist: lognormal needs median and p99, or mu and sigma"),
        ({"dist": "lognormal", "median": 100, "p99": 50}, "duration_ms.p99: p99 50 must be greater than median 100"),
        ({"dist": "lognormal", "mu": 1, "sigma": 0}, "duration_ms.sigma: 0 must be greater than 0"),
        ({"dist": "uniform", "low": 5, "high": 1}, "duration_ms.high: high 1 is below low 5"),
        ({"dist": "uniform", "low": -1, "high": 1}, "duration_ms.low: -1 is below the minimum 0"),
        ({"dist": "uniform", "low": 1}, "duration_ms: dist: uniform needs high"),
        ({"dist": "empirical"}, "duration_ms: dist: empirical needs file"),
        ({"dist": "empirical", "file": "durations.txt"}, "duration_ms.file: 'durations.txt' must be a .csv or .parquet file"),
    ],
)
def test_distributions(dist, expected):
    assert only(with_function(duration_ms=dist)) == "functions.worker." + expected


def test_lognormal_mu_may_be_negative():
    s = load_scenario(with_function(duration_ms={"dist": "lognormal", "mu": -1, "sigma": 0.5}))
    assert s.functions["worker"].duration_ms.mu == -1.0


def test_empirical_file_must_exist(tmp_path):
    message = only(with_function(duration_ms={"dist": "empirical", "file": "missing.csv"}), base_dir=tmp_path)
    assert message == f"functions.worker.duration_ms.file: file 'missing.csv' does not exist (looked for {tmp_path / 'missing.csv'})"


def test_empirical_file_resolves_against_base_dir(tmp_path):
    import polars as pl

    pl.DataFrame({"ms": [10.0, 20.0]}).write_parquet(tmp_path / "d.parquet")
    s = load_scenario(with_function(duration_ms={"dist": "empirical", "file": "d.parquet", "column": "ms"}), base_dir=tmp_path)
    assert s.functions["worker"].duration_ms.file == str(tmp_path / "d.parquet")


# --- arrivals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arrivals, expected",
    [
        ({"kind": "poisson", "rate_per_s": 5, "steps": [{"at_s": 0, "rate_per_s": 1}]},
         "arrivals.steps: `steps` does not apply to arrivals kind: poisson; poisson takes rate_per_s"),
        ({"kind": "constant", "rate_per_s": 5, "peak_to_trough": 4},
         "arrivals.peak_to_trough: `peak_to_trough` does not apply to arrivals kind: constant; constant takes rate_per_s"),
        ({"kind": "steps", "rate_per_s": 5, "steps": [{"at_s": 0, "rate_per_s": 1}]},
         "arrivals.rate_per_s: `rate_per_s` does not apply to arrivals kind: steps; steps takes steps"),
        ({"kind": "poisson"}, "arrivals: kind: poisson needs rate_per_s"),
        ({"kind": "diurnal"}, "arrivals: kind: diurnal needs rate_per_s"),
        ({"kind": "steps"}, "arrivals: kind: steps needs a non-empty list `steps` of {at_s, rate_per_s}"),
        ({"kind": "trace"}, "arrivals: kind: trace needs file"),
        ({"kind": "steps", "steps": [{"at_s": 0, "rate_per_s": 1}, {"at_s": 0, "rate_per_s": 2}]},
         "arrivals.steps[1].at_s: 0 is not after the previous step's at_s 0 (steps must be in strictly increasing time order)"),
        ({"kind": "steps", "steps": [{"at_s": -1, "rate_per_s": 1}]}, "arrivals.steps[0].at_s: -1 is below the minimum 0 s"),
        ({"kind": "steps", "steps": [{"at_s": 0, "rate_per_s": -1}]}, "arrivals.steps[0].rate_per_s: -1 is below the minimum 0 per s"),
        ({"kind": "trace", "file": "arrivals.csv"}, "arrivals.file: file 'arrivals.csv' does not exist"),
    ],
)
def test_arrivals(arrivals, expected, tmp_path):
    assert only(with_traffic(arrivals=arrivals), base_dir=tmp_path).startswith("traffic[0]." + expected)


# --- names and references ----------------------------------------------------------------


def test_dangling_target_lists_the_functions():
    data = scenario(functions={"worker": {}, "api": {}})
    data["traffic"][0]["target"] = "function:wroker"
    assert only(data) == "traffic[0].target: function 'wroker' is not defined (did you mean 'worker'?); defined functions: worker, api"


def test_target_with_no_functions():
    assert only(scenario(functions={})) == "traffic[0].target: function 'worker' is not defined; defined functions: none"


@pytest.mark.parametrize(
    "target, expected",
    [
        ("queue:orders", "queue 'orders' is not defined; defined queues: none"),
        ("topic:events", "topic 'events' is not defined; defined topics: none"),
        ("bus:default", "bus 'default' is not defined; defined buses: none"),
        ("lambda:worker", "unknown target kind 'lambda'; supported: function, queue, topic, bus, api, state_machine,"
                          " service, swf_workflow, broker"),
        ("worker", "malformed target 'worker'; expected KIND:NAME such as function:NAME (did you mean 'function:worker'?)"),
        ("", "is required: function:NAME, queue:NAME, topic:NAME, bus:NAME, api:NAME/ROUTE, state_machine:NAME,"
             " service:NAME, swf_workflow:NAME or broker:NAME/QUEUE"),
    ],
)
def test_targets(target, expected):
    assert only(with_traffic(target=target)) == f"traffic[0].target: {expected}"


def test_on_failure_destination_must_be_a_defined_standard_queue():
    assert only(with_function(async_invoke={"on_failure": "queue:dlq"})) == (
        "functions.worker.async_invoke.on_failure: queue 'dlq' is not defined; defined queues: none")
    assert only(with_function(async_invoke={"on_failure": "function:other"})) == (
        "functions.worker.async_invoke.on_failure: 'function:other': supported destinations are queue:NAME")


def test_function_names():
    data = scenario(functions={"my worker": {}, "x" * 65: {}, "ok-name_1": {}}, traffic=[])
    assert problems(data) == [
        ("functions['my worker']", "function name 'my worker' may contain only letters, digits, '-' and '_', at most 64 characters"),
        ("functions." + "x" * 65, f"function name '{'x' * 65}' is 65 characters long; the limit is 64"),
    ]


def test_traffic_names():
    t = {"target": "function:worker", "arrivals": {"kind": "poisson", "rate_per_s": 1}}
    data = scenario(traffic=[dict(t, name="a"), dict(t, name="a"), dict(t, name="b/c"), dict(t)])
    assert problems(data) == [
        ("traffic[1].name", "duplicate traffic name 'a' (also traffic[0])"),
        ("traffic[2].name", "traffic name 'b/c' may contain only letters, digits, '-' and '_', at most 64 characters"),
    ]
    data["traffic"] = data["traffic"][:1] + data["traffic"][3:]
    assert [t.name for t in load_scenario(data).traffic] == ["a", "traffic1"]


def test_region_code():
    assert only(scenario(region="us-east1")) == "region: 'us-east1' does not look like an AWS Region code such as us-east-1"


# --- concurrency -------------------------------------------------------------------------


def test_reserved_concurrency_must_leave_the_unreserved_minimum():
    data = scenario(functions={"worker": {"reserved_concurrency": 500}, "api": {"reserved_concurrency": 450}})
    assert only(data) == (
        "functions: reserved_concurrency totals 950 (worker 500, api 450); the account's concurrency_limit 1000"
        " then leaves 50 unreserved, below the min_unreserved_concurrency 100"
    )
    data["functions"]["api"]["reserved_concurrency"] = 400
    assert load_scenario(data).functions["api"].reserved_concurrency == 400


def test_provisioned_within_reserved():
    assert only(with_function(reserved_concurrency=10, provisioned_concurrency=20)) == (
        "functions.worker.provisioned_concurrency: provisioned_concurrency 20 exceeds reserved_concurrency 10"
    )


def test_provisioned_without_reserved_within_the_unreserved_pool():
    assert only(with_function(provisioned_concurrency=901)) == (
        "functions.worker.provisioned_concurrency: provisioned_concurrency 901 exceeds the 900 an unreserved"
        " function may take (concurrency_limit 1000 - min_unreserved_concurrency 100)"
    )
    assert load_scenario(with_function(provisioned_concurrency=900)).functions["worker"].provisioned_concurrency == 900


def test_provisioned_schedule():
    # steps at or after the end are legal (they never happen), so a shortened run still loads
    schedule = [{"at_s": 0, "count": 5}, {"at_s": 0, "count": 20}, {"at_s": 3600, "count": 0}, {"at_s": 4000, "count": -1}]
    assert problems(with_function(reserved_concurrency=10, provisioned_schedule=schedule)) == [
        ("functions.worker.provisioned_schedule[1].at_s",
         "0 is not after the previous step's at_s 0 (steps must be in strictly increasing time order)"),
        ("functions.worker.provisioned_schedule[1].count", "count 20 exceeds reserved_concurrency 10"),
        ("functions.worker.provisioned_schedule[3].count", "-1 is below the minimum 0"),
    ]


# --- messages ----------------------------------------------------------------------------


def test_sync_payload_limit_is_6_mb():
    assert only(with_traffic(message={"size_bytes": 6 * 2**20 + 1})) == (
        "traffic[0].message.size_bytes: 6291457 bytes is above the 6 MB (6291456 bytes) payload limit of sync invocation"
    )
    load_scenario(with_traffic(message={"size_bytes": 6 * 2**20}))


def test_async_payload_limit_is_1_mb():
    assert only(with_traffic(invocation="async", message={"size_bytes": 2**20 + 1})) == (
        "traffic[0].message.size_bytes: 1048577 bytes is above the 1 MB (1048576 bytes) payload limit of async invocation"
    )


def test_attribute_probabilities():
    data = with_traffic(message={"attributes": {"kind": {"created": 0.7, "updated": 0.2}, "tier": {"gold": 1.5}}})
    assert problems(data) == [
        ("traffic[0].message.attributes.kind", "probabilities sum to 0.9 (0.7 + 0.2), not 1"),
        ("traffic[0].message.attributes.tier.gold", "probability 1.5 is outside 0-1"),
    ]
    valid = with_traffic(target="topic:t", message={"attributes": {"kind": {"a": 0.1, "b": 0.2, "c": 0.7}}})
    load_scenario({**valid, "topics": {"t": {}}})  # attributes feed filter policies: a topic target
