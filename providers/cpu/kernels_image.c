/*
 * Image and spatial ops: resizing, sampling, pooling variants, transposed conv.
 */
#include "cpu_kernel.h"

const cpu_op_entry cpu_ops_image[] = {
    {NULL, 0, 0, NULL, NULL},
};
