/*
 * The provider tests: the loader against the real mock plugins of
 * tests/plugins, the search path, instance lifetimes and the mockdev
 * device.
 */
#include "provider_tests.h"

int main(void)
{
    int failed = 0;
    failed += provider_loader_tests();
    failed += provider_registry_tests();
    failed += provider_instance_tests();
    failed += provider_mockdev_tests();
    return failed ? 1 : 0;
}
