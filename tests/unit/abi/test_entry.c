/*
 * The contract of a plugin's entry point, checked on the mock that keeps
 * every rule (libember_provider_mock_ok_1_0.so): it returns its table for
 * the host's major whatever the minor, NULL for any other major, and
 * calling it changes nothing.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ember/ember_provider.h>

#include "abi_tests.h"

/* The 1.0 band ends with the shutdown slot. */
#define ABI_1_0_SIZE                                                                     \
    (offsetof(ember_provider_api, shutdown) + sizeof(((ember_provider_api *)0)->shutdown))

typedef struct plugin {
    void *handle;
    ember_provider_entry_fn entry;
} plugin;

static int open_mock(void **state)
{
    static plugin p;
    const char *dir = getenv("EMBER_TEST_PLUGIN_DIR");
    char path[4096];
    if (!dir) {
        fprintf(stderr, "EMBER_TEST_PLUGIN_DIR is not set; run through meson test\n");
        return -1;
    }
    snprintf(path, sizeof path, "%s/libember_provider_mock_ok_1_0.so", dir);
    p.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!p.handle) {
        fprintf(stderr, "%s\n", dlerror());
        return -1;
    }
    *(void **)&p.entry = dlsym(p.handle, EMBER_PROVIDER_ENTRY_SYMBOL);
    *state = &p;
    return p.entry ? 0 : -1;
}

static int close_mock(void **state)
{
    plugin *p = *state;
    if (p && p->handle)
        dlclose(p->handle);
    return 0;
}

static void test_abi_entry_returns_its_table_for_our_major(void **state)
{
    const plugin *p = *state;
    const ember_provider_api *api = p->entry(EMBER_ABI_VERSION);
    assert_non_null(api);
    assert_int_equal(EMBER_ABI_MAJOR_OF(api->abi_version), EMBER_ABI_MAJOR);
    assert_true(api->struct_size >= ABI_1_0_SIZE);
}

static void test_abi_entry_accepts_a_newer_host_minor(void **state)
{
    const plugin *p = *state;
    uint32_t newer = ((uint32_t)EMBER_ABI_MAJOR << 16) | 0x1234u;
    assert_ptr_equal(p->entry(newer), p->entry(EMBER_ABI_VERSION));
}

static void test_abi_entry_declines_other_majors(void **state)
{
    const plugin *p = *state;
    assert_null(p->entry(0));
    assert_null(p->entry((uint32_t)(EMBER_ABI_MAJOR + 1) << 16));
    assert_null(p->entry(0xffff0000u));
}

/* Repeated calls, with any version, leave the table as it was and keep
 * returning the same static table. */
static void test_abi_entry_has_no_side_effects(void **state)
{
    const plugin *p = *state;
    const ember_provider_api *api = p->entry(EMBER_ABI_VERSION);
    unsigned char before[sizeof(ember_provider_api)];
    memcpy(before, api, sizeof before);
    for (uint32_t major = 0; major < 4; major++)
        p->entry(major << 16);
    assert_ptr_equal(p->entry(EMBER_ABI_VERSION), api);
    assert_memory_equal(before, api, sizeof before);
}

/* Built with hidden visibility, the plugin exports its entry and nothing
 * else: mock_note is an external function of the mock. */
static void test_abi_entry_is_the_only_export(void **state)
{
    const plugin *p = *state;
    assert_null(dlsym(p->handle, "mock_note"));
}

int abi_entry_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi_entry_returns_its_table_for_our_major),
        cmocka_unit_test(test_abi_entry_accepts_a_newer_host_minor),
        cmocka_unit_test(test_abi_entry_declines_other_majors),
        cmocka_unit_test(test_abi_entry_has_no_side_effects),
        cmocka_unit_test(test_abi_entry_is_the_only_export),
    };
    return cmocka_run_group_tests_name("abi_entry", tests, open_mock, close_mock);
}
