"""Bad inputs: a CPU kernel given input that the ONNX spec forbids (shapes that
do not broadcast, indices out of range, negative sizes, an axis outside the
rank, an element count that overflows) fails with an ember exception whose
message names the node, its op and, where the kernel says it, the offending
input or shape. Never a crash: every case runs in this process, so a crash
would take the whole test run down with it.

Each case is one row of CASES: (family, case id, model builder, feeds, words
the message must contain). A builder returns the model; the feeds are the
graph inputs, so that the bad values reach the kernel at run time (graph
inputs carry no shapes, so nothing is caught by shape inference first).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import ember

CPU = ["CPUExecutionProvider"]
OPSET = 21
IR_VERSION = 10
BIG = 2 ** 62  # [BIG, BIG] holds 2**124 elements: far past any size_t


class Case(NamedTuple):
    family: str
    case_id: str
    build: Callable[[], onnx.ModelProto]
    feeds: dict
    words: tuple
    marks: tuple = ()


def elem_type(value: np.ndarray) -> int:
    return helper.np_dtype_to_tensor_dtype(value.dtype)


def one_node(op, feeds, attrs=None, name=None, consts=None, out_type=TensorProto.FLOAT,
             n_outputs=1, opset=OPSET, inputs=None):
    """A model of one node `name` running `op` over the graph inputs named by
    the keys of feeds (in order, or as `inputs` lists them: "" for a missing
    optional input) and the initializers in consts; the graph inputs take the
    element types of the feeds and no shapes."""
    consts = consts or {}
    names = inputs if inputs is not None else list(feeds) + list(consts)
    outputs = [f"y{i}" for i in range(n_outputs)]
    node = helper.make_node(op, names, outputs, name=name, **(attrs or {}))
    return model_of([node], feeds, consts, outputs, out_type, opset)


def model_of(nodes, feeds, consts, outputs, out_type, opset):
    graph = helper.make_graph(
        nodes, "bad_inputs",
        [helper.make_tensor_value_info(k, elem_type(v), None) for k, v in feeds.items()],
        [helper.make_tensor_value_info(o, out_type, None) for o in outputs],
        [numpy_helper.from_array(v, k) for k, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = IR_VERSION
    return model


def f32(*shape):
    return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)


def i64(*values):
    return np.array(values, dtype=np.int64)


def case(family, case_id, op, feeds, words, name, marks=(), **kw):
    """One row: a one-node model of `op`; the node is named `name` and the
    message must hold the name, the op and `words`."""
    return Case(family, case_id, lambda: one_node(op, feeds, name=name, **kw), feeds,
                (f"node '{name}'", f"({op})") + tuple(words), marks)


def sequence_at_model():
    """SequenceAt(SequenceConstruct(a, b), position): a two-tensor sequence."""
    nodes = [helper.make_node("SequenceConstruct", ["a", "b"], ["seq"], name="make_seq"),
             helper.make_node("SequenceAt", ["seq", "pos"], ["y0"], name="bad_sequence_at")]
    return model_of(nodes, SEQ_FEEDS, {}, ["y0"], TensorProto.FLOAT, OPSET)


SEQ_FEEDS = {"a": f32(2), "b": f32(2), "pos": i64(5)}
# The overflowing cases name the output whose shape is refused, and the shape.
OVERFLOW_WORDS = ["output 0", f"[{BIG},{BIG}]"]


def strings(*values):
    return np.array(values, dtype=object)


CASES = [
    # elementwise / math
    case("elementwise", "add_no_broadcast", "Add", {"a": f32(2, 3), "b": f32(4)},
         ["input 0", "[2,3]", "input 1", "[4]", "broadcast"], "bad_add"),
    case("elementwise", "sum3_no_broadcast", "Sum",
         {"a": f32(2, 3), "b": f32(2, 3), "c": f32(5)}, ["input 2", "[5]", "broadcast"],
         "bad_sum"),
    case("elementwise", "where_mismatch", "Where",
         {"c": np.array([True, False]), "x": f32(3), "y": f32(3)},
         ["input 0", "[2]", "[3]", "broadcast"],
         "bad_where"),
    # tensor / base
    case("tensor", "gather_index_out_of_range", "Gather", {"x": f32(5, 2), "i": i64(0, 7)},
         ["input 1", "index 7"], "bad_gather"),
    case("tensor", "reshape_count_mismatch", "Reshape", {"x": f32(2, 3), "s": i64(4)},
         ["input 0", "[2,3]", "[4]"], "bad_reshape"),
    case("tensor", "concat_axis_out_of_range", "Concat", {"a": f32(2, 3), "b": f32(2, 3)},
         ["input 0", "axis"], "bad_concat", attrs={"axis": 3}),
    case("tensor", "transpose_perm_wrong_length", "Transpose", {"x": f32(2, 3)},
         ["input 0", "perm"], "bad_transpose", attrs={"perm": [1, 0, 2]}),
    # shape / indexing
    case("indexing", "gather_elements_out_of_range", "GatherElements",
         {"x": f32(2, 3), "i": np.array([[0, 5, 0], [0, 0, 0]], np.int64)},
         ["input 1", "index 5"], "bad_gather_elements", attrs={"axis": 1}),
    case("indexing", "scatter_elements_out_of_range", "ScatterElements",
         {"x": f32(2, 3), "i": np.array([[0, 9]], np.int64), "u": f32(1, 2)},
         ["input 1", "index 9"], "bad_scatter_elements", attrs={"axis": 1}),
    case("indexing", "slice_axis_outside_rank", "Slice",
         {"x": f32(2, 3), "st": i64(0), "en": i64(1), "ax": i64(5)}, ["input 0", "[2,3]", "axis"],
         "bad_slice"),
    case("indexing", "expand_no_broadcast", "Expand", {"x": f32(2, 3), "s": i64(4, 3)},
         ["input 0", "[2,3]", "broadcast"], "bad_expand"),
    case("indexing", "tile_negative_repeats", "Tile", {"x": f32(2, 3), "r": i64(-1, 2)},
         ["input 0", "negative"], "bad_tile"),
    case("indexing", "pad_crops_below_zero", "Pad", {"x": f32(2, 3), "p": i64(0, -2, 0, -2)},
         ["input 0", "[2,3]", "negative"], "bad_pad"),
    # reduce / norm
    case("reduce", "reduce_sum_axis_out_of_range", "ReduceSum",
         {"x": f32(2, 3), "ax": i64(5)}, ["input 0", "axis 5"], "bad_reduce_sum"),
    case("reduce", "topk_k_too_large", "TopK", {"x": f32(2, 3), "k": i64(5)},
         ["input 0", "[2,3]", "k"], "bad_topk", n_outputs=2),
    case("reduce", "group_norm_groups_do_not_divide", "GroupNormalization",
         {"x": f32(1, 6, 2), "s": f32(6), "b": f32(6)},
         ["input 0", "[1,6,2]", "num_groups"], "bad_group_norm",
         attrs={"num_groups": 4}),
    case("reduce", "einsum_operands_do_not_match", "Einsum",
         {"a": f32(2, 3), "b": f32(4, 5)}, ["input 0", "[2,3]", "equation"], "bad_einsum",
         attrs={"equation": "ij,jk->ik"}),
    # conv / pool / image
    case("conv", "conv_weight_channels", "Conv",
         {"x": f32(1, 3, 5, 5), "w": f32(2, 4, 3, 3)}, ["input 1", "[2,4,3,3]"], "bad_conv"),
    case("conv", "maxpool_kernel_too_large", "MaxPool", {"x": f32(1, 1, 2, 2)},
         ["input 0", "[1,1,2,2]", "window"], "bad_maxpool", attrs={"kernel_shape": [3, 3]}),
    case("conv", "resize_wrong_scale_count", "Resize",
         {"x": f32(1, 1, 2, 2), "sc": np.array([2, 2], np.float32)}, ["input 2", "[2]", "scales"],
         "bad_resize", inputs=["x", "", "sc"]),
    case("conv", "grid_sample_grid_shape", "GridSample",
         {"x": f32(1, 1, 4, 4), "g": f32(1, 3, 3, 3)}, ["input 1", "[1,3,3,3]"],
         "bad_grid_sample"),
    # quant
    case("quant", "quantize_scale_length", "QuantizeLinear",
         {"x": f32(2, 3), "s": np.ones(4, np.float32), "z": np.zeros(4, np.uint8)},
         ["input 1", "[4]"], "bad_quantize", attrs={"axis": 1}, out_type=TensorProto.UINT8),
    case("quant", "dequantize_axis_out_of_range", "DequantizeLinear",
         {"x": np.zeros((2, 3), np.uint8), "s": np.ones(3, np.float32)},
         ["input 0", "[2,3]", "axis"],
         "bad_dequantize", attrs={"axis": 5}),
    # cast
    case("cast", "cast_invalid_to", "Cast", {"x": f32(2, 3)}, ["'to'"], "bad_cast",
         attrs={"to": 999}),
    case("cast", "bitcast_width_mismatch", "BitCast", {"x": np.zeros(3, np.int32)},
         ["input 0", "int32", "int64"], "bad_bitcast", attrs={"to": TensorProto.INT64},
         out_type=TensorProto.INT64, opset=26),
    # rnn / attention
    case("rnn", "lstm_w_shape", "LSTM",
         {"x": f32(1, 1, 2), "w": f32(1, 12, 5), "r": f32(1, 12, 3)}, ["input 1", "[1,12,5]"],
         "bad_lstm", attrs={"hidden_size": 3}),
    case("rnn", "attention_heads_do_not_divide", "Attention",
         {"q": f32(1, 2, 6), "k": f32(1, 2, 6), "v": f32(1, 2, 6)},
         ["input 0", "[1,2,6]", "q_num_heads"],
         "bad_attention", attrs={"q_num_heads": 4, "kv_num_heads": 4}, opset=23),
    # sequence
    Case("sequence", "sequence_at_out_of_range", sequence_at_model, SEQ_FEEDS,
         ("node 'bad_sequence_at'", "(SequenceAt)", "input 1", "position 5")),
    # string
    case("string", "string_concat_no_broadcast", "StringConcat",
         {"a": strings("a", "b", "c"), "b": strings("x", "y")},
         ["input 1", "[2]", "input 0", "[3]"],
         "bad_string_concat", out_type=TensorProto.STRING),
    # element count that overflows
    case("overflow", "expand_count_overflows", "Expand", {"x": f32(1), "s": i64(BIG, BIG)},
         OVERFLOW_WORDS, "bad_expand_overflow"),
    case("overflow", "constant_of_shape_count_overflows", "ConstantOfShape",
         {"s": i64(BIG, BIG)}, OVERFLOW_WORDS, "bad_constant_of_shape"),
]


def params() -> list:
    return [pytest.param(c, id=f"{c.family}-{c.case_id}", marks=c.marks) for c in CASES]


def squeeze(text: str) -> str:
    """The message with spaces dropped, so '[2, 3]' and '[2,3]' both match '[2,3]'."""
    return text.replace(" ", "")


@pytest.mark.parametrize("bad", params())
def test_bad_input_fails_naming_node_op_and_input(bad: Case):
    model = bad.build()
    with pytest.raises(ember.EmberError) as info:
        session = ember.InferenceSession(model.SerializeToString(), providers=CPU)
        session.run(None, bad.feeds)
    error = info.value
    assert isinstance(error, RuntimeError)
    message = error.ember_message
    missing = [w for w in bad.words if squeeze(w) not in squeeze(message)]
    assert not missing, f"{missing} not in: {message}"


def test_process_survives_all_cases():
    """All the failures above left this process and ember working: a good model
    still runs."""
    feeds = {"a": f32(2, 3), "b": f32(3)}
    session = ember.InferenceSession(
        one_node("Add", feeds, name="good_add").SerializeToString(), providers=CPU)
    (y,) = session.run(None, feeds)
    np.testing.assert_array_equal(y, feeds["a"] + feeds["b"])
