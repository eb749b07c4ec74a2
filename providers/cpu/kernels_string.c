/*
 * String ops.
 */
#include "cpu_kernel.h"

const cpu_op_entry cpu_ops_string[] = {
    {NULL, 0, 0, NULL, NULL},
};
