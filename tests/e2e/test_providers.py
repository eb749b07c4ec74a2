"""End-to-end tests of the optional providers through the `ember` command line:
oneDNN with and without provider groups against onnxruntime, per-step
profiles, and the CUDA provider on a machine without a GPU."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from test_cli import assert_close_to_onnxruntime


def plugin_built(name: str) -> bool:
    dirs = os.environ.get("EMBER_PROVIDER_PATH", "").split(":")
    return any((Path(d) / f"libember_provider_{name}.so").exists() for d in dirs if d)


def has_gpu() -> bool:
    return Path("/dev/nvidia0").exists() or Path("/dev/nvidiactl").exists()


needs_onednn = pytest.mark.skipif(not plugin_built("onednn"),
                                  reason="the oneDNN provider is not built (no libdnnl-dev)")


@needs_onednn
@pytest.mark.parametrize("model_name, shape, output", [
    ("resnet_small", (2, 3, 64, 64), "logits"),
    ("mlp", (64, 1024), "y"),
])
@pytest.mark.parametrize("opt_level", ["0", "99"])
def test_onednn_matches_onnxruntime_with_and_without_groups(run_ember, models, tmp_path,
                                                            model_name, shape, output,
                                                            opt_level):
    x = np.random.default_rng(11).standard_normal(shape).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    model = models / f"{model_name}.onnx"
    res = run_ember("run", model, "--providers", "onednn,cpu", "--opt-level", opt_level,
                    "--input", f"x={tmp_path / 'x.npy'}", "--output-dir", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert any(line.split()[:1] == ["oneDNN"] for line in res.stdout.splitlines())
    assert_close_to_onnxruntime(model, {"x": x}, tmp_path / "out", output)


@needs_onednn
@pytest.mark.parametrize("opt_level, want_groups", [("0", False), ("99", True)])
def test_bench_profile_lists_every_step(run_ember, models, tmp_path, opt_level, want_groups):
    path = tmp_path / "profile.json"
    res = run_ember("bench", models / "resnet_small.onnx", "--providers", "onednn,cpu",
                    "--runs", "4", "--warmup", "2", "--opt-level", opt_level,
                    "--profile", path)
    assert res.returncode == 0, res.stderr
    steps = json.loads(path.read_text())
    assert steps and all(s["calls"] == 4 for s in steps), steps
    assert all(s["total_ns"] > 0 for s in steps if s["op"] != "copy")
    groups = [s for s in steps if s["op"] == "group"]
    assert bool(groups) == want_groups
    assert all(s["provider"] == "oneDNN" and s["nodes"] >= 2 for s in groups)
    # Every node of the model is counted once, in a group or alone.
    assert sum(s["nodes"] for s in steps) == 53


def test_profile_needs_bench(run_ember, models, tmp_path):
    res = run_ember("run", models / "tiny_add.onnx", "--profile", tmp_path / "p.json")
    assert res.returncode == 2
    assert "unknown option '--profile' for 'ember run'" in res.error_line


@pytest.mark.skipif(not plugin_built("cuda"), reason="the CUDA provider is not built")
@pytest.mark.skipif(has_gpu(), reason="checks the message of a machine without a GPU")
def test_cuda_without_gpu_warns_and_falls_back(run_ember, models):
    res = run_ember("run", models / "tiny_add.onnx", "--providers", "cuda,cpu")
    assert res.returncode == 0, res.stderr
    assert "ember: warning: CUDA driver not found" in res.stderr
    assert "falling back to the next provider" in res.stderr
    assert "providers: CPU" in res.stdout
    strict = run_ember("run", models / "tiny_add.onnx", "--providers", "cuda,cpu", "--strict")
    assert strict.returncode == 1
    assert strict.error_line.startswith("ember: CUDA driver not found")
