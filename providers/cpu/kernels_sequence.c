/*
 * Sequence and optional ops.
 */
#include "cpu_kernel.h"

const cpu_op_entry cpu_ops_sequence[] = {
    {NULL, 0, 0, NULL, NULL},
};
