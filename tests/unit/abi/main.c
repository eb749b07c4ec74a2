/*
 * The ABI tests: the frozen layout of every ABI struct, and the contract
 * of a plugin's entry point.
 */
#include "abi_tests.h"

int main(void)
{
    int failed = 0;
    failed += abi_layout_tests();
    failed += abi_entry_tests();
    return failed ? 1 : 0;
}
