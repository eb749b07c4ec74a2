/*
 * Sliding-window geometry shared by Conv, MaxPool and AveragePool: the
 * attributes (auto_pad, kernel_shape, strides, dilations, pads, ceil_mode)
 * decoded once at kernel_create, and the output shape and effective pads
 * resolved per input shape at run time, following the ONNX spec formulas.
 */
#include "cpu_kernel.h"

#include <stdio.h>

static ember_status decode_auto_pad(const cpu_kernel *k, const ember_node *node, int *out)
{
    static const char *const names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    char value[32];
    ember_status s = cpu_attr_string(k, node, "auto_pad", "NOTSET", value, sizeof value);
    if (s != EMBER_OK)
        return s;
    for (int i = 0; i < 4; i++) {
        if (strcmp(value, names[i]) == 0) {
            *out = i;
            return EMBER_OK;
        }
    }
    return k->host->fail(EMBER_E_INVALID_MODEL,
                         "node '%s' (%s): auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER "
                         "or VALID",
                         k->name, k->op, value);
}

/* Every value of an attribute list must be >= min. */
static ember_status check_min(const cpu_kernel *k, const char *name, const int64_t *v, size_t n,
                              int64_t min)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] < min)
            return k->host->fail(EMBER_E_INVALID_MODEL,
                                 "node '%s' (%s): attribute '%s' has value %lld at %zu; values "
                                 "must be >= %lld",
                                 k->name, k->op, name, (long long)v[i], i, (long long)min);
    }
    return EMBER_OK;
}

static ember_status decode_lists(const cpu_kernel *k, const ember_node *node,
                                 cpu_window_attrs *w)
{
    ember_status s = cpu_attr_ints(k, node, "kernel_shape", w->kernel, CPU_MAX_RANK,
                                   &w->n_kernel);
    if (s == EMBER_OK)
        s = cpu_attr_ints(k, node, "strides", w->strides, CPU_MAX_RANK, &w->n_strides);
    if (s == EMBER_OK)
        s = cpu_attr_ints(k, node, "dilations", w->dilations, CPU_MAX_RANK, &w->n_dilations);
    if (s == EMBER_OK)
        s = cpu_attr_ints(k, node, "pads", w->pads, 2 * CPU_MAX_RANK, &w->n_pads);
    if (s == EMBER_OK)
        s = check_min(k, "kernel_shape", w->kernel, w->n_kernel, 1);
    if (s == EMBER_OK)
        s = check_min(k, "strides", w->strides, w->n_strides, 1);
    if (s == EMBER_OK)
        s = check_min(k, "dilations", w->dilations, w->n_dilations, 1);
    if (s == EMBER_OK)
        s = check_min(k, "pads", w->pads, w->n_pads, 0);
    if (s == EMBER_OK && w->n_pads % 2 != 0)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'pads' has %zu values; it needs two "
                             "per spatial dim",
                             k->name, k->op, w->n_pads);
    return s;
}

ember_status cpu_window_decode(const cpu_kernel *k, const ember_node *node, bool has_ceil_mode,
                               cpu_window_attrs *out)
{
    memset(out, 0, sizeof *out);
    int64_t ceil_mode = 0;
    ember_status s = decode_auto_pad(k, node, &out->auto_pad);
    if (s == EMBER_OK)
        s = decode_lists(k, node, out);
    if (s == EMBER_OK && has_ceil_mode)
        s = cpu_attr_int(k, node, "ceil_mode", 0, &ceil_mode);
    out->ceil_mode = ceil_mode != 0;
    return s;
}

/* ---- resolve ----------------------------------------------------------- */

static ember_status check_count(const cpu_kernel *k, const ember_tensor *x, const char *name,
                                size_t n, size_t want)
{
    if (n == 0 || n == want)
        return EMBER_OK;
    char why[128];
    snprintf(why, sizeof why, "attribute '%s' has %zu values for %zu spatial dims", name, n,
             want / (strcmp(name, "pads") == 0 ? 2 : 1));
    return cpu_fail_shape(k, 0, x, why);
}

/* Output size and pads of spatial dim d. */
static bool resolve_dim(const cpu_window_attrs *a, cpu_window *w, size_t d)
{
    int64_t in = w->in[d], s = w->stride[d];
    int64_t span = (w->kernel[d] - 1) * w->dilation[d] + 1;
    if (a->auto_pad == CPU_PAD_SAME_UPPER || a->auto_pad == CPU_PAD_SAME_LOWER) {
        w->out[d] = (in + s - 1) / s;
        int64_t total = (w->out[d] - 1) * s + span - in;
        total = total > 0 ? total : 0;
        w->pad_begin[d] = a->auto_pad == CPU_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        w->pad_end[d] = total - w->pad_begin[d];
        return true;
    }
    bool explicit_pads = a->auto_pad == CPU_PAD_NOTSET && a->n_pads > 0;
    w->pad_begin[d] = explicit_pads ? a->pads[d] : 0;
    w->pad_end[d] = explicit_pads ? a->pads[w->rank + d] : 0;
    int64_t room = in + w->pad_begin[d] + w->pad_end[d] - span;
    if (room < 0)
        return false;
    w->out[d] = (a->ceil_mode ? (room + s - 1) / s : room / s) + 1;
    /* The last window must start inside the input or its leading pad. */
    if (a->ceil_mode && (w->out[d] - 1) * s >= in + w->pad_begin[d])
        w->out[d]--;
    return true;
}

ember_status cpu_window_resolve(const cpu_kernel *k, const cpu_window_attrs *attrs,
                                const ember_tensor *x, const int64_t *kernel, cpu_window *w)
{
    if (x->rank < 3)
        return cpu_fail_shape(k, 0, x, "expected [N, C, spatial...] with a spatial dim");
    w->rank = x->rank - 2;
    ember_status s = check_count(k, x, "kernel_shape", attrs->n_kernel, w->rank);
    if (s == EMBER_OK)
        s = check_count(k, x, "strides", attrs->n_strides, w->rank);
    if (s == EMBER_OK)
        s = check_count(k, x, "dilations", attrs->n_dilations, w->rank);
    if (s == EMBER_OK)
        s = check_count(k, x, "pads", attrs->n_pads, 2 * w->rank);
    if (s != EMBER_OK)
        return s;
    if (kernel == NULL && attrs->n_kernel == 0)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'kernel_shape' is required", k->name,
                             k->op);
    w->in_size = w->out_size = w->kernel_size = 1;
    for (size_t d = 0; d < w->rank; d++) {
        w->in[d] = x->dims[d + 2];
        w->kernel[d] = kernel != NULL ? kernel[d] : attrs->kernel[d];
        w->stride[d] = attrs->n_strides ? attrs->strides[d] : 1;
        w->dilation[d] = attrs->n_dilations ? attrs->dilations[d] : 1;
        if (!resolve_dim(attrs, w, d))
            return cpu_fail_shape(k, 0, x, "the window is larger than the padded input");
        w->in_size *= (size_t)w->in[d];
        w->out_size *= (size_t)w->out[d];
        w->kernel_size *= (size_t)w->kernel[d];
    }
    return EMBER_OK;
}
