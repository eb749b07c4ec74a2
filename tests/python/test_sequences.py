"""Sequences and optionals through InferenceSession.run: a sequence input is a
list of arrays and a sequence output a list of arrays; an empty optional is
None both ways, as in onnxruntime. Where onnxruntime runs the model, both
runtimes run the same script and the results are compared.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import assert_same, both, make_model
from onnx import TensorProto, helper

import ember

FLOAT = TensorProto.FLOAT


def seq_info(name: str, elem_type: int = FLOAT):
    return helper.make_value_info(
        name, helper.make_sequence_type_proto(helper.make_tensor_type_proto(elem_type, None)))


def opt_info(name: str, elem_type: int = FLOAT):
    return helper.make_value_info(
        name, helper.make_optional_type_proto(helper.make_tensor_type_proto(elem_type, None)))


def tensor_info(name: str, elem_type: int = FLOAT, shape=None):
    return helper.make_tensor_value_info(name, elem_type, shape)


def run_both(model, feed, output_names=None):
    data = model.SerializeToString()

    def script(rt):
        sess = rt.InferenceSession(data, providers=["CPUExecutionProvider"])
        return sess.run(output_names, feed)

    return both(script)


# ---- models -----------------------------------------------------------------------------

def construct_model():
    """seq = SequenceConstruct(a, b); n = SequenceLength(seq)."""
    return make_model(
        [helper.make_node("SequenceConstruct", ["a", "b"], ["seq"]),
         helper.make_node("SequenceLength", ["seq"], ["n"])],
        [tensor_info("a"), tensor_info("b")],
        [seq_info("seq"), tensor_info("n", TensorProto.INT64, [])])


def sequence_at_model(elem_type: int = FLOAT):
    """y = SequenceAt(seq, pos); seq is a graph input."""
    return make_model(
        [helper.make_node("SequenceAt", ["seq", "pos"], ["y"])],
        [seq_info("seq", elem_type), tensor_info("pos", TensorProto.INT64, [])],
        [tensor_info("y", elem_type)])


def split_model(axis: int = 0):
    """parts = SplitToSequence(x) (pieces of one along axis); x = Concat(parts) again."""
    return make_model(
        [helper.make_node("SplitToSequence", ["x"], ["parts"], axis=axis, keepdims=1),
         helper.make_node("ConcatFromSequence", ["parts"], ["y"], axis=axis)],
        [tensor_info("x", FLOAT, [3, 2])],
        [seq_info("parts"), tensor_info("y", FLOAT, [3, 2])])


def insert_model():
    """out = SequenceInsert(seq, t): a sequence in, a longer one out."""
    return make_model(
        [helper.make_node("SequenceInsert", ["seq", "t"], ["out"])],
        [seq_info("seq"), tensor_info("t")],
        [seq_info("out")])


def optional_identity_model():
    return make_model([helper.make_node("Identity", ["v"], ["w"])],
                      [opt_info("v")], [opt_info("w")],)


def optional_wrap_model():
    """o = Optional(x); has = OptionalHasElement(o); y = OptionalGetElement(o)."""
    model = make_model(
        [helper.make_node("Optional", ["x"], ["o"]),
         helper.make_node("OptionalHasElement", ["o"], ["has"]),
         helper.make_node("OptionalGetElement", ["o"], ["y"])],
        [tensor_info("x", FLOAT, [2])],
        [opt_info("o"), tensor_info("has", TensorProto.BOOL, []), tensor_info("y")])
    model.opset_import[0].version = 18
    return model


# ---- sequences --------------------------------------------------------------------------

def test_sequence_construct_returns_a_list():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.ones((4,), np.float32)
    ours, theirs = run_both(construct_model(), {"a": a, "b": b})
    assert isinstance(ours[0], list) and len(ours[0]) == 2
    np.testing.assert_array_equal(ours[0][0], a)
    np.testing.assert_array_equal(ours[0][1], b)
    assert int(ours[1]) == 2
    assert_same(ours, theirs)


def test_sequence_output_outlives_the_session():
    a, b = np.full((2,), 3, np.float32), np.full((1,), 4, np.float32)
    sess = ember.InferenceSession(construct_model().SerializeToString())
    seq = sess.run(["seq"], {"a": a, "b": b})[0]
    del sess
    np.testing.assert_array_equal(seq[0], a)
    np.testing.assert_array_equal(seq[1], b)


@pytest.mark.parametrize("pos", [0, 1, -1])
def test_sequence_at_takes_a_list_input(pos):
    seq = [np.arange(3, dtype=np.float32), np.arange(5, dtype=np.float32) * 2]
    ours, theirs = run_both(sequence_at_model(), {"seq": seq, "pos": np.array(pos, np.int64)})
    np.testing.assert_array_equal(ours[0], seq[pos])
    assert_same(ours, theirs)


def test_sequence_input_takes_a_tuple_and_int64_items():
    seq = (np.array([1, 2], np.int64), np.array([[3]], np.int64))
    sess = ember.InferenceSession(sequence_at_model(TensorProto.INT64).SerializeToString())
    y = sess.run(None, {"seq": seq, "pos": np.array(1, np.int64)})[0]
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, seq[1])


def test_sequence_of_strings_round_trips():
    seq = [np.array(["a", "bc"], dtype=object), np.array(["déf"], dtype=object)]
    ours, theirs = run_both(sequence_at_model(TensorProto.STRING),
                            {"seq": seq, "pos": np.array(1, np.int64)})
    assert ours[0].tolist() == ["déf"]
    assert_same(ours, theirs)


def test_sequence_items_of_mixed_types_are_refused():
    sess = ember.InferenceSession(sequence_at_model().SerializeToString())
    with pytest.raises(ember.InvalidArgument, match="sequence item 1"):
        sess.run(None, {"seq": [np.ones(2, np.float32), np.ones(2, np.int64)],
                        "pos": np.array(0, np.int64)})


@pytest.mark.parametrize("axis", [0, 1])
def test_split_to_sequence_round_trips(axis):
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    ours, theirs = run_both(split_model(axis), {"x": x})
    parts, y = ours
    assert len(parts) == x.shape[axis]
    for i, part in enumerate(parts):
        np.testing.assert_array_equal(part, np.take(x, [i], axis=axis))
    np.testing.assert_array_equal(y, x)
    assert_same(ours, theirs)


def test_sequence_in_and_out():
    seq = [np.ones((2, 2), np.float32)]
    t = np.zeros((1, 3), np.float32)
    ours, theirs = run_both(insert_model(), {"seq": seq, "t": t})
    assert len(ours[0]) == 2
    np.testing.assert_array_equal(ours[0][1], t)
    assert_same(ours, theirs)


def test_sequence_input_does_not_keep_the_callers_arrays():
    """The sequence holds copies: changing an array after the run changes nothing."""
    item = np.ones(3, np.float32)
    sess = ember.InferenceSession(insert_model().SerializeToString())
    out = sess.run(None, {"seq": [item], "t": np.zeros(1, np.float32)})[0]
    item[:] = 7
    np.testing.assert_array_equal(out[0], np.ones(3, np.float32))


def test_empty_sequence_input():
    model = make_model([helper.make_node("SequenceLength", ["seq"], ["n"])],
                       [seq_info("seq")], [tensor_info("n", TensorProto.INT64, [])])
    sess = ember.InferenceSession(model.SerializeToString())
    assert int(sess.run(None, {"seq": []})[0]) == 0
    assert int(sess.run(None, {"seq": [np.ones(1, np.float32)] * 3})[0]) == 3


def test_sequence_types_are_named_after_a_run():
    """Ember's C API reports no static type for a sequence: the NodeArg says
    'unknown' until a run, then what onnxruntime says."""
    sess = ember.InferenceSession(insert_model().SerializeToString())
    assert sess.get_inputs()[0].type == "unknown"
    assert sess.get_inputs()[1].type == "tensor(float)"
    sess.run(None, {"seq": [np.ones(2, np.float32)], "t": np.ones(1, np.float32)})
    assert sess.get_inputs()[0].type == "seq(tensor(float))"
    assert sess.get_outputs()[0].type == "seq(tensor(float))"


def test_sequences_through_run_with_ort_values():
    sess = ember.InferenceSession(insert_model().SerializeToString())
    t = ember.OrtValue.ortvalue_from_numpy(np.zeros(2, np.float32))
    out = sess.run_with_ort_values(None, {"seq": [np.ones(1, np.float32)], "t": t})
    assert out[0].is_tensor_sequence() and not out[0].is_tensor() and out[0].has_value()
    items = out[0].numpy()
    assert isinstance(items, list) and len(items) == 2
    np.testing.assert_array_equal(items[1], np.zeros(2, np.float32))


def test_empty_optional_through_run_with_ort_values():
    sess = ember.InferenceSession(optional_identity_model().SerializeToString())
    out = sess.run_with_ort_values(None, {"v": None})[0]
    assert not out.has_value() and not out.is_tensor()
    assert out.numpy() is None


def test_a_list_for_a_tensor_input_is_still_an_array():
    model = make_model([helper.make_node("Identity", ["x"], ["y"])],
                       [tensor_info("x", TensorProto.INT64, [2, 2])],
                       [tensor_info("y", TensorProto.INT64, [2, 2])])
    sess = ember.InferenceSession(model.SerializeToString())
    y = sess.run(None, {"x": [[1, 2], [3, 4]]})[0]
    np.testing.assert_array_equal(y, np.array([[1, 2], [3, 4]], np.int64))
    assert sess.get_inputs()[0].type == "tensor(int64)"


# ---- optionals --------------------------------------------------------------------------

def test_empty_optional_round_trips():
    sess = ember.InferenceSession(optional_identity_model().SerializeToString())
    assert sess.run(None, {"v": None}) == [None]
    assert sess.get_inputs()[0].type.startswith("optional")


def test_optional_holding_a_tensor_round_trips():
    x = np.array([1.5, -2.0], np.float32)
    ours, theirs = run_both(optional_identity_model(), {"v": x})
    np.testing.assert_array_equal(ours[0], x)
    assert_same(ours, theirs)
    sess = ember.InferenceSession(optional_identity_model().SerializeToString())
    sess.run(None, {"v": x})
    assert sess.get_inputs()[0].type == "optional(tensor(float))"
    assert sess.get_outputs()[0].type == "optional(tensor(float))"


def test_optional_ops_round_trip():
    x = np.array([3.0, 4.0], np.float32)
    ours, theirs = run_both(optional_wrap_model(), {"x": x})
    np.testing.assert_array_equal(ours[0], x)
    assert bool(ours[1]) is True
    np.testing.assert_array_equal(ours[2], x)
    assert_same(ours, theirs)


# ---- memory -----------------------------------------------------------------------------

def test_sequence_and_optional_runs_keep_memory_flat():
    from test_memory import SLACK_BYTES, growth

    seq_sess = ember.InferenceSession(insert_model().SerializeToString())
    opt_sess = ember.InferenceSession(optional_identity_model().SerializeToString())
    item, t = np.ones(4, np.float32), np.zeros(2, np.float32)
    refs = sys.getrefcount(item)

    def step():
        seq_sess.run(None, {"seq": [item, item], "t": t})
        opt_sess.run(None, {"v": None})
        try:
            seq_sess.run(None, {"seq": [item, np.ones(1, np.int64)], "t": t})
        except ember.InvalidArgument:
            pass

    grown = growth(step, runs=3000)
    assert sys.getrefcount(item) == refs
    assert grown < SLACK_BYTES, grown
