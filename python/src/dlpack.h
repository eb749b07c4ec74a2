/*
 * The DLPack exchange structs (ABI of DLPack 1.x, unversioned 0.x layout
 * included), written from the DLPack specification. Only what _ember uses.
 * https://dmlc.github.io/dlpack/latest/c_api.html
 */
#ifndef EMBER_PY_DLPACK_H
#define EMBER_PY_DLPACK_H

#include <stdint.h>

enum {
    EMBER_DL_CPU = 1,
    EMBER_DL_CUDA = 2,
    EMBER_DL_CUDA_HOST = 3,
    EMBER_DL_CUDA_MANAGED = 13,
};

enum {
    EMBER_DL_INT = 0,
    EMBER_DL_UINT = 1,
    EMBER_DL_FLOAT = 2,
    EMBER_DL_BFLOAT = 4,
    EMBER_DL_COMPLEX = 5,
    EMBER_DL_BOOL = 6,
    EMBER_DL_FLOAT8_E4M3FN = 10,
    EMBER_DL_FLOAT8_E4M3FNUZ = 11,
    EMBER_DL_FLOAT8_E5M2 = 12,
    EMBER_DL_FLOAT8_E5M2FNUZ = 13,
};

typedef struct {
    int32_t device_type;
    int32_t device_id;
} ember_dl_device;

typedef struct {
    uint8_t code;
    uint8_t bits;
    uint16_t lanes;
} ember_dl_dtype;

typedef struct {
    void *data;
    ember_dl_device device;
    int32_t ndim;
    ember_dl_dtype dtype;
    int64_t *shape;
    int64_t *strides; /* in elements; NULL = compact row-major */
    uint64_t byte_offset;
} ember_dl_tensor;

/* The unversioned capsule ("dltensor"). */
typedef struct ember_dl_managed {
    ember_dl_tensor dl_tensor;
    void *manager_ctx;
    void (*deleter)(struct ember_dl_managed *self);
} ember_dl_managed;

/* The versioned capsule ("dltensor_versioned", DLPack >= 1.0). */
typedef struct ember_dl_managed_versioned {
    uint32_t version_major;
    uint32_t version_minor;
    void *manager_ctx;
    void (*deleter)(struct ember_dl_managed_versioned *self);
    uint64_t flags;
    ember_dl_tensor dl_tensor;
} ember_dl_managed_versioned;

#define EMBER_DL_FLAG_READ_ONLY ((uint64_t)1 << 0)

#define EMBER_DL_CAPSULE "dltensor"
#define EMBER_DL_CAPSULE_USED "used_dltensor"
#define EMBER_DL_CAPSULE_VERSIONED "dltensor_versioned"
#define EMBER_DL_CAPSULE_VERSIONED_USED "used_dltensor_versioned"

#endif /* EMBER_PY_DLPACK_H */
