/*
 * The loader against real plugin files: each mock of tests/plugins is
 * accepted, or refused with EMBER_E_PROVIDER_ABI and one sentence naming
 * the file, both versions and the fix.
 */
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
    if (provider_registry_create(&test_host, "/nonexistent/ember/providers", &reg) != EMBER_OK)
        return -1;
    *state = reg;
    return 0;
}

static int destroy_registry(void **state)
{
    provider_registry_destroy(*state);
    return 0;
}

static ember_status load(void **state, const char *stem, provider_lib **out)
{
    char path[4096];
    test_plugin_path(path, sizeof path, stem);
    return provider_registry_load_path(*state, path, out);
}

/* Loads libember_provider_<stem>.so, expects a refusal whose message has
 * the file name and every one of `parts`, and an untouched out-parameter. */
static void expect_refused(void **state, const char *stem, const char *const *parts)
{
    provider_lib *sentinel = (provider_lib *)&sentinel, *lib = sentinel;
    char file[256];
    snprintf(file, sizeof file, "libember_provider_%s.so", stem);
    assert_int_equal(load(state, stem, &lib), EMBER_E_PROVIDER_ABI);
    assert_ptr_equal(lib, sentinel);
    test_expect_has(ember_last_error(), file);
    for (size_t i = 0; parts[i]; i++)
        test_expect_has(ember_last_error(), parts[i]);
}

/* ---- accepted ---------------------------------------------------------------------- */

static void test_loader_accepts_ok_1_0(void **state)
{
    provider_lib *lib = NULL;
    char path[4096];
    test_plugin_path(path, sizeof path, "mock_ok_1_0");
    assert_int_equal(load(state, "mock_ok_1_0", &lib), EMBER_OK);
    assert_string_equal(provider_lib_name(lib), "MOCK_OK_1_0");
    assert_string_equal(provider_lib_device_name(lib), "mock");
    assert_int_equal(provider_lib_device_type(lib), EMBER_DEVICE_CPU);
    assert_int_equal(provider_lib_abi_version(lib), EMBER_ABI_VERSION);
    assert_string_equal(provider_lib_path(lib), path);
}

/* A plugin built against a later 1.x header, with a longer table whose
 * tail this core does not know. */
static void test_loader_accepts_newer_minor(void **state)
{
    provider_lib *lib = NULL;
    assert_int_equal(load(state, "mock_newer_minor", &lib), EMBER_OK);
    assert_int_equal(EMBER_ABI_MAJOR_OF(provider_lib_abi_version(lib)), EMBER_ABI_MAJOR);
    assert_int_equal(EMBER_ABI_MINOR_OF(provider_lib_abi_version(lib)), 0x7fff);
}

static void test_loader_loads_the_same_file_once(void **state)
{
    provider_lib *first = NULL, *second = NULL;
    assert_int_equal(load(state, "mock_ok_1_0", &first), EMBER_OK);
    assert_int_equal(load(state, "mock_ok_1_0", &second), EMBER_OK);
    assert_ptr_equal(first, second);
}

/* ---- refused ----------------------------------------------------------------------- */

static void test_loader_refuses_bad_major(void **state)
{
    static const char *const parts[] = {"was built for provider ABI 2.0",
                                        "this Ember speaks " ABI_NOW,
                                        "rebuild it against ember_provider.h 1.x", NULL};
    expect_refused(state, "mock_bad_major", parts);
}

/* The entry ignores the host's version and hands over a 2.0 table. */
static void test_loader_refuses_table_of_another_major(void **state)
{
    static const char *const parts[] = {"was built for provider ABI 2.0",
                                        "this Ember speaks " ABI_NOW,
                                        "rebuild it against ember_provider.h 1.x", NULL};
    expect_refused(state, "mock_bad_major_table", parts);
}

static void test_loader_refuses_entry_declining_every_major(void **state)
{
    static const char *const parts[] = {"declines provider ABI " ABI_NOW,
                                        "returned NULL for every major from 0 to 15",
                                        "rebuild it against ember_provider.h 1.x", NULL};
    expect_refused(state, "mock_declines_all", parts);
}

static void test_loader_refuses_file_without_entry(void **state)
{
    static const char *const parts[] = {
        "has no symbol ember_provider_entry; it is not an Ember provider", NULL};
    expect_refused(state, "mock_no_entry", parts);
}

static void test_loader_refuses_null_required_slot(void **state)
{
    static const char *const parts[] = {"provider ABI " ABI_NOW, "this Ember speaks " ABI_NOW,
                                        "leaves required slot 'kernel_run' NULL",
                                        "fix the provider's table", NULL};
    expect_refused(state, "mock_null_required", parts);
}

static void test_loader_refuses_short_table(void **state)
{
    static const char *const parts[] = {"declares provider ABI " ABI_NOW " but a table of 72 bytes",
                                        "smaller than the 128 bytes of ABI 1.0",
                                        "rebuild it against ember_provider.h 1.x", NULL};
    if (sizeof(void *) != 8)
        skip(); /* the byte counts are LP64's */
    expect_refused(state, "mock_short_table", parts);
}

static void test_loader_refuses_device_without_copy(void **state)
{
    static const char *const parts[] = {"leaves required slot 'copy' NULL", NULL};
    expect_refused(state, "mock_device_no_copy", parts);
}

static void test_loader_refuses_a_file_that_is_no_library(void **state)
{
    char dir[4096], path[4200];
    provider_lib *lib = NULL;
    test_dir_make(dir, sizeof dir);
    test_dir_write(dir, "libember_provider_junk.so", "not a shared object\n");
    snprintf(path, sizeof path, "%s/libember_provider_junk.so", dir);
    ember_status status = provider_registry_load_path(*state, path, &lib);
    test_dir_remove(dir);
    assert_int_equal(status, EMBER_E_PROVIDER_ABI);
    test_expect_has(ember_last_error(), path);
    test_expect_has(ember_last_error(), "could not be loaded (");
    test_expect_has(ember_last_error(), "this Ember speaks provider ABI " ABI_NOW);
}

static void test_loader_reports_a_missing_file(void **state)
{
    provider_lib *lib = NULL;
    assert_int_equal(
        provider_registry_load_path(*state, "/nonexistent/libember_provider_x.so", &lib),
        EMBER_E_NO_SUCH_FILE);
    test_expect_has(ember_last_error(), "/nonexistent/libember_provider_x.so");
}

/* ---- probe ------------------------------------------------------------------------- */

static void test_loader_probe_defaults_to_score_one(void **state)
{
    provider_lib *lib = NULL;
    uint32_t score = 99;
    char why[128] = "stale";
    assert_int_equal(load(state, "mock_ok_1_0", &lib), EMBER_OK);
    assert_int_equal(provider_lib_probe(lib, &score, why, sizeof why), EMBER_OK);
    assert_int_equal(score, 1);
    assert_string_equal(why, "");
}

/* An unusable provider still loads; probe says why it cannot run. */
static void test_loader_probe_zero_gives_the_reason(void **state)
{
    provider_lib *lib = NULL;
    uint32_t score = 99;
    char why[128] = "";
    assert_int_equal(load(state, "mock_probe_zero", &lib), EMBER_OK);
    assert_int_equal(provider_lib_probe(lib, &score, why, sizeof why), EMBER_OK);
    assert_int_equal(score, 0);
    test_expect_has(why, "no mock device on this machine");
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, make_registry, destroy_registry)

int provider_loader_tests(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_loader_accepts_ok_1_0),
        TEST(test_loader_accepts_newer_minor),
        TEST(test_loader_loads_the_same_file_once),
        TEST(test_loader_refuses_bad_major),
        TEST(test_loader_refuses_table_of_another_major),
        TEST(test_loader_refuses_entry_declining_every_major),
        TEST(test_loader_refuses_file_without_entry),
        TEST(test_loader_refuses_null_required_slot),
        TEST(test_loader_refuses_short_table),
        TEST(test_loader_refuses_device_without_copy),
        TEST(test_loader_refuses_a_file_that_is_no_library),
        TEST(test_loader_reports_a_missing_file),
        TEST(test_loader_probe_defaults_to_score_one),
        TEST(test_loader_probe_zero_gives_the_reason),
    };
    return cmocka_run_group_tests_name("provider_loader", tests, NULL, NULL);
}
