/*
 * Partitioning: gives each node to the first provider in the user's
 * priority list that claims it, places every value on its producer's
 * device, and inserts copy steps where a value is read on another device.
 * The result is a flat, ordered list of steps over "slots" that
 * core/exec turns into a runnable program.
 *
 * Invariants of a partition_plan:
 *  - Slot i < g->n_values holds graph value i on its home device: the
 *    device of its producer's provider, or the host for graph inputs and
 *    initializers. Slots from g->n_values on are copies: `source` names
 *    the slot they copy and `device` where the copy lives.
 *  - There is at most one copy slot per (value, device).
 *  - Every graph input read by a kernel is read through a copy slot on the
 *    kernel's device, even on the host: at run time an input may arrive on
 *    any device (io binding), and the copy step then moves it, or aliases
 *    it when it is already where it is needed.
 *  - steps[] is in execution order: a copy step comes right before the
 *    first kernel that reads it; kernel steps follow g->node_order.
 *  - A group is a run of two or more consecutive kernel steps (no copy
 *    step between them) of one provider that can run groups. Its own
 *    step lists the slots its members read that no member writes, and
 *    the values members write that a non-member or the caller reads.
 */
#ifndef EMBER_CORE_PARTITION_H
#define EMBER_CORE_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "core/graph/graph.h"
#include "core/provider/provider.h"

/* node_provider value of a control-flow node (If, Loop, Scan): the core
 * runs it on the host, and its subgraphs are partitioned on their own. */
#define PARTITION_CORE (-1)

/* If, Loop, Scan and SequenceMap of the default domain: the ops with a
 * subgraph, which the core runs itself. */
static inline bool partition_is_control(const graph_node *node)
{
    return node->domain[0] == '\0' &&
           (strcmp(node->op_type, "If") == 0 || strcmp(node->op_type, "Loop") == 0 ||
            strcmp(node->op_type, "Scan") == 0 || strcmp(node->op_type, "SequenceMap") == 0);
}

/* A provider taking part in a session, with the device it runs on. */
typedef struct partition_provider {
    provider_instance *instance;
    ember_device device;
    const char *name;
} partition_provider;

typedef struct partition_slot {
    int value;           /* graph value held here */
    int source;          /* for copy slots: the slot copied from; else -1 */
    ember_device device; /* where the slot's tensor lives */
} partition_slot;

typedef struct partition_step {
    int node;            /* graph node index, or -1 for a copy step */
    int provider;        /* runs the step (PARTITION_CORE: control flow); for a copy, the
                            device-side provider (-1 = host) */
    size_t n_inputs;
    int *inputs;         /* slot indices, -1 = absent; a control-flow step lists after the
                            node's inputs the values its subgraphs capture */
    size_t n_outputs;
    int *outputs;        /* slot indices, -1 = absent */
} partition_step;

/* Members are steps[first_step, first_step + n_steps); `step` is the
 * group as one step: node = its first member, the group's provider, and
 * its inputs and outputs. */
typedef struct partition_group {
    size_t first_step;
    size_t n_steps;
    partition_step step;
} partition_group;

typedef struct partition_options {
    bool is_strict; /* a node providers[0] does not claim is an error */
    bool is_grouped; /* offer groups to providers that run them */
} partition_options;

typedef struct partition_plan {
    partition_options options;
    size_t n_slots;
    partition_slot *slots;
    size_t n_steps;
    partition_step *steps;
    int *node_provider;  /* g->n_nodes entries: index into the provider list, or
                            PARTITION_CORE */
    size_t n_copies;     /* copy steps between two different devices */
    size_t n_groups;
    partition_group *groups; /* in step order */
} partition_plan;

/* Assigns every node of `g` to one of `providers`, in priority order. A
 * node nobody claims is EMBER_E_NOT_IMPLEMENTED with a message naming
 * node, op, domain, opset and input types. */
ember_status partition_build(const graph *g, const partition_provider *providers,
                             size_t n_providers, partition_options options,
                             partition_plan **out);
void partition_destroy(partition_plan *plan);

/* True when both describe the same device. */
static inline bool partition_same_device(ember_device a, ember_device b)
{
    return a.type == b.type && a.id == b.id;
}

#endif /* EMBER_CORE_PARTITION_H */
