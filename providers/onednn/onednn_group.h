/*
 * Private to the oneDNN provider's groups (onednn_group*.c): how a group
 * is described (values and steps, thread-independent), and what a program
 * built for one thread count and one set of input shapes holds.
 */
#ifndef EMBER_ONEDNN_GROUP_H
#define EMBER_ONEDNN_GROUP_H

#include "onednn_kernel.h"

/* A value the group touches, as the graph types it: rank -1 and dims -1
 * where unknown (a program computes the real shapes). */
typedef struct group_value {
    int64_t id;
    int input;  /* index among the group's inputs, or -1 */
    int output; /* index among the group's outputs, or -1 */
    uint32_t dtype; /* float32 or bfloat16 */
    int rank;
    int64_t dims[ONEDNN_MAX_RANK];
    const void *data; /* a constant the group made itself (folded weights), or NULL */
} group_value;

/* One primitive run: a member's kernel, reading in_value[] and writing
 * out_value[] (indices into values; -1 = absent), after copying sum_value
 * into the destination when it fused an Add (-2: the step does not run,
 * its node was fused into a later one). `in` holds which inputs are
 * present and the constants' data; a program fills in the shapes. */
typedef struct group_step {
    onednn_kernel *k;
    onednn_shapes in;
    int in_value[ONEDNN_MAX_IO];
    int out_value[ONEDNN_MAX_IO];
    int sum_value;
    float *folded; /* weights then bias of a Conv a BatchNormalization folded into; owned */
} group_step;

/* Where a value lives during a run of one program. */
typedef struct value_home {
    bool has_md;
    dnnl_memory_desc_t md; /* the layout it is kept in */
    int block;             /* arena block, or -1 (the caller's tensor) */
} value_home;

/* How one plan argument is bound: the value's memory seen as `view`
 * (first made dense in dense_block by `densify` when the value is kept
 * blocked but the plan reads a dense view of it), converted by `convert`
 * into temp_block when set. */
typedef struct arg_binding {
    int value;                 /* -1: a constant the plan owns */
    dnnl_primitive_t densify;  /* owned */
    dnnl_memory_desc_t dense_md;
    int dense_block;
    dnnl_memory_desc_t view;
    dnnl_primitive_t convert;  /* view -> plan md; the plan's own reorder */
    int temp_block;
} arg_binding;

typedef struct step_program {
    onednn_plan *plan;
    arg_binding args[ONEDNN_MAX_ARGS];
    dnnl_primitive_t sum_convert; /* sum operand -> dst layout, or NULL (memcpy) */
    dnnl_memory_desc_t sum_view;
    bool sum_in_place;            /* dst already is the operand's block */
    dnnl_primitive_t export_convert[ONEDNN_MAX_IO]; /* blocked output -> caller's tensor */
    dnnl_memory_desc_t export_md[ONEDNN_MAX_IO];
} step_program;

typedef struct block {
    size_t bytes, offset;
    int first, last; /* steps during which it is live */
} block;

/* Everything built for one thread count and one set of input shapes
 * (the key: thread count, then each group input's rank and dims). */
typedef struct group_program {
    struct group_program *next;
    size_t n_threads;
    size_t n_key;
    int64_t *key;
    size_t *rank;                      /* per value, as this program computes it */
    int64_t (*dims)[ONEDNN_MAX_RANK];
    step_program *steps;
    value_home *homes;
    block *blocks;
    size_t n_blocks, cap_blocks;
    size_t arena_bytes, scratch_offset, scratch_bytes;
} group_program;

/* A run's memory, kept for the next run once this one is done. */
typedef struct arena {
    struct arena *next;
    size_t bytes;
    void *base;
} arena;

/* A group: its values and steps (fixed after group_create), and the
 * programs and free arenas of its runs. */
struct onednn_group {
    size_t n_values, cap_values, n_steps, n_inputs, n_outputs;
    group_value *values;
    group_step *steps;
    /* Both guarded by the group kernel's lock after create. */
    group_program *programs;
    arena *free_arenas;
};

/* onednn_group_fuse.c: folds activations, biases, sums and GELUs into the
 * steps that can take them as post-ops (see onednn_group.c). */
void onednn_group_fuse(onednn_group *g);
/* Whether step s runs a primitive (false once fused into another). */
bool onednn_step_runs(const group_step *s);

/* onednn_group_program.c: programs. The key is the thread count, then
 * each group input's rank and dims. */
ember_status onednn_program_build(const onednn_group *g, const int64_t *key, size_t n_key,
                                  group_program **out);
void onednn_program_free(const onednn_group *g, group_program *p);
bool onednn_program_has_key(const group_program *p, const int64_t *key, size_t n_key);
/* Whether md is dense row-major (no blocking, no padding). */
bool onednn_md_is_dense(const dnnl_memory_desc_t *md);
/* The plan's destination argument, or NULL. */
const onednn_arg *onednn_dst_arg(const onednn_plan *plan);

#endif /* EMBER_ONEDNN_GROUP_H */
