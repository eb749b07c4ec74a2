/*
 * Node views for providers: the functions behind the host table's node_*
 * slots (see ember_provider.h). They read a finalized graph and never
 * allocate; what they return is borrowed from the graph.
 */
#include "core/graph/graph_impl.h"

#include <string.h>

static const graph_value *input_value(const ember_node *n, size_t index)
{
    if (index >= n->node->n_inputs || n->node->inputs[index] < 0)
        return NULL;
    return &n->g->values[n->node->inputs[index]];
}

static const graph_value *output_value(const ember_node *n, size_t index)
{
    if (index >= n->node->n_outputs || n->node->outputs[index] < 0)
        return NULL;
    return &n->g->values[n->node->outputs[index]];
}

const char *graph_view_op_type(const ember_node *n)
{
    return n->node->op_type;
}

const char *graph_view_domain(const ember_node *n)
{
    return n->node->domain;
}

const char *graph_view_name(const ember_node *n)
{
    return n->node->name;
}

int64_t graph_view_opset(const ember_node *n)
{
    return n->node->opset;
}

size_t graph_view_input_count(const ember_node *n)
{
    return n->node->n_inputs;
}

size_t graph_view_output_count(const ember_node *n)
{
    return n->node->n_outputs;
}

bool graph_view_input_present(const ember_node *n, size_t index)
{
    return input_value(n, index) != NULL;
}

bool graph_view_input_type(const ember_node *n, size_t index, ember_type_info *out)
{
    const graph_value *v = input_value(n, index);
    if (!v)
        return false;
    *out = v->type;
    return true;
}

bool graph_view_output_type(const ember_node *n, size_t index, ember_type_info *out)
{
    const graph_value *v = output_value(n, index);
    if (!v)
        return false;
    *out = v->type;
    return true;
}

/* The `value` tensor of a Constant node, or NULL. */
static const ember_tensor *constant_value(const graph_node *node)
{
    if (strcmp(node->op_type, "Constant") != 0 || node->domain[0] != '\0')
        return NULL;
    const graph_attr *attr = graph_node_attr(node, "value");
    return attr && attr->tensor ? &attr->tensor->view : NULL;
}

const ember_tensor *graph_value_constant(const graph *g, const graph_value *v)
{
    if (v->is_outer_scope && g->parent) {
        const graph *owner = NULL;
        const graph_value *def = graph_value_resolve(g->parent, v->name, &owner);
        return def ? graph_value_constant(owner, def) : NULL;
    }
    if (v->initializer)
        return v->is_graph_input ? NULL : &v->initializer->view;
    if (v->producer >= 0 && (size_t)v->producer < g->n_nodes)
        return constant_value(&g->nodes[v->producer]);
    return NULL;
}

ember_node graph_node_view(const graph *g, const graph_node *node)
{
    return (ember_node){g, node, 0, NULL, NULL, NULL};
}

size_t graph_view_thread_count(const ember_node *n)
{
    return n->n_threads;
}

/* Inputs past 63 are never released (their constants stay). */
void graph_view_input_release(const ember_node *n, size_t index)
{
    if (!n->released || index >= 64 || !graph_view_input_constant(n, index))
        return;
    *n->released |= (uint64_t)1 << index;
    if (n->on_release)
        n->on_release(n->release_context, n->node->inputs[index]);
}

const ember_tensor *graph_view_input_constant(const ember_node *n, size_t index)
{
    const graph_value *v = input_value(n, index);
    return v ? graph_value_constant(n->g, v) : NULL;
}

bool graph_view_attr(const ember_node *n, const char *name, ember_attr *out)
{
    const graph_attr *attr = graph_node_attr(n->node, name);
    if (!attr)
        return false;
    *out = attr->view;
    if (attr->tensor)
        out->tensor = &attr->tensor->view;
    if (attr->subgraph)
        out->graph = (const ember_graph *)attr->subgraph;
    return true;
}

int64_t graph_view_input_value(const ember_node *n, size_t index)
{
    return index < n->node->n_inputs ? n->node->inputs[index] : -1;
}

int64_t graph_view_output_value(const ember_node *n, size_t index)
{
    return index < n->node->n_outputs ? n->node->outputs[index] : -1;
}
