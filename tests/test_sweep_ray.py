"""The Ray launcher: test_sweeps' four-point sweep on a local Ray instance, and the cluster preset."""

from __future__ import annotations

import importlib.util

import pytest
import yaml

from sim.sweep.gather import job_dirs
from test_sweeps import _compose, _run_sweep, assert_same_as_one_by_one, one_by_one  # noqa: F401 (a fixture)

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None
    or importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is None,
    reason="ray or hydra-ray-launcher not installed: pip install -e '.[ray]' (make test does)",
)

# A new local instance (`address=local`: never one already running here) on 2 cores, without
# the dashboard (saves seconds at start); RAY_AUTH_MODE=disabled keeps Ray 2.60 from writing
# ~/.ray/auth_token and printing about it.
RAY = ["hydra/launcher=ray", "hydra.launcher.ray.init.address=local", "+hydra.launcher.ray.init.num_cpus=2",
       "+hydra.launcher.ray.init.include_dashboard=false"]
RAY_ENV = {"RAY_AUTH_MODE": "disabled"}


@pytest.fixture(scope="module")
def ray_sweep(tmp_path_factory):
    return _run_sweep(tmp_path_factory.mktemp("ray"), *RAY, env=RAY_ENV)


def test_a_ray_sweep_gathers_the_same_table_as_running_each_point(ray_sweep, one_by_one):
    sweep_dir, wall = ray_sweep
    print(f"ray_sweep: 4 jobs in {wall:.2f} s")
    assert_same_as_one_by_one(sweep_dir, one_by_one)
    # the jobs ran in Ray tasks: the Ray launcher names each job's id itself
    ids = [yaml.safe_load((d / ".hydra" / "hydra.yaml").read_text())["hydra"]["job"]["id"]
           for d in job_dirs(sweep_dir)]
    assert ids == [f"job_id_for_{n}" for n in range(4)]


def test_the_cluster_preset_attaches_to_a_running_cluster():
    launcher = _compose(["hydra/launcher=ray_cluster"]).hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
    # Ray refuses object_store_memory when it connects to an existing cluster; the launcher
    # would set it unless the key is there already
    assert dict(launcher.ray.init) == {"address": "auto", "object_store_memory": None}
