/*
 * Sliding-window geometry of Conv and the pools: auto_pad, kernel_shape,
 * strides, dilations, pads and ceil_mode decoded at kernel_create, and the
 * output shape and pads resolved per input shape by the ONNX formulas, in
 * oneDNN's terms (dilation - 1; ceil_mode as a larger right pad).
 */
#include "onednn_kernel.h"

static ember_status decode_auto_pad(const onednn_kernel *k, const ember_node *node, int *out)
{
    static const char *const names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    char value[32];
    ember_status s = onednn_attr_string(k, node, "auto_pad", "NOTSET", value, sizeof value);
    if (s != EMBER_OK)
        return s;
    for (int i = 0; i < 4; i++) {
        if (strcmp(value, names[i]) == 0) {
            *out = i;
            return EMBER_OK;
        }
    }
    return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): unknown auto_pad '%s'", k->name,
                         k->op, value);
}

ember_status onednn_window_decode(const onednn_kernel *k, const ember_node *node,
                                  bool has_ceil_mode, onednn_window_attrs *out)
{
    int64_t ceil_mode = 0;
    memset(out, 0, sizeof *out);
    ember_status s = decode_auto_pad(k, node, &out->auto_pad);
    if (s == EMBER_OK)
        s = onednn_attr_ints(k, node, "kernel_shape", out->kernel, ONEDNN_MAX_RANK,
                             &out->n_kernel);
    if (s == EMBER_OK)
        s = onednn_attr_ints(k, node, "strides", out->strides, ONEDNN_MAX_RANK, &out->n_strides);
    if (s == EMBER_OK)
        s = onednn_attr_ints(k, node, "dilations", out->dilations, ONEDNN_MAX_RANK,
                             &out->n_dilations);
    if (s == EMBER_OK)
        s = onednn_attr_ints(k, node, "pads", out->pads, 2 * ONEDNN_MAX_RANK, &out->n_pads);
    if (s == EMBER_OK && has_ceil_mode)
        s = onednn_attr_int(k, node, "ceil_mode", 0, &ceil_mode);
    out->ceil_mode = ceil_mode != 0;
    return s;
}

/* Output size and pads of spatial dim d, by the ONNX formulas. */
static bool resolve_dim(const onednn_window_attrs *a, onednn_window *w, size_t d, int64_t in,
                        int64_t dilation)
{
    int64_t s = w->strides[d], span = (w->kernel[d] - 1) * dilation + 1;
    int64_t pad_l = 0, pad_r = 0;
    if (a->auto_pad == ONEDNN_PAD_SAME_UPPER || a->auto_pad == ONEDNN_PAD_SAME_LOWER) {
        w->out[d] = (in + s - 1) / s;
        int64_t total = (w->out[d] - 1) * s + span - in;
        total = total > 0 ? total : 0;
        pad_l = a->auto_pad == ONEDNN_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        pad_r = total - pad_l;
    } else {
        if (a->auto_pad == ONEDNN_PAD_NOTSET && a->n_pads > 0) {
            pad_l = a->pads[d];
            pad_r = a->pads[w->rank + d];
        }
        int64_t room = in + pad_l + pad_r - span;
        if (room < 0 || s <= 0)
            return false;
        w->out[d] = (a->ceil_mode ? (room + s - 1) / s : room / s) + 1;
        if (a->ceil_mode && (w->out[d] - 1) * s >= in + pad_l)
            w->out[d]--;
        /* oneDNN wants the right pad that yields exactly this output. */
        pad_r = (w->out[d] - 1) * s + span - in - pad_l;
    }
    w->pad_l[d] = pad_l;
    w->pad_r[d] = pad_r;
    return true;
}

ember_status onednn_window_resolve(const onednn_kernel *k, const onednn_window_attrs *a,
                                   const int64_t *x_dims, size_t x_rank, const int64_t *kernel,
                                   onednn_window *w)
{
    size_t rank = x_rank - 2;
    bool counts_ok = x_rank >= 3 && (a->n_kernel == 0 || a->n_kernel == rank) &&
                     (a->n_strides == 0 || a->n_strides == rank) &&
                     (a->n_dilations == 0 || a->n_dilations == rank) &&
                     (a->n_pads == 0 || a->n_pads == 2 * rank) &&
                     (kernel != NULL || a->n_kernel == rank);
    if (!counts_ok)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): window attributes do not match input rank %zu",
                             k->name, k->op, x_rank);
    w->rank = rank;
    for (size_t d = 0; d < rank; d++) {
        int64_t dilation = a->n_dilations ? a->dilations[d] : 1;
        w->kernel[d] = kernel != NULL ? kernel[d] : a->kernel[d];
        w->strides[d] = a->n_strides ? a->strides[d] : 1;
        w->dilates[d] = dilation - 1;
        if (dilation < 1 || w->kernel[d] < 1 || !resolve_dim(a, w, d, x_dims[d + 2], dilation))
            return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                                 "node '%s' (%s): the window does not fit spatial dim %zu (size "
                                 "%lld)",
                                 k->name, k->op, d, (long long)x_dims[d + 2]);
    }
    return EMBER_OK;
}
