/*
 * Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0;
 * little-endian, C order). Supported element types: f2 f4 f8 i1 i2 i4 i8
 * u1 u2 u4 u8 b1. Failures are recorded with cli_fail().
 */
#ifndef EMBER_TOOLS_NPY_H
#define EMBER_TOOLS_NPY_H

#include <stddef.h>
#include <stdint.h>

#include <ember/ember.h>

#define NPY_MAX_RANK 32

typedef struct npy_array {
    ember_dtype dtype;
    size_t rank;
    int64_t dims[NPY_MAX_RANK];
    void *data; /* owned: free with npy_array_free */
    size_t data_bytes;
} npy_array;

/* Reads `path` into *out (set only on success). Returns CLI_OK or CLI_ERROR. */
int npy_read(const char *path, npy_array *out);
/* Writes a C-order array; dtype must be one of the supported types. */
int npy_write(const char *path, ember_dtype dtype, const int64_t *dims, size_t rank,
              const void *data, size_t data_bytes);
void npy_array_free(npy_array *array);

/* The .npy descr ("<f4") of dtype, or NULL when .npy cannot hold it. */
const char *npy_descr(ember_dtype dtype);

#endif /* EMBER_TOOLS_NPY_H */
