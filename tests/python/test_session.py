"""InferenceSession: the same scripts with ember and onnxruntime, outputs compared."""
from __future__ import annotations

import json
import os
import threading
import time
import warnings

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from conftest import assert_same, both

import ember

CPU = ["CPUExecutionProvider"]


def test_session_runs_from_path_and_from_bytes(models, x16):
    def script(rt):
        from_path = rt.InferenceSession(models["add"], providers=CPU)
        with open(models["add"], "rb") as f:
            from_bytes = rt.InferenceSession(f.read(), providers=CPU)
        return from_path.run(None, {"x": x16}) + from_bytes.run(["y"], {"x": x16})

    assert_same(*both(script))


def test_session_runs_from_a_path_object(models, x16, tmp_path):
    import pathlib

    session = ember.InferenceSession(pathlib.Path(models["add"]))
    assert session.run(None, {"x": x16})[0].shape == (1, 16)


def test_session_follows_dynamic_shapes(models):
    def script(rt):
        session = rt.InferenceSession(models["dynamic"], providers=CPU)
        results = []
        for n in (1, 3, 7, 0):
            x = np.linspace(-2, 2, 4 * n, dtype=np.float32).reshape(n, 4)
            results.append(session.run(None, {"x": x}))
        return results

    assert_same(*both(script))


def test_session_returns_the_outputs_asked_for_in_order(models):
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)

    def script(rt):
        session = rt.InferenceSession(models["dynamic"], providers=CPU)
        return [session.run(names, {"x": x}) for names in
                (None, [], ["mm"], ["sum", "relu"], ["mm", "relu", "sum"])]

    assert_same(*both(script))


def test_session_describes_inputs_and_outputs(models):
    def script(rt):
        session = rt.InferenceSession(models["dynamic"], providers=CPU)
        return [[(a.name, a.type, a.shape) for a in session.get_inputs()],
                [(a.name, a.type, a.shape) for a in session.get_outputs()]]

    ours, theirs = both(script)
    assert ours == theirs
    assert ours[0] == [("x", "tensor(float)", ["N", 4])]


def test_session_reports_model_metadata(models):
    def script(rt):
        meta = rt.InferenceSession(models["add"], providers=CPU).get_modelmeta()
        return [meta.producer_name, meta.graph_name, meta.domain, meta.description,
                meta.version, meta.custom_metadata_map]

    assert_same(*both(script))


def test_session_with_metadata_props(tmp_path, x16):
    from conftest import add_model, save

    model = add_model()
    onnx.helper.set_model_props(model, {"author": "ember", "licence": "MIT"})
    path = save(model, tmp_path / "props.onnx")

    def script(rt):
        return rt.InferenceSession(path, providers=CPU).get_modelmeta().custom_metadata_map

    assert_same(*both(script))


def test_session_reports_providers_and_options(models):
    def script(rt):
        session = rt.InferenceSession(models["add"], providers=[("CPUExecutionProvider", {})])
        return [session.get_providers(), list(session.get_provider_options())]

    assert_same(*both(script))


def test_session_accepts_short_and_long_provider_names(models, x16):
    expected = ember.InferenceSession(models["add"]).run(None, {"x": x16})
    for providers in (["CPU"], ["cpu"], ["CPUExecutionProvider"], [("CPU", {})],
                      [("CPUExecutionProvider", {})], None):
        session = ember.InferenceSession(models["add"], providers=providers)
        assert session.get_providers() == ["CPUExecutionProvider"]
        assert_same(session.run(None, {"x": x16}), expected)
    session = ember.InferenceSession(models["add"], providers=["CPU"], provider_options=[{}])
    assert session.get_providers() == ["CPUExecutionProvider"]


needs_no_cuda = pytest.mark.skipif(
    "CUDAExecutionProvider" in ember.get_available_providers(),
    reason="the CUDA provider is available here")


@needs_no_cuda
def test_session_skips_an_unavailable_provider_with_a_warning(models, x16):
    with pytest.warns(UserWarning, match="CUDAExecutionProvider"):
        session = ember.InferenceSession(
            models["add"], providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert session.get_providers() == ["CPUExecutionProvider"]
    with pytest.warns(UserWarning, match="CUDA"):
        ember.InferenceSession(models["add"], providers=[("CUDA", {"device_id": "0"})])


@needs_no_cuda
def test_session_without_fallback_refuses_an_unavailable_provider(models):
    with pytest.raises(ember.EPFail, match="CUDAExecutionProvider"):
        ember.InferenceSession(models["add"], providers=["CUDAExecutionProvider"],
                               enable_fallback=0)
    session = ember.InferenceSession(models["add"])
    session.disable_fallback()
    with pytest.raises(ember.EPFail):
        session.set_providers(["CUDA", "CPU"])
    session.enable_fallback()
    with pytest.warns(UserWarning):
        session.set_providers(["CUDA", "CPU"])
    assert session.get_providers() == ["CPUExecutionProvider"]


def test_session_rejects_malformed_provider_arguments(models):
    for providers, options in (("CPU", None), ([42], None), (["CPU"], [{}, {}]),
                               ([("CPU", {})], [{}])):
        with pytest.raises(ValueError):
            ember.InferenceSession(models["add"], providers=providers, provider_options=options)


def test_session_set_providers_recreates_it(models, x16):
    def script(rt):
        session = rt.InferenceSession(models["add"], providers=CPU)
        first = session.run(None, {"x": x16})
        session.set_providers(["CPUExecutionProvider"])
        return first + session.run(None, {"x": x16}) + [session.get_providers()]

    assert_same(*both(script))


def test_session_options_keep_results(models):
    x = np.linspace(-3, 3, 20, dtype=np.float32).reshape(5, 4)

    def script(rt):
        results = []
        for level in (rt.GraphOptimizationLevel.ORT_DISABLE_ALL,
                      rt.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                      rt.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                      rt.GraphOptimizationLevel.ORT_ENABLE_ALL):
            so = rt.SessionOptions()
            so.graph_optimization_level = level
            so.intra_op_num_threads = 2
            so.inter_op_num_threads = 1
            so.execution_mode = rt.ExecutionMode.ORT_SEQUENTIAL
            so.enable_mem_pattern = False
            so.enable_cpu_mem_arena = False
            so.log_severity_level = 3
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            results.append(rt.InferenceSession(models["dynamic"], so, providers=CPU)
                           .run(None, {"x": x}))
        return results

    assert_same(*both(script))


def test_session_options_keep_config_entries():
    def script(rt):
        so = rt.SessionOptions()
        so.add_session_config_entry("session.load_model_format", "ONNX")
        try:
            so.get_session_config_entry("absent")
            missing = None
        except Exception as e:  # noqa: BLE001 - both raise RuntimeError
            missing = type(e).__name__
        return [so.get_session_config_entry("session.load_model_format"), missing,
                int(so.graph_optimization_level), int(so.execution_mode),
                so.intra_op_num_threads, so.enable_profiling]

    assert_same(*both(script))


def test_session_run_options_tag_and_terminate(models, x16):
    def script(rt):
        session = rt.InferenceSession(models["add"], providers=CPU)
        ro = rt.RunOptions()
        ro.logid = "tagged"
        ro.log_severity_level = 3
        ro.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        out = session.run(None, {"x": x16}, ro)
        ro.terminate = True
        try:
            session.run(None, {"x": x16}, ro)
            error = None
        except Exception as e:  # noqa: BLE001
            error = type(e).__name__
        return [out, error, ro.get_run_config_entry("memory.enable_memory_arena_shrinkage")]

    assert_same(*both(script))


def test_session_run_with_ort_values(models):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.ones((2, 3), np.float32)

    def script(rt):
        session = rt.InferenceSession(models["two_inputs"], providers=CPU)
        feed = {"a": rt.OrtValue.ortvalue_from_numpy(a), "b": rt.OrtValue.ortvalue_from_numpy(b)}
        outputs = session.run_with_ort_values(["z"], feed)
        mixed = session.run(None, {"a": feed["a"], "b": b})
        return [[(v.shape(), v.data_type(), v.device_name(), v.numpy()) for v in outputs],
                mixed]

    assert_same(*both(script))


def test_session_takes_non_contiguous_and_list_inputs(models):
    a = np.arange(12, dtype=np.float32).reshape(3, 4).T[:2, :]  # (2, 3), not contiguous
    b = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]

    def script(rt):
        session = rt.InferenceSession(models["two_inputs"], providers=CPU)
        return session.run(None, {"a": a, "b": np.asarray(b, np.float32)})

    assert_same(*both(script))


def test_session_outputs_are_writable_arrays_that_outlive_the_session(models, x16):
    session = ember.InferenceSession(models["add"])
    y = session.run(None, {"x": x16})[0]
    expected = y.copy()
    del session
    assert y.flags.writeable and y.flags.c_contiguous
    y += 1
    np.testing.assert_array_equal(y, expected + 1)


def test_session_runs_from_several_threads(models):
    session = ember.InferenceSession(models["dynamic"])
    expected = {}
    inputs = {n: np.linspace(-1, 1, 4 * n, dtype=np.float32).reshape(n, 4) for n in (1, 2, 5)}
    for n, x in inputs.items():
        expected[n] = session.run(None, {"x": x})
    failures = []

    def worker(n):
        for _ in range(200):
            got = session.run(None, {"x": inputs[n]})
            if any(not np.array_equal(g, e) for g, e in zip(got, expected[n])):
                failures.append(n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2, 5, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def _largest_stall(session, x) -> float:
    """Runs once in a thread while this thread keeps stamping the clock; returns
    the longest stretch of the run, as a fraction of it, with no stamp."""
    span = {}

    def worker():
        span["t0"] = time.perf_counter()
        session.run(None, {"x": x})
        span["t1"] = time.perf_counter()

    stamps = []
    thread = threading.Thread(target=worker)
    thread.start()
    while thread.is_alive():
        stamps.append(time.perf_counter())
    thread.join()
    t0, t1 = span["t0"], span["t1"]
    inside = [t0] + [s for s in stamps if t0 <= s <= t1] + [t1]
    return float(np.max(np.diff(inside))) / (t1 - t0)


def test_session_run_releases_the_gil(models):
    # With the GIL held through ember_session_run this thread could not stamp
    # at all during the run: one stall as long as the run itself.
    so = ember.SessionOptions()
    so.intra_op_num_threads = 1
    session = ember.InferenceSession(models["matmul"], so)
    x = np.ones((512, 512), np.float32)
    session.run(None, {"x": x})
    stalls = []
    for _ in range(3):  # a loaded machine may deschedule this thread once
        stalls.append(_largest_stall(session, x))
        if stalls[-1] < 0.5:
            break
    assert min(stalls) < 0.5, stalls


def test_session_profiling_writes_a_trace(models, x16, tmp_path):
    so = ember.SessionOptions()
    so.enable_profiling = True
    so.profile_file_prefix = str(tmp_path / "prof")
    session = ember.InferenceSession(models["add"], so)
    for _ in range(3):
        session.run(None, {"x": x16})
    assert session.get_profiling_start_time_ns() > 0
    path = session.end_profiling()
    assert os.path.basename(path).startswith("prof") and path.endswith(".json")
    with open(path, encoding="utf-8") as f:
        events = json.load(f)
    session_events = [e for e in events if e["cat"] == "Session"]
    assert [e["name"] for e in session_events] == ["session_initialization"] + ["model_run"] * 3
    # Then one "Node" event per step, with the runs it counted.
    nodes = [e for e in events if e["cat"] == "Node"]
    assert nodes, events
    assert all(e["args"]["calls"] == 3 and e["name"].endswith("_kernel_time") for e in nodes)
    assert sum(e["args"]["node_count"] for e in nodes) == 1  # the model is one Add
    assert [e["args"]["op_name"] for e in nodes if e["args"]["node_count"]] == ["Add"]
    assert session.end_profiling() == ""


def test_session_writes_optimized_model_filepath(models, x16, tmp_path):
    so = ember.SessionOptions()
    so.optimized_model_filepath = str(tmp_path / "opt.onnx")
    with pytest.warns(UserWarning, match="optimized"):
        ember.InferenceSession(models["add"], so)
    again = ember.InferenceSession(so.optimized_model_filepath)
    assert again.run(None, {"x": x16})[0].shape == (1, 16)


def test_session_reports_node_placement(models):
    session = ember.InferenceSession(models["chain"])
    placement = session.get_node_placement()
    assert [(op, provider) for _, op, _, provider in placement] == [
        ("Add", "CPU"), ("Mul", "CPU"), ("Relu", "CPU"), ("Sub", "CPU")]


def test_module_surface_matches_onnxruntime():
    import onnxruntime

    names = ["InferenceSession", "SessionOptions", "RunOptions", "OrtValue", "IOBinding",
             "GraphOptimizationLevel", "ExecutionMode", "get_available_providers",
             "get_all_providers", "get_device", "__version__", "ModelMetadata", "NodeArg",
             "set_default_logger_severity", "OrtDevice"]
    for name in names:
        assert hasattr(onnxruntime, name) and hasattr(ember, name), name
    assert "CPUExecutionProvider" in ember.get_available_providers()
    assert set(ember.get_available_providers()) <= set(ember.get_all_providers())
    assert ember.get_device() in ("CPU", "GPU")
    assert ember.__version__ == ember.get_version_string()
    for level in ("ORT_DISABLE_ALL", "ORT_ENABLE_BASIC", "ORT_ENABLE_EXTENDED",
                  "ORT_ENABLE_ALL"):
        assert int(getattr(ember.GraphOptimizationLevel, level)) == \
            int(getattr(onnxruntime.GraphOptimizationLevel, level))


def test_logger_severity_is_checked():
    ember.set_default_logger_severity(3)
    ember.set_default_logger_severity(2)
    with pytest.raises(ValueError):
        ember.set_default_logger_severity(7)


def test_session_warns_nothing_on_a_plain_cpu_session(models, x16):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.InferenceSession(models["add"], providers=CPU).run(None, {"x": x16})


def conv_block_model() -> onnx.ModelProto:
    """Conv -> Relu -> Conv -> Add(shortcut) -> Relu on [N, 8, 12, 12]: what oneDNN runs as
    one group (fused sum and activations, blocked layouts)."""
    rng = np.random.default_rng(4)
    w1 = numpy_helper.from_array((rng.standard_normal((8, 8, 3, 3)) * 0.2).astype(np.float32), "w1")
    w2 = numpy_helper.from_array((rng.standard_normal((8, 8, 3, 3)) * 0.2).astype(np.float32), "w2")
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c2", "x"], ["s"]),
             helper.make_node("Relu", ["s"], ["y"])]
    graph = helper.make_graph(
        nodes, "block", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8, 12, 12])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8, 12, 12])], [w1, w2])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.mark.skipif("DnnlExecutionProvider" not in ember.get_available_providers(),
                    reason="the oneDNN provider is not built")
def test_onednn_groups_run_from_several_threads(tmp_path):
    """Four threads, three batch sizes at once: each shape builds its group program once
    (under the group's lock) and every run takes its own arena."""
    path = str(tmp_path / "block.onnx")
    onnx.save_model(conv_block_model(), path)
    session = ember.InferenceSession(path, providers=["DnnlExecutionProvider",
                                                      "CPUExecutionProvider"])
    reference = ember.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(8)
    inputs = {n: rng.standard_normal((n, 8, 12, 12)).astype(np.float32) for n in (1, 2, 3)}
    expected = {n: reference.run(None, {"x": x})[0] for n, x in inputs.items()}
    failures = []

    def worker(n):
        for _ in range(50):
            [got] = session.run(None, {"x": inputs[n]})
            if not np.allclose(got, expected[n], rtol=1e-4, atol=1e-5):
                failures.append(n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2, 3, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
