/*
 * Elementwise math, comparison, logic and bitwise ops.
 */
#include "cpu_kernel.h"

const cpu_op_entry cpu_ops_math[] = {
    {NULL, 0, 0, NULL, NULL},
};
