/*
 * The groups of the ABI test executable (main.c runs them in turn).
 */
#ifndef EMBER_TEST_ABI_TESTS_H
#define EMBER_TEST_ABI_TESTS_H

int abi_layout_tests(void);
int abi_entry_tests(void);

#endif
