/*
 * The registration table of the CPU provider's first operator families
 * (elementwise, activation, matmul, conv, pool, norm, tensor): which op and
 * opset range each kernel builder covers.
 */
#include "cpu_kernel.h"

const cpu_op_entry cpu_ops_base[] = {
    {"Add", 1, CPU_OPSET_MAX, cpu_check_binary, cpu_create_binary},
    {"Sub", 1, CPU_OPSET_MAX, cpu_check_binary, cpu_create_binary},
    {"Mul", 1, CPU_OPSET_MAX, cpu_check_binary, cpu_create_binary},
    {"Div", 1, CPU_OPSET_MAX, cpu_check_binary, cpu_create_binary},
    {"Relu", 1, CPU_OPSET_MAX, cpu_check_relu, cpu_create_unary},
    {"Sigmoid", 1, CPU_OPSET_MAX, cpu_check_float, cpu_create_unary},
    {"Tanh", 1, CPU_OPSET_MAX, cpu_check_float, cpu_create_unary},
    {"Clip", 1, CPU_OPSET_MAX, cpu_check_clip, cpu_create_clip},
    {"Softmax", 1, CPU_OPSET_MAX, cpu_check_float, cpu_create_softmax},
    {"Gemm", 1, CPU_OPSET_MAX, cpu_check_gemm, cpu_create_gemm},
    {"MatMul", 1, CPU_OPSET_MAX, cpu_check_matmul, cpu_create_matmul},
    {"Conv", 1, CPU_OPSET_MAX, cpu_check_float, cpu_create_conv},
    {"MaxPool", 1, CPU_OPSET_MAX, cpu_check_maxpool, cpu_create_maxpool},
    {"AveragePool", 1, CPU_OPSET_MAX, cpu_check_float, cpu_create_avgpool},
    {"GlobalAveragePool", 1, CPU_OPSET_MAX, cpu_check_float, cpu_create_global_avgpool},
    {"BatchNormalization", 1, CPU_OPSET_MAX, cpu_check_float, cpu_create_batchnorm},
    {"Reshape", 1, CPU_OPSET_MAX, cpu_check_any_fixed, cpu_create_reshape},
    {"Flatten", 1, CPU_OPSET_MAX, cpu_check_any_fixed, cpu_create_flatten},
    {"Transpose", 1, CPU_OPSET_MAX, cpu_check_any_fixed, cpu_create_transpose},
    {"Concat", 1, CPU_OPSET_MAX, cpu_check_any_fixed, cpu_create_concat},
    {"Identity", 1, CPU_OPSET_MAX, NULL, cpu_create_identity}, // any type, sequences too
    {"Constant", 1, CPU_OPSET_MAX, cpu_check_constant, cpu_create_constant},
    {"Shape", 1, CPU_OPSET_MAX, NULL, cpu_create_shape},
    {"Gather", 1, CPU_OPSET_MAX, cpu_check_gather, cpu_create_gather},
    {"Unsqueeze", 1, CPU_OPSET_MAX, cpu_check_any_fixed, cpu_create_unsqueeze},
    {"Squeeze", 1, CPU_OPSET_MAX, cpu_check_any_fixed, cpu_create_squeeze},
    {NULL, 0, 0, NULL, NULL},
};
