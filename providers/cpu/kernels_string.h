/*
 * Private header of the string family (kernels_string*.c): the input and
 * attribute helpers that kernels_string.c defines for the other files of
 * the family, the case mapping of kernels_string_case.c, and the create
 * functions the family's registration table in kernels_string.c lists.
 */
#ifndef EMBER_KERNELS_STRING_H
#define EMBER_KERNELS_STRING_H

#include "cpu_kernel.h"

enum { CASE_NONE, CASE_LOWER, CASE_UPPER };

/* Input `index`, checked to be a string tensor. */
ember_status cpu_string_input(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                              const ember_tensor **out);

/* A string attribute copied into a malloc'd NUL-terminated buffer (with
 * its length); *out is NULL when the node has no such attribute. */
ember_status cpu_string_attr_dup(const cpu_kernel *k, const ember_node *node,
                                 const char *name, char **out, size_t *len);

/* Largest element size of a string tensor. */
size_t cpu_string_max_size(const ember_tensor *t);

const char *cpu_string_bytes(const ember_string *s);

/* Maps src[0..n) into dst (room for 2n bytes); returns the output size. */
size_t cpu_case_map(const char *src, size_t n, int action, bool turkish, char *dst);

ember_status cpu_normalizer_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_regex_create(cpu_kernel *k, const ember_node *node);

bool cpu_tfidf_check(const ember_host_api *host, const ember_node *node);

ember_status cpu_tfidf_create(cpu_kernel *k, const ember_node *node);

#endif /* EMBER_KERNELS_STRING_H */
