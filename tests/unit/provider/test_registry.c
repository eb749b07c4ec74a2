/*
 * Finding providers by name: EMBER_PROVIDER_PATH, the install dir, case,
 * registrations ahead of the search path, refused candidates, and the
 * message that lists every place searched.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failing_alloc.h"
#include "provider_tests.h"
#include "test_host.h"

#define INSTALL_DIR "/nonexistent/install/ember/providers"

typedef struct fixture {
    provider_registry *reg;
    char dir[4096]; /* a scratch folder */
} fixture;

static int make_fixture(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || provider_registry_create(&test_host, INSTALL_DIR, &f->reg) != EMBER_OK)
        return -1;
    test_dir_make(f->dir, sizeof f->dir);
    test_log_clear();
    *state = f;
    return 0;
}

static int destroy_fixture(void **state)
{
    fixture *f = *state;
    provider_registry_destroy(f->reg);
    test_dir_remove(f->dir);
    test_env_restore();
    free(f);
    return 0;
}

/* ---- found ------------------------------------------------------------------------- */

static void test_registry_finds_a_name_on_the_provider_path(void **state)
{
    fixture *f = *state;
    provider_lib *lib = NULL;
    char path[4096];
    test_env_set_path(test_plugin_dir());
    test_plugin_path(path, sizeof path, "mock_ok_1_0");
    assert_int_equal(provider_registry_find(f->reg, "mock_ok_1_0", &lib), EMBER_OK);
    assert_string_equal(provider_lib_path(lib), path);
}

static void test_registry_names_are_case_insensitive(void **state)
{
    fixture *f = *state;
    provider_lib *a = NULL, *b = NULL, *c = NULL;
    test_env_set_path(test_plugin_dir());
    assert_int_equal(provider_registry_find(f->reg, "MOCK_OK_1_0", &a), EMBER_OK);
    assert_int_equal(provider_registry_find(f->reg, "mock_ok_1_0", &b), EMBER_OK);
    assert_int_equal(provider_registry_find(f->reg, "Mock_Ok_1_0", &c), EMBER_OK);
    assert_ptr_equal(a, b);
    assert_ptr_equal(b, c);
    assert_string_equal(provider_lib_name(a), "MOCK_OK_1_0");
}

static void test_registry_searches_every_provider_path_dir(void **state)
{
    fixture *f = *state;
    provider_lib *lib = NULL;
    char path[8192];
    snprintf(path, sizeof path, "/nonexistent/a::%s:", test_plugin_dir());
    test_env_set_path(path);
    assert_int_equal(provider_registry_find(f->reg, "mockdev", &lib), EMBER_OK);
    assert_string_equal(provider_lib_name(lib), "MOCKDEV");
}

static void test_registry_searches_the_install_dir(void **state)
{
    provider_registry *reg = NULL;
    provider_lib *lib = NULL;
    test_env_set_path(NULL);
    assert_int_equal(provider_registry_create(&test_host, test_plugin_dir(), &reg), EMBER_OK);
    ember_status status = provider_registry_find(reg, "mockdev", &lib);
    provider_registry_destroy(reg);
    assert_int_equal(status, EMBER_OK);
}

/* A file registered by path answers to its name before the search path. */
static void test_registry_registered_path_comes_first(void **state)
{
    fixture *f = *state;
    provider_lib *registered = NULL, *found = NULL;
    char original[4096], copy[8192];
    test_plugin_path(original, sizeof original, "mock_ok_1_0");
    test_dir_copy(f->dir, "my_build.so", original);
    snprintf(copy, sizeof copy, "%s/my_build.so", f->dir);
    test_env_set_path(test_plugin_dir());
    assert_int_equal(provider_registry_load_path(f->reg, copy, &registered), EMBER_OK);
    assert_int_equal(provider_registry_find(f->reg, "mock_ok_1_0", &found), EMBER_OK);
    assert_ptr_equal(found, registered);
    assert_string_equal(provider_lib_path(found), copy);
}

/* Found first, registered later: one library, not two. */
static void test_registry_keeps_one_record_per_file(void **state)
{
    fixture *f = *state;
    provider_lib *found = NULL, *registered = NULL;
    char path[4096];
    test_env_set_path(test_plugin_dir());
    test_plugin_path(path, sizeof path, "mockdev");
    assert_int_equal(provider_registry_find(f->reg, "MOCKDEV", &found), EMBER_OK);
    assert_int_equal(provider_registry_load_path(f->reg, path, &registered), EMBER_OK);
    assert_ptr_equal(found, registered);
}

/* ---- refused or absent ------------------------------------------------------------- */

static void test_registry_not_found_lists_every_dir(void **state)
{
    fixture *f = *state;
    provider_lib *lib = NULL;
    char core[PATH_MAX], self_dir[PATH_MAX + 32];
    Dl_info info;
    test_env_set_path("/nonexistent/a:/nonexistent/b");
    assert_int_equal(provider_registry_find(f->reg, "Absent", &lib), EMBER_E_NO_SUCH_FILE);
    const char *message = ember_last_error();
    test_expect_has(message, "provider 'Absent' not found: looked for "
                             "libember_provider_absent.so in /nonexistent/a, /nonexistent/b, ");
    test_expect_has(message, INSTALL_DIR "; set EMBER_PROVIDER_PATH or install it");
    /* The folder beside the file that holds the core (this executable
     * when the core is linked statically). */
    assert_int_not_equal(dladdr((void *)provider_registry_create, &info), 0);
    assert_non_null(realpath(info.dli_fname, core));
    *strrchr(core, '/') = '\0';
    snprintf(self_dir, sizeof self_dir, "%s/ember/providers", core);
    test_expect_has(message, self_dir);
}

/* A refused candidate early on the path does not hide a good one later;
 * it is logged as skipped. */
static void test_registry_skips_a_refused_candidate(void **state)
{
    fixture *f = *state;
    provider_lib *lib = NULL;
    char bad[4096], path[8192];
    test_plugin_path(bad, sizeof bad, "mock_bad_major");
    test_dir_link(f->dir, "libember_provider_mock_ok_1_0.so", bad);
    snprintf(path, sizeof path, "%s:%s", f->dir, test_plugin_dir());
    test_env_set_path(path);
    assert_int_equal(provider_registry_find(f->reg, "mock_ok_1_0", &lib), EMBER_OK);
    test_expect_has(provider_lib_path(lib), test_plugin_dir());
    test_expect_has(test_log_text(), "skipped a provider candidate");
    test_expect_has(test_log_text(), f->dir);
    test_expect_has(test_log_text(), "provider ABI 2.0");
}

static void test_registry_reports_refused_candidates(void **state)
{
    fixture *f = *state;
    provider_lib *lib = NULL;
    char bad[4096];
    test_plugin_path(bad, sizeof bad, "mock_bad_major");
    test_dir_link(f->dir, "libember_provider_mock_ok_1_0.so", bad);
    test_env_set_path(f->dir);
    assert_int_equal(provider_registry_find(f->reg, "mock_ok_1_0", &lib), EMBER_E_PROVIDER_ABI);
    const char *message = ember_last_error();
    test_expect_has(message, "provider 'mock_ok_1_0' could not be loaded: ");
    test_expect_has(message, f->dir);
    test_expect_has(message, "libember_provider_mock_ok_1_0.so was built for provider ABI 2.0; "
                             "this Ember speaks " ABI_NOW);
}

static void test_registry_refuses_a_file_of_another_name(void **state)
{
    fixture *f = *state;
    provider_lib *lib = NULL;
    char ok[4096];
    test_plugin_path(ok, sizeof ok, "mock_ok_1_0");
    test_dir_link(f->dir, "libember_provider_other.so", ok);
    test_env_set_path(f->dir);
    assert_int_equal(provider_registry_find(f->reg, "other", &lib), EMBER_E_PROVIDER_ABI);
    test_expect_has(ember_last_error(), "declares provider name 'MOCK_OK_1_0', not 'other'");
}

static void test_registry_refuses_names_that_are_not_file_names(void **state)
{
    fixture *f = *state;
    provider_lib *lib = NULL;
    assert_int_equal(provider_registry_find(f->reg, "../../etc/x", &lib),
                     EMBER_E_INVALID_ARGUMENT);
    test_expect_has(ember_last_error(), "provider name '../../etc/x' is not valid");
    assert_int_equal(provider_registry_find(f->reg, "", &lib), EMBER_E_INVALID_ARGUMENT);
}

/* ---- threads ----------------------------------------------------------------------- */

static void *find_mockdev(void *arg)
{
    provider_lib *lib = NULL;
    return provider_registry_find(arg, "mockdev", &lib) == EMBER_OK ? lib : NULL;
}

static void test_registry_finds_from_many_threads(void **state)
{
    fixture *f = *state;
    pthread_t threads[4];
    void *libs[4];
    test_env_set_path(test_plugin_dir());
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, find_mockdev, f->reg), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(threads[i], &libs[i]), 0);
    assert_non_null(libs[0]);
    for (int i = 1; i < 4; i++)
        assert_ptr_equal(libs[i], libs[0]);
}

/* ---- allocation failures ----------------------------------------------------------- */

static ember_status find_and_create(void)
{
    provider_registry *reg = NULL;
    provider_lib *lib = NULL;
    provider_instance *p = NULL;
    ember_status status = provider_registry_create(&test_host, INSTALL_DIR, &reg);
    if (status == EMBER_OK)
        status = provider_registry_find(reg, "mockdev", &lib);
    if (status == EMBER_OK)
        status = provider_instance_create(lib, NULL, 0, &p);
    provider_instance_release(p);
    provider_registry_destroy(reg);
    return status;
}

/* Fails the 1st, 2nd, ... allocation of a search that skips a refused
 * candidate: each failure is a clean EMBER_E_OUT_OF_MEMORY, and the
 * sanitizer build sees no leak. */
static void test_registry_survives_every_allocation_failure(void **state)
{
    fixture *f = *state;
    char bad[4096], path[8192];
    test_plugin_path(bad, sizeof bad, "mock_bad_major");
    test_dir_link(f->dir, "libember_provider_mockdev.so", bad);
    snprintf(path, sizeof path, "%s:/nonexistent/a:%s", f->dir, test_plugin_dir());
    test_env_set_path(path);
    ember_status status = EMBER_E_OUT_OF_MEMORY;
    size_t n_failures = 0;
    for (; n_failures < 200 && status == EMBER_E_OUT_OF_MEMORY; n_failures++) {
        failing_alloc_begin((long)n_failures);
        status = find_and_create();
        failing_alloc_end();
    }
    assert_int_equal(status, EMBER_OK);
    assert_true(n_failures > 5);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, make_fixture, destroy_fixture)

int provider_registry_tests(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_registry_finds_a_name_on_the_provider_path),
        TEST(test_registry_names_are_case_insensitive),
        TEST(test_registry_searches_every_provider_path_dir),
        TEST(test_registry_searches_the_install_dir),
        TEST(test_registry_registered_path_comes_first),
        TEST(test_registry_keeps_one_record_per_file),
        TEST(test_registry_not_found_lists_every_dir),
        TEST(test_registry_skips_a_refused_candidate),
        TEST(test_registry_reports_refused_candidates),
        TEST(test_registry_refuses_a_file_of_another_name),
        TEST(test_registry_refuses_names_that_are_not_file_names),
        TEST(test_registry_finds_from_many_threads),
        TEST(test_registry_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests_name("provider_registry", tests, NULL, NULL);
}
