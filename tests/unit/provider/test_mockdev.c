/*
 * MOCKDEV through the core's wrappers: its memory really is another
 * device's (encoded bytes, foreign pointers refused), copies round-trip,
 * its kernels compute on device memory, and the "claim" option chooses the
 * ops it claims. The partition tests rely on all of this.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provider_tests.h"
#include "test_host.h"

#define MOCKDEV_TYPE (EMBER_DEVICE_VENDOR_BASE + 1)

static const ember_device host_device = {EMBER_DEVICE_CPU, 0};
static const ember_device mock_device = {MOCKDEV_TYPE, 0};

typedef struct fixture {
    provider_registry *reg;
    provider_lib *lib;
    provider_instance *dev;
} fixture;

static int make_fixture(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    *state = f;
    test_log_clear();
    test_env_set_path(test_plugin_dir());
    if (!f || provider_registry_create(&test_host, NULL, &f->reg) != EMBER_OK ||
        provider_registry_find(f->reg, "MOCKDEV", &f->lib) != EMBER_OK ||
        provider_instance_create(f->lib, NULL, 0, &f->dev) != EMBER_OK)
        return -1;
    return 0;
}

static int destroy_fixture(void **state)
{
    fixture *f = *state;
    provider_instance_release(f->dev);
    provider_registry_destroy(f->reg);
    test_env_restore();
    free(f);
    return 0;
}

/* A device tensor holding `values` (its memory is freed by release()). */
static ember_tensor upload(provider_instance *dev, const float *values, const int64_t *dims,
                           uint32_t rank)
{
    size_t n = 1;
    for (uint32_t i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    ember_tensor t = {NULL, dims, rank, EMBER_DTYPE_FLOAT32, MOCKDEV_TYPE, 0};
    assert_int_equal(provider_alloc(dev, 0, n * sizeof(float), &t.data), EMBER_OK);
    assert_int_equal(provider_copy(dev, t.data, mock_device, values, host_device,
                                   n * sizeof(float)),
                     EMBER_OK);
    return t;
}

static void download(provider_instance *dev, float *values, const ember_tensor *t, size_t n)
{
    assert_int_equal(provider_copy(dev, values, host_device, t->data, mock_device,
                                   n * sizeof(float)),
                     EMBER_OK);
}

/* Runs op_type on inputs; leaves the output in ctx. */
static ember_status run_op(fixture *f, const char *op_type, const ember_tensor *const *inputs,
                           size_t n_inputs, test_ctx *ctx)
{
    test_node node = {op_type, "", "node0", 13, n_inputs, 1, {{0}}};
    ember_kernel *kernel = NULL;
    assert_int_equal(provider_kernel_create(f->dev, TEST_NODE(&node), &kernel), EMBER_OK);
    ctx->device = f->dev;
    ctx->n_inputs = n_inputs;
    memcpy(ctx->inputs, inputs, n_inputs * sizeof *inputs);
    ember_status status = provider_kernel_run(f->dev, kernel, TEST_CTX(ctx));
    provider_kernel_destroy(f->dev, kernel);
    return status;
}

/* ---- identity and memory ----------------------------------------------------------- */

static void test_mockdev_identity(void **state)
{
    fixture *f = *state;
    assert_string_equal(provider_lib_name(f->lib), "MOCKDEV");
    assert_string_equal(provider_lib_device_name(f->lib), "mockdev");
    assert_int_equal(provider_lib_device_type(f->lib), MOCKDEV_TYPE);
}

/* host -> device -> host gives the bytes back, and the device holds
 * different bytes: nothing can read device memory as host memory. */
static void test_mockdev_copy_round_trip(void **state)
{
    fixture *f = *state;
    unsigned char in[64], out[64], raw[64];
    void *dev = NULL, *dev2 = NULL;
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)(i * 7 + 3);
    assert_int_equal(provider_alloc(f->dev, 0, sizeof in, &dev), EMBER_OK);
    assert_int_equal(provider_alloc(f->dev, 0, sizeof in, &dev2), EMBER_OK);
    assert_int_equal(provider_copy(f->dev, dev, mock_device, in, host_device, sizeof in),
                     EMBER_OK);
    memcpy(raw, dev, sizeof raw);
    for (size_t i = 0; i < sizeof in; i++)
        assert_int_not_equal(raw[i], in[i]);
    assert_int_equal(provider_copy(f->dev, dev2, mock_device, dev, mock_device, sizeof in),
                     EMBER_OK);
    assert_int_equal(provider_copy(f->dev, out, host_device, dev2, mock_device, sizeof out),
                     EMBER_OK);
    assert_memory_equal(in, out, sizeof in);
    provider_free(f->dev, 0, dev);
    provider_free(f->dev, 0, dev2);
}

static void test_mockdev_fresh_memory_reads_as_zeros(void **state)
{
    fixture *f = *state;
    unsigned char out[32], zeros[32] = {0};
    void *dev = NULL;
    assert_int_equal(provider_alloc(f->dev, 0, sizeof out, &dev), EMBER_OK);
    assert_int_equal(provider_copy(f->dev, out, host_device, dev, mock_device, sizeof out),
                     EMBER_OK);
    assert_memory_equal(out, zeros, sizeof out);
    provider_free(f->dev, 0, dev);
}

static void test_mockdev_copy_refuses_foreign_memory(void **state)
{
    fixture *f = *state;
    unsigned char host[16] = {0}, other[16] = {0};
    void *dev = NULL;
    assert_int_equal(provider_copy(f->dev, other, mock_device, host, host_device, sizeof host),
                     EMBER_E_INVALID_ARGUMENT);
    test_expect_has(ember_last_error(), "provider MOCKDEV (copy): mockdev: copy to ");
    test_expect_has(ember_last_error(), "not inside a live mockdev allocation");
    /* Past the end of a real allocation. */
    assert_int_equal(provider_alloc(f->dev, 0, 8, &dev), EMBER_OK);
    assert_int_equal(provider_copy(f->dev, dev, mock_device, host, host_device, sizeof host),
                     EMBER_E_INVALID_ARGUMENT);
    provider_free(f->dev, 0, dev);
}

static void test_mockdev_has_one_device(void **state)
{
    fixture *f = *state;
    void *dev = NULL;
    assert_int_equal(provider_alloc(f->dev, 1, 8, &dev), EMBER_E_DEVICE);
    test_expect_has(ember_last_error(), "provider MOCKDEV (alloc): mockdev has one device");
}

/* ---- kernels ----------------------------------------------------------------------- */

static void test_mockdev_add_broadcasts_on_device(void **state)
{
    fixture *f = *state;
    const float a_values[] = {1, 2, 3, 4, 5, 6}, b_values[] = {10, 20, 30};
    const int64_t a_dims[] = {2, 3}, b_dims[] = {3};
    ember_tensor a = upload(f->dev, a_values, a_dims, 2), b = upload(f->dev, b_values, b_dims, 1);
    const ember_tensor *inputs[] = {&a, &b};
    test_ctx ctx = {0};
    float out[6];
    assert_int_equal(run_op(f, "Add", inputs, 2, &ctx), EMBER_OK);
    assert_int_equal(ctx.output.rank, 2);
    assert_int_equal(ctx.output.dims[0], 2);
    assert_int_equal(ctx.output.dims[1], 3);
    download(f->dev, out, &ctx.output, 6);
    const float expected[] = {11, 22, 33, 14, 25, 36};
    assert_memory_equal(out, expected, sizeof expected);
    test_ctx_release(&ctx);
    provider_free(f->dev, 0, a.data);
    provider_free(f->dev, 0, b.data);
}

static void test_mockdev_mul_and_relu(void **state)
{
    fixture *f = *state;
    const float x_values[] = {-2, -1, 0.5f, 3};
    const int64_t dims[] = {4};
    ember_tensor x = upload(f->dev, x_values, dims, 1);
    const ember_tensor *pair[] = {&x, &x}, *one[] = {&x};
    test_ctx mul = {0}, relu = {0};
    float out[4];
    assert_int_equal(run_op(f, "Mul", pair, 2, &mul), EMBER_OK);
    download(f->dev, out, &mul.output, 4);
    const float squares[] = {4, 1, 0.25f, 9};
    assert_memory_equal(out, squares, sizeof squares);
    assert_int_equal(run_op(f, "Relu", one, 1, &relu), EMBER_OK);
    download(f->dev, out, &relu.output, 4);
    const float rectified[] = {0, 0, 0.5f, 3};
    assert_memory_equal(out, rectified, sizeof rectified);
    test_ctx_release(&mul);
    test_ctx_release(&relu);
    provider_free(f->dev, 0, x.data);
}

/* A kernel handed host memory (a missing copy) fails and says so. */
static void test_mockdev_kernel_refuses_host_memory(void **state)
{
    fixture *f = *state;
    float values[] = {1, 2};
    const int64_t dims[] = {2};
    ember_tensor on_host_as_device = {values, dims, 1, EMBER_DTYPE_FLOAT32, MOCKDEV_TYPE, 0};
    ember_tensor on_host = {values, dims, 1, EMBER_DTYPE_FLOAT32, EMBER_DEVICE_CPU, 0};
    const ember_tensor *lying[] = {&on_host_as_device}, *honest[] = {&on_host};
    test_ctx ctx = {0};
    assert_int_equal(run_op(f, "Relu", lying, 1, &ctx), EMBER_E_DEVICE);
    test_expect_has(ember_last_error(), "provider MOCKDEV (kernel_run): mockdev Relu: input 0");
    test_expect_has(ember_last_error(), "is not a live mockdev allocation");
    assert_int_equal(run_op(f, "Relu", honest, 1, &ctx), EMBER_E_DEVICE);
    test_expect_has(ember_last_error(), "the core skipped a copy");
    assert_false(ctx.has_output);
}

/* ---- claim ------------------------------------------------------------------------- */

static bool claims(provider_instance *dev, const char *op_type, uint32_t dtype, int64_t opset)
{
    size_t arity = strcmp(op_type, "Relu") == 0 ? 1 : 2;
    test_node node = {op_type, "", "n", opset, arity, 1, {{dtype, -1, NULL}, {dtype, -1, NULL}}};
    bool claimed = false;
    assert_int_equal(provider_claim(dev, TEST_NODE(&node), &claimed), EMBER_OK);
    return claimed;
}

static void test_mockdev_claims_float_add_mul_relu(void **state)
{
    fixture *f = *state;
    assert_true(claims(f->dev, "Add", EMBER_DTYPE_FLOAT32, 13));
    assert_true(claims(f->dev, "Mul", EMBER_DTYPE_FLOAT32, 14));
    assert_true(claims(f->dev, "Relu", EMBER_DTYPE_FLOAT32, 14));
    assert_false(claims(f->dev, "Add", EMBER_DTYPE_INT64, 13));
    assert_false(claims(f->dev, "Add", EMBER_DTYPE_UNDEFINED, 13));
    assert_false(claims(f->dev, "Sub", EMBER_DTYPE_FLOAT32, 13));
    assert_false(claims(f->dev, "Add", EMBER_DTYPE_FLOAT32, 6));
}

static void test_mockdev_claim_option_chooses_ops(void **state)
{
    fixture *f = *state;
    provider_instance *relu_only = NULL, *none = NULL;
    const ember_option relu[] = {{"claim", "Relu"}}, nothing[] = {{"claim", ""}};
    assert_int_equal(provider_instance_create(f->lib, relu, 1, &relu_only), EMBER_OK);
    assert_int_equal(provider_instance_create(f->lib, nothing, 1, &none), EMBER_OK);
    assert_true(claims(relu_only, "Relu", EMBER_DTYPE_FLOAT32, 14));
    assert_false(claims(relu_only, "Add", EMBER_DTYPE_FLOAT32, 14));
    assert_false(claims(none, "Relu", EMBER_DTYPE_FLOAT32, 14));
    provider_instance_release(relu_only);
    provider_instance_release(none);
}

static void test_mockdev_refuses_unknown_options(void **state)
{
    fixture *f = *state;
    provider_instance *p = NULL;
    const ember_option conv[] = {{"claim", "Add,Conv"}}, colour[] = {{"colour", "red"}};
    assert_int_equal(provider_instance_create(f->lib, conv, 1, &p), EMBER_E_INVALID_ARGUMENT);
    test_expect_has(ember_last_error(), "unknown op 'Conv'");
    assert_int_equal(provider_instance_create(f->lib, colour, 1, &p), EMBER_E_INVALID_ARGUMENT);
    test_expect_has(ember_last_error(), "unknown option colour=red");
    assert_null(p);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, make_fixture, destroy_fixture)

int provider_mockdev_tests(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_mockdev_identity),
        TEST(test_mockdev_copy_round_trip),
        TEST(test_mockdev_fresh_memory_reads_as_zeros),
        TEST(test_mockdev_copy_refuses_foreign_memory),
        TEST(test_mockdev_has_one_device),
        TEST(test_mockdev_add_broadcasts_on_device),
        TEST(test_mockdev_mul_and_relu),
        TEST(test_mockdev_kernel_refuses_host_memory),
        TEST(test_mockdev_claims_float_add_mul_relu),
        TEST(test_mockdev_claim_option_chooses_ops),
        TEST(test_mockdev_refuses_unknown_options),
    };
    return cmocka_run_group_tests_name("provider_mockdev", tests, NULL, NULL);
}
