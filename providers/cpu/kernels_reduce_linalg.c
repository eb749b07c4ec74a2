/*
 * Part of the reduce family: Det and Einsum.
 */
#include "kernels_reduce.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- Det ------------------------------------------------------------------- */

/* Determinant of the n x n matrix a (destroyed) by Gaussian elimination
 * with partial pivoting. */
static double det_lu(double *a, size_t n)
{
    double det = 1.0;
    for (size_t col = 0; col < n; col++) {
        size_t piv = col;
        for (size_t r = col + 1; r < n; r++)
            if (fabs(a[r * n + col]) > fabs(a[piv * n + col]))
                piv = r;
        if (a[piv * n + col] == 0.0)
            return 0.0;
        if (piv != col) {
            for (size_t j = 0; j < n; j++) {
                double t = a[col * n + j];
                a[col * n + j] = a[piv * n + j];
                a[piv * n + j] = t;
            }
            det = -det;
        }
        double d = a[col * n + col];
        det *= d;
        for (size_t r = col + 1; r < n; r++) {
            double f = a[r * n + col] / d;
            for (size_t j = col; j < n; j++)
                a[r * n + j] -= f * a[col * n + j];
        }
    }
    return det;
}

static ember_status det_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    double *xv;
    ember_status s = cpu_rd_input(k, ctx, 0, &x, &xv);
    if (s != EMBER_OK)
        return s;
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
        return cpu_fail_shape(k, 0, x, "expected [..., M, M]");
    if (!(CPU_DT(x->dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, 0, x->dtype);
    size_t m = (size_t)x->dims[x->rank - 1], batch = cpu_numel(x->dims, x->rank - 2);
    for (size_t b = 0; b < batch; b++)
        xv[b] = det_lu(xv + b * m * m, m);
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank - 2, &y);
    if (s == EMBER_OK)
        cpu_rd_store(y, xv, batch);
    return s;
}

ember_status cpu_det_create(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = det_run;
    return EMBER_OK;
}

/* ---- Einsum ----------------------------------------------------------------- */

/* Labels: 'A'-'Z' are 0-25, 'a'-'z' 26-51 (so label order is ASCII
 * order), and the dims an ellipsis stands for are 52 onward, aligned to
 * the right across the operands. */
#define EIN_LETTERS 52
#define EIN_LABELS (EIN_LETTERS + CPU_MAX_RANK)
#define EIN_MAX_INPUTS 16

typedef struct ein_params {
    char equation[512];
} ein_params;

/* One parsed operand (or the output): its labels, one per dim. */
typedef struct ein_term {
    int labels[CPU_MAX_RANK];
    size_t rank;
} ein_term;

typedef struct ein_plan {
    size_t n_in;
    ein_term in[EIN_MAX_INPUTS], out;
    int64_t dim[EIN_LABELS];
    int order[EIN_LABELS]; /* output labels, then the summed ones */
    size_t n_order, n_out_labels;
} ein_plan;

static int ein_letter(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return 26 + (c - 'a');
    return -1;
}

/* Parses term [b, e) for an operand of rank `rank` (SIZE_MAX: the
 * output, whose ellipsis takes `ell` dims). */
static bool ein_parse_term(const char *b, const char *e, size_t rank, size_t ell_max,
                           ein_term *t, size_t *ell_rank)
{
    size_t letters = 0;
    bool has_ell = false;
    for (const char *c = b; c < e; c++)
        letters += ein_letter(*c) >= 0;
    for (const char *c = b; c < e; c++)
        has_ell = has_ell || *c == '.';
    size_t ell = rank == SIZE_MAX ? (has_ell ? ell_max : 0) : rank - letters;
    if (rank != SIZE_MAX && (letters > rank || (!has_ell && ell != 0)))
        return false;
    *ell_rank = ell;
    t->rank = 0;
    for (const char *c = b; c < e; c++) {
        if (*c == ' ')
            continue;
        if (*c == '.') {
            if (e - c < 3 || c[1] != '.' || c[2] != '.' || ell > CPU_MAX_RANK)
                return false;
            for (size_t j = 0; j < ell; j++)
                t->labels[t->rank++] = EIN_LETTERS + (int)(ell_max - ell + j);
            c += 2;
        } else if (ein_letter(*c) >= 0 && t->rank < CPU_MAX_RANK) {
            t->labels[t->rank++] = ein_letter(*c);
        } else {
            return false;
        }
    }
    return true;
}

/* The implicit output: the ellipsis dims, then the letters seen once. */
static void ein_implicit(ein_plan *pl, size_t ell_max)
{
    size_t count[EIN_LETTERS] = {0};
    for (size_t i = 0; i < pl->n_in; i++)
        for (size_t d = 0; d < pl->in[i].rank; d++)
            if (pl->in[i].labels[d] < EIN_LETTERS)
                count[pl->in[i].labels[d]]++;
    pl->out.rank = 0;
    for (size_t j = 0; j < ell_max; j++)
        pl->out.labels[pl->out.rank++] = EIN_LETTERS + (int)j;
    for (int l = 0; l < EIN_LETTERS && pl->out.rank < CPU_MAX_RANK; l++)
        if (count[l] == 1)
            pl->out.labels[pl->out.rank++] = l;
}

/* Records each label's size; false on a conflict (1 broadcasts). */
static bool ein_dims(ein_plan *pl, const ember_tensor *const *xs)
{
    for (size_t l = 0; l < EIN_LABELS; l++)
        pl->dim[l] = -1;
    for (size_t i = 0; i < pl->n_in; i++) {
        for (size_t d = 0; d < pl->in[i].rank; d++) {
            int l = pl->in[i].labels[d];
            int64_t v = xs[i]->dims[d];
            if (pl->dim[l] < 0 || pl->dim[l] == 1)
                pl->dim[l] = v;
            else if (v != 1 && v != pl->dim[l])
                return false;
        }
    }
    return true;
}

/* Output labels first, then every other used label. */
static bool ein_order(ein_plan *pl)
{
    bool used[EIN_LABELS] = {false};
    pl->n_order = 0;
    for (size_t d = 0; d < pl->out.rank; d++) {
        int l = pl->out.labels[d];
        if (used[l] || pl->dim[l] < 0)
            return false;
        used[l] = true;
        pl->order[pl->n_order++] = l;
    }
    pl->n_out_labels = pl->n_order;
    for (int l = 0; l < EIN_LABELS; l++)
        if (!used[l] && pl->dim[l] >= 0)
            pl->order[pl->n_order++] = l;
    return true;
}

static bool ein_parse(const char *eq, ein_plan *pl, const ember_tensor *const *xs)
{
    const char *arrow = strstr(eq, "->"), *end = arrow ? arrow : eq + strlen(eq);
    size_t ell_max = 0, ell, n = 0;
    const char *b = eq;
    for (const char *c = eq;; c++) {
        if (c == end || *c == ',') {
            if (n >= pl->n_in || !ein_parse_term(b, c, xs[n]->rank, 0, &pl->in[n], &ell))
                return false;
            ell_max = ell > ell_max ? ell : ell_max;
            n++;
            b = c + 1;
            if (c == end)
                break;
        }
    }
    if (n != pl->n_in)
        return false;
    for (size_t i = 0; i < n; i++) { /* again, now that ell_max is known */
        const char *tb = eq, *te;
        for (size_t j = 0; j < i; j++)
            tb = strchr(tb, ',') + 1;
        te = strchr(tb, ',');
        te = te && te < end ? te : end;
        if (!ein_parse_term(tb, te, xs[i]->rank, ell_max, &pl->in[i], &ell))
            return false;
    }
    if (arrow) {
        if (!ein_parse_term(arrow + 2, arrow + strlen(arrow), SIZE_MAX, ell_max, &pl->out, &ell))
            return false;
    } else {
        ein_implicit(pl, ell_max);
    }
    return ein_dims(pl, xs) && ein_order(pl);
}

/* Sums the products over the plan's loops into acc[] (output row-major). */
static void ein_compute(const ein_plan *pl, const ember_tensor *const *xs, double *const *vals,
                        double *acc)
{
    size_t stride[EIN_MAX_INPUTS][EIN_LABELS] = {{0}}, idx[EIN_LABELS] = {0};
    size_t off[EIN_MAX_INPUTS] = {0}, total = 1, inner = 1;
    for (size_t i = 0; i < pl->n_in; i++) {
        size_t st = 1;
        for (size_t d = xs[i]->rank; d-- > 0;) {
            for (size_t o = 0; o < pl->n_order; o++)
                if (pl->order[o] == pl->in[i].labels[d] && xs[i]->dims[d] != 1)
                    stride[i][o] += st;
            st *= (size_t)xs[i]->dims[d];
        }
    }
    for (size_t o = 0; o < pl->n_order; o++)
        total *= (size_t)pl->dim[pl->order[o]];
    for (size_t o = pl->n_out_labels; o < pl->n_order; o++)
        inner *= (size_t)pl->dim[pl->order[o]];
    for (size_t it = 0; it < total; it++) {
        double prod = 1.0;
        for (size_t i = 0; i < pl->n_in; i++)
            prod *= vals[i][off[i]];
        acc[it / inner] += prod;
        for (size_t o = pl->n_order; o-- > 0;) {
            idx[o]++;
            for (size_t i = 0; i < pl->n_in; i++)
                off[i] += stride[i][o];
            if ((int64_t)idx[o] < pl->dim[pl->order[o]])
                break;
            for (size_t i = 0; i < pl->n_in; i++)
                off[i] -= stride[i][o] * idx[o];
            idx[o] = 0;
        }
    }
}

static ember_status ein_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ein_params *p = k->params;
    ein_plan pl;
    const ember_tensor *xs[EIN_MAX_INPUTS];
    double *vals[EIN_MAX_INPUTS], *acc;
    pl.n_in = k->host->ctx_input_count(ctx);
    if (pl.n_in == 0 || pl.n_in > EIN_MAX_INPUTS)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED, "node '%s' (%s): %zu inputs", k->name,
                             k->op, pl.n_in);
    for (size_t i = 0; i < pl.n_in; i++) {
        ember_status s = cpu_rd_input(k, ctx, i, &xs[i], &vals[i]);
        if (s != EMBER_OK)
            return s;
    }
    if (!ein_parse(p->equation, &pl, xs))
        return cpu_fail_shape(k, 0, xs[0], "the operands do not match the equation");
    int64_t odims[CPU_MAX_RANK];
    for (size_t d = 0; d < pl.out.rank; d++)
        odims[d] = pl.dim[pl.out.labels[d]];
    size_t n_out = cpu_numel(odims, pl.out.rank);
    ember_status s = cpu_rd_scratch(k, ctx, n_out, &acc);
    if (s != EMBER_OK)
        return s;
    memset(acc, 0, n_out * sizeof *acc);
    ein_compute(&pl, xs, vals, acc);
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, xs[0]->dtype, odims, pl.out.rank, &y);
    if (s == EMBER_OK)
        cpu_rd_store(y, acc, n_out);
    return s;
}

ember_status cpu_ein_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(ein_params));
    if (s != EMBER_OK)
        return s;
    ein_params *p = k->params;
    s = cpu_attr_string(k, node, "equation", "", p->equation, sizeof p->equation);
    if (s == EMBER_OK && p->equation[0] == '\0')
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute equation is missing", k->name, k->op);
    k->run = ein_run;
    return s;
}
