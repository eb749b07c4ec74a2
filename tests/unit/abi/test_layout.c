/*
 * Freezes the ABI mechanically: the offset and size of every field of
 * every struct that crosses the provider boundary must equal the checked-in
 * golden list (tests/unit/abi/<struct>_1.layout). Reordering, inserting or
 * resizing a field fails here; appending one fails until the golden file
 * gains the new band, which makes every ABI change a reviewed edit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <ember/ember_provider.h>

#include "abi_tests.h"

typedef struct field {
    const char *name;
    size_t offset, size;
} field;

#define FIELD(type, member) {#member, offsetof(type, member), sizeof(((type *)0)->member)}
#define N_FIELDS(fields) (sizeof(fields) / sizeof((fields)[0]))

/* ---- the fields as the headers declare them ---------------------------------------- */

static const field provider_api_fields[] = {
    FIELD(ember_provider_api, abi_version),   FIELD(ember_provider_api, struct_size),
    FIELD(ember_provider_api, name),          FIELD(ember_provider_api, device_name),
    FIELD(ember_provider_api, device_type),   FIELD(ember_provider_api, flags),
    FIELD(ember_provider_api, probe),         FIELD(ember_provider_api, create),
    FIELD(ember_provider_api, destroy),       FIELD(ember_provider_api, claim),
    FIELD(ember_provider_api, kernel_create), FIELD(ember_provider_api, kernel_run),
    FIELD(ember_provider_api, kernel_destroy), FIELD(ember_provider_api, alloc),
    FIELD(ember_provider_api, free),          FIELD(ember_provider_api, copy),
    FIELD(ember_provider_api, synchronize),   FIELD(ember_provider_api, shutdown),
    FIELD(ember_provider_api, group_create),
};

static const field host_api_fields[] = {
    FIELD(ember_host_api, abi_version),
    FIELD(ember_host_api, struct_size),
    FIELD(ember_host_api, fail),
    FIELD(ember_host_api, log),
    FIELD(ember_host_api, node_op_type),
    FIELD(ember_host_api, node_domain),
    FIELD(ember_host_api, node_name),
    FIELD(ember_host_api, node_opset),
    FIELD(ember_host_api, node_input_count),
    FIELD(ember_host_api, node_output_count),
    FIELD(ember_host_api, node_input_present),
    FIELD(ember_host_api, node_input_type),
    FIELD(ember_host_api, node_output_type),
    FIELD(ember_host_api, node_input_constant),
    FIELD(ember_host_api, node_attr),
    FIELD(ember_host_api, ctx_input_count),
    FIELD(ember_host_api, ctx_input),
    FIELD(ember_host_api, ctx_output_count),
    FIELD(ember_host_api, ctx_output),
    FIELD(ember_host_api, ctx_scratch),
    FIELD(ember_host_api, ctx_parallel_for),
    FIELD(ember_host_api, ctx_thread_count),
    FIELD(ember_host_api, tensor_set_string),
    FIELD(ember_host_api, ctx_input_kind),
    FIELD(ember_host_api, ctx_sequence_length),
    FIELD(ember_host_api, ctx_sequence_item),
    FIELD(ember_host_api, ctx_sequence_dtype),
    FIELD(ember_host_api, ctx_output_sequence),
    FIELD(ember_host_api, ctx_output_item),
    FIELD(ember_host_api, ctx_output_none),
    FIELD(ember_host_api, node_input_value),
    FIELD(ember_host_api, node_output_value),
    FIELD(ember_host_api, group_node_count),
    FIELD(ember_host_api, group_node),
    FIELD(ember_host_api, group_input_count),
    FIELD(ember_host_api, group_input_value),
    FIELD(ember_host_api, group_output_count),
    FIELD(ember_host_api, group_output_value),
    FIELD(ember_host_api, node_thread_count),
    FIELD(ember_host_api, node_input_release),
};

static const field tensor_fields[] = {
    FIELD(ember_tensor, data),        FIELD(ember_tensor, dims),
    FIELD(ember_tensor, rank),        FIELD(ember_tensor, dtype),
    FIELD(ember_tensor, device_type), FIELD(ember_tensor, device_id),
};

static const field type_info_fields[] = {
    FIELD(ember_type_info, dtype),
    FIELD(ember_type_info, rank),
    FIELD(ember_type_info, dims),
};

static const field attr_fields[] = {
    FIELD(ember_attr, type),    FIELD(ember_attr, i),      FIELD(ember_attr, f),
    FIELD(ember_attr, s),       FIELD(ember_attr, ints),   FIELD(ember_attr, floats),
    FIELD(ember_attr, strings), FIELD(ember_attr, tensor), FIELD(ember_attr, graph),
    FIELD(ember_attr, n),
};

static const field option_fields[] = {FIELD(ember_option, key), FIELD(ember_option, value)};
static const field device_fields[] = {FIELD(ember_device, type), FIELD(ember_device, id)};
static const field string_fields[] = {FIELD(ember_string, data), FIELD(ember_string, size)};

/* ---- comparison with the golden file ----------------------------------------------- */

typedef struct layout {
    const char *file;
    const field *fields;
    size_t n_fields;
    size_t struct_size;
} layout;

/* Compares one line of the golden file with the header; writes the first
 * difference into `why` and returns false. */
static bool check_line(const layout *l, const char *line, size_t *index, char *why,
                       size_t why_size)
{
    char name[128];
    size_t offset, size;
    if (sscanf(line, "sizeof %zu", &size) == 1) {
        if (size == l->struct_size)
            return true;
        snprintf(why, why_size, "%s: sizeof is %zu in the header, %zu in the golden file",
                 l->file, l->struct_size, size);
        return false;
    }
    if (sscanf(line, "%127s %zu %zu", name, &offset, &size) != 3) {
        snprintf(why, why_size, "%s: unreadable line '%s'", l->file, line);
        return false;
    }
    if (*index >= l->n_fields) {
        snprintf(why, why_size, "%s lists field '%s', which the header lacks", l->file, name);
        return false;
    }
    const field *f = &l->fields[(*index)++];
    if (strcmp(f->name, name) == 0 && f->offset == offset && f->size == size)
        return true;
    snprintf(why, why_size,
             "%s: the header has '%s %zu %zu' where the golden file has '%s %zu %zu'", l->file,
             f->name, f->offset, f->size, name, offset, size);
    return false;
}

static bool check_layout(const layout *l, char *why, size_t why_size)
{
    char path[4096], line[256];
    snprintf(path, sizeof path, "%s/%s", EMBER_ABI_LAYOUT_DIR, l->file);
    FILE *file = fopen(path, "r");
    if (!file) {
        snprintf(why, why_size, "cannot open %s", path);
        return false;
    }
    size_t index = 0;
    bool is_same = true;
    while (is_same && fgets(line, sizeof line, file)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] != '#' && line[0] != '\0')
            is_same = check_line(l, line, &index, why, why_size);
    }
    fclose(file);
    if (is_same && index < l->n_fields) {
        snprintf(why, why_size, "%s lacks field '%s' of the header", l->file,
                 l->fields[index].name);
        is_same = false;
    }
    return is_same;
}

static void expect_layout(const layout *l)
{
    if (sizeof(void *) != 8)
        skip(); /* the golden files describe LP64 */
    char why[4608] = "";
    if (!check_layout(l, why, sizeof why))
        fail_msg("%s", why);
}

#define LAYOUT(file, type, fields) {file, fields, N_FIELDS(fields), sizeof(type)}

static void test_abi_layout_provider_api(void **state)
{
    static const layout l =
        LAYOUT("provider_api_1.layout", ember_provider_api, provider_api_fields);
    expect_layout(&l);
}

static void test_abi_layout_host_api(void **state)
{
    static const layout l = LAYOUT("host_api_1.layout", ember_host_api, host_api_fields);
    expect_layout(&l);
}

static void test_abi_layout_tensor(void **state)
{
    static const layout l = LAYOUT("tensor_1.layout", ember_tensor, tensor_fields);
    expect_layout(&l);
}

static void test_abi_layout_type_info(void **state)
{
    static const layout l = LAYOUT("type_info_1.layout", ember_type_info, type_info_fields);
    expect_layout(&l);
}

static void test_abi_layout_attr(void **state)
{
    static const layout l = LAYOUT("attr_1.layout", ember_attr, attr_fields);
    expect_layout(&l);
}

static void test_abi_layout_option(void **state)
{
    static const layout l = LAYOUT("option_1.layout", ember_option, option_fields);
    expect_layout(&l);
}

static void test_abi_layout_device(void **state)
{
    static const layout l = LAYOUT("device_1.layout", ember_device, device_fields);
    expect_layout(&l);
}

static void test_abi_layout_string(void **state)
{
    static const layout l = LAYOUT("string_1.layout", ember_string, string_fields);
    expect_layout(&l);
}

/* The checker itself: a moved field must be reported. */
static void test_abi_layout_detects_a_moved_field(void **state)
{
    static const field swapped[] = {FIELD(ember_option, value), FIELD(ember_option, key)};
    static const layout l = LAYOUT("option_1.layout", ember_option, swapped);
    char why[4608] = "";
    assert_false(check_layout(&l, why, sizeof why));
    assert_non_null(strstr(why, "option_1.layout"));
}

int abi_layout_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi_layout_provider_api),
        cmocka_unit_test(test_abi_layout_host_api),
        cmocka_unit_test(test_abi_layout_tensor),
        cmocka_unit_test(test_abi_layout_type_info),
        cmocka_unit_test(test_abi_layout_attr),
        cmocka_unit_test(test_abi_layout_option),
        cmocka_unit_test(test_abi_layout_device),
        cmocka_unit_test(test_abi_layout_string),
        cmocka_unit_test(test_abi_layout_detects_a_moved_field),
    };
    return cmocka_run_group_tests_name("abi_layout", tests, NULL, NULL);
}
