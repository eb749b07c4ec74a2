/*
 * Private header of the elementwise math family: the ops' shapes and codes,
 * the decoded node and the job that kernels_math.c builds and
 * kernels_math_eval.c runs.
 */
#ifndef EMBER_KERNELS_MATH_H
#define EMBER_KERNELS_MATH_H

#include "cpu_kernel.h"

/* Inputs a variadic op (Sum, Max, Min, Mean) may have. */
#define MATH_MAX_INPUTS 64

/* Output elements per parallel work item. */
#define MATH_PIECE 8192

enum math_shape { SH_UNARY, SH_FOLD, SH_CMP, SH_LOGIC, SH_WHERE };

enum math_op {
    OP_ABS, OP_NEG, OP_EXP, OP_LOG, OP_SQRT, OP_RECIP, OP_CEIL, OP_FLOOR, OP_ROUND, OP_SIGN,
    OP_SIN, OP_COS, OP_TAN, OP_ASIN, OP_ACOS, OP_ATAN, OP_SINH, OP_COSH, OP_ASINH, OP_ACOSH,
    OP_ATANH, OP_ERF, OP_ISINF, OP_ISNAN, OP_NOT, OP_BNOT,
    OP_POW, OP_MOD, OP_MAX, OP_MIN, OP_MEAN, OP_SUM, OP_PRELU, OP_SHIFT, OP_BAND, OP_BOR,
    OP_BXOR,
    OP_EQ, OP_GT, OP_GE, OP_LT, OP_LE,
    OP_AND, OP_OR, OP_XOR,
    OP_WHERE,
};

#define DT_BOOL CPU_DT(EMBER_DTYPE_BOOL)
#define DT_INTS (CPU_DT_SIGNED | CPU_DT_UNSIGNED)
#define DT_STRING CPU_DT(EMBER_DTYPE_STRING)

/* What the registration needs to know of an op: its shape, how many
 * inputs it takes and the types input 0 may have. */
typedef struct math_op_info {
    const char *name;
    int op;
    int shape;
    size_t min_in, max_in;
    uint32_t types;
} math_op_info;

/* The decoded node. */
typedef struct math_params {
    const math_op_info *info;
    bool fmod;                /* Mod: C fmod instead of the sign of the divisor */
    bool detect_pos, detect_neg; /* IsInf */
    bool shift_left;          /* BitShift */
    bool legacy_broadcast;    /* opset < 7 with broadcast=1: B aligned at axis */
    bool has_axis;
    int64_t axis;
} math_params;

enum { CL_NONE, CL_FLOAT, CL_SIGNED, CL_UNSIGNED, CL_BOOL, CL_STRING, CL_BYTES };

typedef struct math_job math_job;

/* Computes output element `index`; off[i] is input i's element offset. */
typedef void (*math_elem_fn)(const math_job *j, const size_t *off, size_t index);

/* Computes output elements [index, index + len), a run along the innermost
 * merged dim. */
typedef void (*math_row_fn)(const math_job *j, const size_t *off, size_t index, size_t len);

/* One elementwise run: the inputs, the output and the merged iteration
 * space (built by cpu_nway_init), and the element and row functions. */
struct math_job {
    const cpu_kernel *k;
    const math_params *p;
    math_elem_fn fn;
    math_row_fn row;
    size_t n_in;
    const unsigned char *in[MATH_MAX_INPUTS];
    uint32_t dtype[MATH_MAX_INPUTS];
    size_t esize[MATH_MAX_INPUTS];
    int cls; /* class of input 0 (input 1 for Where) */
    unsigned char *out;
    ember_tensor *out_tensor;
    uint32_t out_dtype;
    size_t out_esize;
    /* merged iteration space */
    size_t rank;
    int64_t dims[CPU_MAX_RANK];
    int64_t strides[MATH_MAX_INPUTS][CPU_MAX_RANK];
    size_t n_out;
    ember_status *status; /* string outputs: the first failure (serial runs only) */
};

/* The compute domain (CL_*) of a dtype. */
int cpu_dtype_class(uint32_t dtype);

/* Broadcasts the inputs' shapes (dims[i], rank[i]); writes the output
 * shape and fills the merged iteration space of j. False when they do not
 * broadcast. */
bool cpu_nway_init(math_job *j, const int64_t *const *dims, const size_t *ranks,
                   int64_t *out_dims, size_t *out_rank);

/* Runs pieces [begin, end) of the output: an odometer over the merged
 * dims keeps every input's offset; each run along the innermost dim goes
 * to the row function. */
void cpu_math_range(void *arg, size_t begin, size_t end);

void cpu_unary_elem(const math_job *j, const size_t *off, size_t index);

void cpu_fold_elem(const math_job *j, const size_t *off, size_t index);

void cpu_compare_elem(const math_job *j, const size_t *off, size_t index);

void cpu_logic_elem(const math_job *j, const size_t *off, size_t index);

void cpu_where_elem(const math_job *j, const size_t *off, size_t index);

/* Strings go through host->tensor_set_string; runs serially. */
void cpu_where_string_elem(const math_job *j, const size_t *off, size_t index);

/* The typed row for the job, or generic_row. */
math_row_fn cpu_choose_row(const math_job *j);

#endif /* EMBER_KERNELS_MATH_H */
