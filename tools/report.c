/*
 * Printing helpers shared by `ember run` and `ember info`: shapes with
 * symbolic dims, and a short numeric summary of an output tensor.
 */
#include <math.h>
#include <string.h>

#include "cli.h"

#define N_FIRST_VALUES 6

static size_t append(char *buf, size_t size, size_t n, const char *text)
{
    if (n < size)
        n += (size_t)snprintf(buf + n, size - n, "%s", text);
    return n;
}

void report_format_dims(char *buf, size_t size, const int64_t *dims, size_t rank)
{
    size_t n = append(buf, size, 0, "[");
    for (size_t i = 0; i < rank; i++) {
        char dim[32];
        snprintf(dim, sizeof dim, "%s%lld", i ? "," : "", (long long)dims[i]);
        n = append(buf, size, n, dim);
    }
    append(buf, size, n, "]");
}

void report_format_shape(char *buf, size_t size, const ember_io_info *info)
{
    if (info->rank < 0) {
        snprintf(buf, size, "[...]");
        return;
    }
    size_t n = append(buf, size, 0, "[");
    for (int64_t i = 0; i < info->rank; i++) {
        char dim[96];
        const char *name = info->dim_names ? info->dim_names[i] : NULL;
        if (name && name[0])
            snprintf(dim, sizeof dim, "%s%s", i ? "," : "", name);
        else if (info->dims[i] < 0)
            snprintf(dim, sizeof dim, "%s?", i ? "," : "");
        else
            snprintf(dim, sizeof dim, "%s%lld", i ? "," : "", (long long)info->dims[i]);
        n = append(buf, size, n, dim);
    }
    append(buf, size, n, "]");
}

/* Element i as a double; false for dtypes without a numeric reading. */
static bool element_as_double(ember_dtype dtype, const void *data, size_t i, double *out)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: *out = ((const float *)data)[i]; return true;
    case EMBER_DTYPE_FLOAT64: *out = ((const double *)data)[i]; return true;
    case EMBER_DTYPE_FLOAT16: *out = half_to_float(((const uint16_t *)data)[i]); return true;
    case EMBER_DTYPE_INT8: *out = ((const int8_t *)data)[i]; return true;
    case EMBER_DTYPE_UINT8: *out = ((const uint8_t *)data)[i]; return true;
    case EMBER_DTYPE_BOOL: *out = ((const uint8_t *)data)[i] != 0; return true;
    case EMBER_DTYPE_INT16: *out = ((const int16_t *)data)[i]; return true;
    case EMBER_DTYPE_UINT16: *out = ((const uint16_t *)data)[i]; return true;
    case EMBER_DTYPE_INT32: *out = ((const int32_t *)data)[i]; return true;
    case EMBER_DTYPE_UINT32: *out = ((const uint32_t *)data)[i]; return true;
    case EMBER_DTYPE_INT64: *out = (double)((const int64_t *)data)[i]; return true;
    case EMBER_DTYPE_UINT64: *out = (double)((const uint64_t *)data)[i]; return true;
    default: return false;
    }
}

static void print_strings(FILE *out, const ember_value *value)
{
    const ember_string *s = ember_value_get_data(value);
    size_t n = ember_value_get_element_count(value);
    fprintf(out, "    first:");
    for (size_t i = 0; i < n && i < N_FIRST_VALUES; i++)
        fprintf(out, " \"%.*s\"", (int)(s[i].size > 32 ? 32 : s[i].size), s[i].data);
    fprintf(out, "%s\n", n > N_FIRST_VALUES ? " ..." : "");
}

static void print_first(FILE *out, ember_dtype dtype, const void *data, size_t n)
{
    fprintf(out, "    first:");
    for (size_t i = 0; i < n && i < N_FIRST_VALUES; i++) {
        double v = 0;
        element_as_double(dtype, data, i, &v);
        fprintf(out, " %.6g", v);
    }
    fprintf(out, "%s\n", n > N_FIRST_VALUES ? " ..." : "");
}

void report_value_summary(FILE *out, const ember_value *value)
{
    ember_dtype dtype = ember_value_get_dtype(value);
    size_t n = ember_value_get_element_count(value);
    const void *data = ember_value_get_data(value);
    double v;
    if (dtype == EMBER_DTYPE_STRING) {
        print_strings(out, value);
        return;
    }
    if (n == 0 || !data || !element_as_double(dtype, data, 0, &v)) {
        fprintf(out, "    (%s)\n", n == 0 ? "empty" : "no numeric summary for this type");
        return;
    }
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    size_t n_nan = 0;
    for (size_t i = 0; i < n; i++) {
        element_as_double(dtype, data, i, &v);
        if (isnan(v)) {
            n_nan++;
            continue;
        }
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
    }
    size_t n_num = n - n_nan;
    fprintf(out, "    min %.6g  max %.6g  mean %.6g", n_num ? lo : NAN, n_num ? hi : NAN,
            n_num ? sum / (double)n_num : NAN);
    fprintf(out, n_nan ? "  (%zu NaN)\n" : "\n", n_nan);
    print_first(out, dtype, data, n);
}
