/*
 * Instances and the slot wrappers: reference counts, the teardown order
 * kernels -> instances -> shutdown -> dlclose (read from the mock's log
 * lines), NO_UNLOAD, the defaults of optional slots and the provider name
 * in failure messages.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "provider_tests.h"
#include "test_host.h"

static int make_registry(void **state)
{
    provider_registry *reg = NULL;
    test_log_clear();
    if (provider_registry_create(&test_host, NULL, &reg) != EMBER_OK)
        return -1;
    *state = reg;
    return 0;
}

static int destroy_registry(void **state)
{
    provider_registry_destroy(*state);
    return 0;
}

static provider_lib *load(void **state, const char *stem)
{
    provider_lib *lib = NULL;
    char path[4096];
    test_plugin_path(path, sizeof path, stem);
    assert_int_equal(provider_registry_load_path(*state, path, &lib), EMBER_OK);
    return lib;
}

static bool is_mapped(const char *stem)
{
    char path[4096];
    test_plugin_path(path, sizeof path, stem);
    void *handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (handle)
        dlclose(handle);
    return handle != NULL;
}

/* Fails unless `first` appears in the log, and `second` after it. */
static void expect_log_order(const char *first, const char *second)
{
    const char *a = strstr(test_log_text(), first);
    if (!a || !strstr(a + strlen(first), second))
        fail_msg("expected \"%s\" then \"%s\" in the log:\n%s", first, second, test_log_text());
}

/* ---- lifetimes --------------------------------------------------------------------- */

static void test_instance_create_and_release(void **state)
{
    provider_instance *p = NULL;
    provider_lib *lib = load(state, "mock_ok_1_0");
    assert_int_equal(provider_instance_create(lib, NULL, 0, &p), EMBER_OK);
    assert_ptr_equal(provider_instance_lib(p), lib);
    test_expect_has(test_log_text(), "MOCK_OK_1_0 create\n");
    provider_instance_retain(p);
    provider_instance_release(p);
    assert_null(strstr(test_log_text(), "MOCK_OK_1_0 destroy"));
    provider_instance_release(p);
    test_expect_has(test_log_text(), "MOCK_OK_1_0 destroy\n");
    assert_null(strstr(test_log_text(), "shutdown")); /* the registry still holds it */
    provider_instance_release(NULL);
}

/* The library outlives the registry while an instance needs it. */
static void test_instance_keeps_its_library_loaded(void **state)
{
    provider_instance *p = NULL;
    provider_lib *lib = load(state, "mock_ok_1_0");
    assert_int_equal(provider_instance_create(lib, NULL, 0, &p), EMBER_OK);
    provider_registry_destroy(*state);
    *state = NULL;
    assert_null(strstr(test_log_text(), "shutdown"));
    assert_true(is_mapped("mock_ok_1_0"));
    provider_instance_release(p);
    expect_log_order("MOCK_OK_1_0 destroy\n", "MOCK_OK_1_0 shutdown\n");
    assert_false(is_mapped("mock_ok_1_0"));
}

/* A kernel holds its instance: the instance goes only after its kernels. */
static void test_instance_lives_until_its_kernels_are_destroyed(void **state)
{
    provider_instance *p = NULL;
    ember_kernel *kernel = NULL;
    test_node node = {"Any", "", "n0", 13, 0, 1, {{0}}};
    provider_lib *lib = load(state, "mock_ok_1_0");
    assert_int_equal(provider_instance_create(lib, NULL, 0, &p), EMBER_OK);
    assert_int_equal(provider_kernel_create(p, TEST_NODE(&node), &kernel), EMBER_OK);
    assert_int_equal(provider_kernel_run(p, kernel, NULL), EMBER_OK);
    provider_instance_release(p);
    assert_null(strstr(test_log_text(), "MOCK_OK_1_0 destroy"));
    provider_kernel_destroy(p, kernel);
    expect_log_order("MOCK_OK_1_0 kernel_destroy\n", "MOCK_OK_1_0 destroy\n");
}

static void test_instance_no_unload_stays_mapped(void **state)
{
    provider_instance *p = NULL;
    provider_lib *lib = load(state, "mock_no_unload");
    assert_int_equal(provider_instance_create(lib, NULL, 0, &p), EMBER_OK);
    provider_instance_release(p);
    provider_registry_destroy(*state);
    *state = NULL;
    expect_log_order("MOCK_NO_UNLOAD destroy\n", "MOCK_NO_UNLOAD shutdown\n");
    assert_true(is_mapped("mock_no_unload"));
}

/* ---- wrappers ---------------------------------------------------------------------- */

static void test_instance_create_failure_names_the_provider(void **state)
{
    provider_instance *sentinel = (provider_instance *)&sentinel, *p = sentinel;
    const ember_option options[] = {{"bogus", "1"}};
    provider_lib *lib = load(state, "mock_ok_1_0");
    assert_int_equal(provider_instance_create(lib, options, 1, &p), EMBER_E_INVALID_ARGUMENT);
    assert_ptr_equal(p, sentinel);
    test_expect_has(ember_last_error(),
                    "provider MOCK_OK_1_0 (create): MOCK_OK_1_0: unknown option 'bogus'");
}

/* A CPU provider has no memory slots; synchronize defaults to done. */
static void test_instance_optional_slots_have_defaults(void **state)
{
    provider_instance *p = NULL;
    void *ptr = NULL;
    char byte = 0;
    bool claimed = true;
    test_node node = {"Add", "", "add0", 13, 0, 1, {{0}}};
    provider_lib *lib = load(state, "mock_ok_1_0");
    assert_int_equal(provider_instance_create(lib, NULL, 0, &p), EMBER_OK);
    assert_int_equal(provider_synchronize(p), EMBER_OK);
    assert_int_equal(provider_alloc(p, 0, 16, &ptr), EMBER_E_NOT_IMPLEMENTED);
    test_expect_has(ember_last_error(), "provider MOCK_OK_1_0 has no 'alloc' slot");
    assert_null(ptr);
    ember_device cpu = {EMBER_DEVICE_CPU, 0};
    assert_int_equal(provider_copy(p, &byte, cpu, &byte, cpu, 1), EMBER_E_NOT_IMPLEMENTED);
    provider_free(p, 0, &byte); /* no slot: nothing happens */
    assert_int_equal(provider_claim(p, TEST_NODE(&node), &claimed), EMBER_OK);
    assert_false(claimed);
    provider_instance_release(p);
}

/* A newer plugin works through the 1.0 slots; its unknown tail is never
 * called (the mock's future slot would fail). */
static void test_instance_of_a_newer_minor_works(void **state)
{
    provider_instance *p = NULL;
    ember_kernel *kernel = NULL;
    test_node node = {"Any", "", "n0", 13, 0, 1, {{0}}};
    provider_lib *lib = load(state, "mock_newer_minor");
    assert_int_equal(provider_instance_create(lib, NULL, 0, &p), EMBER_OK);
    assert_int_equal(provider_kernel_create(p, TEST_NODE(&node), &kernel), EMBER_OK);
    assert_int_equal(provider_kernel_run(p, kernel, NULL), EMBER_OK);
    assert_int_equal(provider_synchronize(p), EMBER_OK);
    provider_kernel_destroy(p, kernel);
    provider_instance_release(p);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, make_registry, destroy_registry)

int provider_instance_tests(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_instance_create_and_release),
        TEST(test_instance_keeps_its_library_loaded),
        TEST(test_instance_lives_until_its_kernels_are_destroyed),
        TEST(test_instance_no_unload_stays_mapped),
        TEST(test_instance_create_failure_names_the_provider),
        TEST(test_instance_optional_slots_have_defaults),
        TEST(test_instance_of_a_newer_minor_works),
    };
    return cmocka_run_group_tests_name("provider_instance", tests, NULL, NULL);
}
