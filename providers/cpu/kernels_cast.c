/*
 * Cast, CastLike and the other type conversions.
 */
#include "cpu_kernel.h"

const cpu_op_entry cpu_ops_cast[] = {
    {NULL, 0, 0, NULL, NULL},
};
