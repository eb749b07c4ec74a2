/*
 * The groups of the provider test executable (main.c runs them in turn).
 */
#ifndef EMBER_TEST_PROVIDER_TESTS_H
#define EMBER_TEST_PROVIDER_TESTS_H

#include <ember/ember_provider.h>

/* "1.<minor>" of the ABI this Ember speaks, as messages print it. */
#define ABI_STR2(x) #x
#define ABI_STR(x) ABI_STR2(x)
#define ABI_NOW ABI_STR(EMBER_ABI_MAJOR) "." ABI_STR(EMBER_ABI_MINOR)

int provider_loader_tests(void);
int provider_registry_tests(void);
int provider_instance_tests(void);
int provider_mockdev_tests(void);

#endif
