/*
 * The groups of the provider test executable (main.c runs them in turn).
 */
#ifndef EMBER_TEST_PROVIDER_TESTS_H
#define EMBER_TEST_PROVIDER_TESTS_H

int provider_loader_tests(void);
int provider_registry_tests(void);
int provider_instance_tests(void);
int provider_mockdev_tests(void);

#endif
