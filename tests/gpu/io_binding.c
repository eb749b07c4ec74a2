/*
 * IO binding on the CUDA device through the public C API, on a machine with
 * an NVIDIA GPU (tests/gpu/run.sh runs it; prepare.sh builds it). Scenarios:
 *   1. inputs bound to device pointers from cudaMalloc, the output bound to a
 *      preallocated cudaMalloc buffer (zero-copy both ways);
 *   2. the output allocated by Ember on cuda:0, left there, read back with
 *      ember_value_copy;
 *   3. values created on cuda:0 by an env that has no session, filled from
 *      the host, bound, and a device-to-device copy into a wrapped pointer;
 *   4. a session without CUDA refuses a device input with a message.
 * Every result is compared with a run of the same model on the CPU provider.
 * Prints one line per scenario and "N passed, N failed" last; exits 0 only
 * when all passed. Without a usable GPU it says why and exits 77 (skip),
 * or 1 when EMBER_EXPECT_GPU=1.
 *
 * The model, z = (a + b) * a with a, b, z float [2, 3] (opset 17), is
 * embedded as the bytes onnx.helper serializes for it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include <ember/ember.h>

static const unsigned char model_bytes[] = {
    0x08, 0x08, 0x3a, 0x6d, 0x0a, 0x13, 0x0a, 0x01, 0x61, 0x0a, 0x01, 0x62, 0x12, 0x01, 0x73, 0x1a,
    0x03, 0x61, 0x64, 0x64, 0x22, 0x03, 0x41, 0x64, 0x64, 0x0a, 0x13, 0x0a, 0x01, 0x73, 0x0a, 0x01,
    0x61, 0x12, 0x01, 0x7a, 0x1a, 0x03, 0x6d, 0x75, 0x6c, 0x22, 0x03, 0x4d, 0x75, 0x6c, 0x12, 0x02,
    0x69, 0x6f, 0x5a, 0x13, 0x0a, 0x01, 0x61, 0x12, 0x0e, 0x0a, 0x0c, 0x08, 0x01, 0x12, 0x08, 0x0a,
    0x02, 0x08, 0x02, 0x0a, 0x02, 0x08, 0x03, 0x5a, 0x13, 0x0a, 0x01, 0x62, 0x12, 0x0e, 0x0a, 0x0c,
    0x08, 0x01, 0x12, 0x08, 0x0a, 0x02, 0x08, 0x02, 0x0a, 0x02, 0x08, 0x03, 0x62, 0x13, 0x0a, 0x01,
    0x7a, 0x12, 0x0e, 0x0a, 0x0c, 0x08, 0x01, 0x12, 0x08, 0x0a, 0x02, 0x08, 0x02, 0x0a, 0x02, 0x08,
    0x03, 0x42, 0x04, 0x0a, 0x00, 0x10, 0x11,};

#define N 6
static const int64_t dims[] = {2, 3};
static const ember_device host = {EMBER_DEVICE_CPU, 0};
static const ember_device gpu = {EMBER_DEVICE_CUDA, 0};
static const float a_host[N] = {0, 1, 2, 3, 4, 5};
static const float b_host[N] = {0.5f, 0.5f, -1, 2, 0.25f, -3};
static float expected[N]; /* the CPU provider's z */
static int n_passed, n_failed;

/* ---- checks ------------------------------------------------------------------ */

static int check(int ok, const char *scenario, const char *what)
{
    if (!ok) {
        printf("  FAIL %s: %s\n", scenario, what);
        const char *error = ember_last_error();
        if (error && error[0])
            printf("       last Ember error: %s\n", error);
    }
    return ok;
}

#define EXPECT(cond) \
    do { \
        if (!check((cond), scenario, #cond)) \
            goto out; \
    } while (0)

static int close_to_expected(const float *z)
{
    for (int i = 0; i < N; i++)
        if (fabsf(z[i] - expected[i]) > 1e-6f * (1 + fabsf(expected[i])))
            return 0;
    return 1;
}

static void report(const char *scenario, int ok)
{
    printf("%s %s\n", ok ? "PASS" : "FAIL", scenario);
    if (ok)
        n_passed++;
    else
        n_failed++;
}

/* ---- sessions ------------------------------------------------------------------ */

static ember_session *open_session(ember_env *env, const char *provider)
{
    ember_session_options *opts = NULL;
    ember_session *session = NULL;
    if (ember_session_options_create(&opts) != EMBER_OK)
        return NULL;
    ember_status status = ember_session_options_append_provider(opts, provider, NULL, NULL, 0);
    if (status == EMBER_OK)
        ember_session_options_set_strict(opts, true); /* no silent CPU fallback */
    if (status == EMBER_OK)
        status = ember_session_create_from_bytes(env, model_bytes, sizeof model_bytes, NULL,
                                                 opts, &session);
    ember_session_options_destroy(opts);
    return status == EMBER_OK ? session : NULL;
}

/* expected = z of a CPU-only run. */
static int cpu_reference(ember_env *env)
{
    const char *scenario = "cpu reference", *in_names[] = {"a", "b"}, *out_names[] = {"z"};
    ember_session *session = open_session(env, "CPU");
    ember_value *a = NULL, *b = NULL, *z = NULL;
    int ok = 0;
    EXPECT(session != NULL);
    EXPECT(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, (void *)a_host, sizeof a_host, host,
                            &a) == EMBER_OK);
    EXPECT(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, (void *)b_host, sizeof b_host, host,
                            &b) == EMBER_OK);
    const ember_value *inputs[] = {a, b};
    EXPECT(ember_session_run(session, NULL, in_names, inputs, 2, out_names, &z, 1) == EMBER_OK);
    memcpy(expected, ember_value_get_data(z), sizeof expected);
    for (int i = 0; i < N; i++)
        EXPECT(expected[i] == (a_host[i] + b_host[i]) * a_host[i]);
    ok = 1;
out:
    ember_value_destroy(a);
    ember_value_destroy(b);
    ember_value_destroy(z);
    ember_session_destroy(session);
    return ok;
}

/* ---- 1. device pointers in, preallocated device buffer out --------------------------- */

static int scenario_pointers(ember_env *env)
{
    const char *scenario = "bind cudaMalloc pointers in and out";
    ember_session *session = open_session(env, "CUDA");
    ember_io_binding *binding = NULL;
    ember_value *a = NULL, *b = NULL, *z = NULL, *got = NULL;
    float *a_dev = NULL, *b_dev = NULL, *z_dev = NULL, z_host[N];
    int ok = 0;
    EXPECT(session != NULL);
    EXPECT(cudaMalloc((void **)&a_dev, sizeof a_host) == cudaSuccess);
    EXPECT(cudaMalloc((void **)&b_dev, sizeof b_host) == cudaSuccess);
    EXPECT(cudaMalloc((void **)&z_dev, sizeof z_host) == cudaSuccess);
    EXPECT(cudaMemcpy(a_dev, a_host, sizeof a_host, cudaMemcpyHostToDevice) == cudaSuccess);
    EXPECT(cudaMemcpy(b_dev, b_host, sizeof b_host, cudaMemcpyHostToDevice) == cudaSuccess);
    EXPECT(cudaMemset(z_dev, 0, sizeof z_host) == cudaSuccess);
    EXPECT(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, a_dev, sizeof a_host, gpu, &a) ==
           EMBER_OK);
    EXPECT(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, b_dev, sizeof b_host, gpu, &b) ==
           EMBER_OK);
    EXPECT(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, z_dev, sizeof z_host, gpu, &z) ==
           EMBER_OK);
    EXPECT(ember_io_binding_create(session, &binding) == EMBER_OK);
    EXPECT(ember_io_binding_bind_input(binding, "a", a) == EMBER_OK);
    EXPECT(ember_io_binding_bind_input(binding, "b", b) == EMBER_OK);
    EXPECT(ember_io_binding_bind_output(binding, "z", z) == EMBER_OK);
    for (int run = 0; run < 3; run++)
        EXPECT(ember_session_run_with_binding(session, NULL, binding) == EMBER_OK);
    EXPECT(ember_io_binding_get_output(binding, 0, NULL, &got) == EMBER_OK);
    EXPECT(got == z && ember_value_get_data(got) == z_dev); /* written in place */
    /* The run has finished when it returns: a plain cudaMemcpy reads it. */
    EXPECT(cudaMemcpy(z_host, z_dev, sizeof z_host, cudaMemcpyDeviceToHost) == cudaSuccess);
    EXPECT(close_to_expected(z_host));
    ok = 1;
out:
    ember_io_binding_destroy(binding);
    ember_value_destroy(a);
    ember_value_destroy(b);
    ember_value_destroy(z);
    cudaFree(a_dev);
    cudaFree(b_dev);
    cudaFree(z_dev);
    ember_session_destroy(session);
    return ok;
}

/* ---- 2. output allocated by Ember on the device --------------------------------------- */

static int scenario_ember_allocated_output(ember_env *env)
{
    const char *scenario = "output allocated by Ember on cuda:0";
    ember_session *session = open_session(env, "CUDA");
    ember_io_binding *binding = NULL;
    ember_value *a = NULL, *b = NULL, *z_host_value = NULL, *z = NULL;
    float z_host[N] = {0};
    const char *name = NULL;
    int ok = 0;
    EXPECT(session != NULL);
    EXPECT(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, (void *)a_host, sizeof a_host, host,
                            &a) == EMBER_OK);
    EXPECT(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, (void *)b_host, sizeof b_host, host,
                            &b) == EMBER_OK);
    EXPECT(ember_io_binding_create(session, &binding) == EMBER_OK);
    EXPECT(ember_io_binding_bind_input(binding, "a", a) == EMBER_OK);
    EXPECT(ember_io_binding_bind_input(binding, "b", b) == EMBER_OK);
    EXPECT(ember_io_binding_bind_output_to_device(binding, "z", gpu) == EMBER_OK);
    EXPECT(ember_session_run_with_binding(session, NULL, binding) == EMBER_OK);
    EXPECT(ember_io_binding_get_output_count(binding) == 1);
    EXPECT(ember_io_binding_get_output(binding, 0, &name, &z) == EMBER_OK);
    EXPECT(strcmp(name, "z") == 0);
    EXPECT(ember_value_get_device(z).type == EMBER_DEVICE_CUDA);
    EXPECT(ember_value_get_device(z).id == 0);
    EXPECT(ember_value_get_rank(z) == 2 && ember_value_get_dims(z)[1] == 3);
    struct cudaPointerAttributes attr;
    EXPECT(cudaPointerGetAttributes(&attr, ember_value_get_data(z)) == cudaSuccess);
    EXPECT(attr.type == cudaMemoryTypeDevice && attr.device == 0);
    EXPECT(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, z_host, sizeof z_host, host,
                            &z_host_value) == EMBER_OK);
    EXPECT(ember_value_copy(z_host_value, z) == EMBER_OK);
    EXPECT(close_to_expected(z_host));
    ok = 1;
out:
    ember_io_binding_destroy(binding);
    ember_value_destroy(a);
    ember_value_destroy(b);
    ember_value_destroy(z_host_value);
    ember_session_destroy(session);
    return ok;
}

/* ---- 3. values on cuda:0 from an env with no session -------------------------------- */

static int scenario_values_without_session(void)
{
    const char *scenario = "values on cuda:0 made before any session";
    ember_env *env = NULL;
    ember_session *session = NULL;
    ember_io_binding *binding = NULL;
    ember_value *a_host_value = NULL, *b_host_value = NULL, *a = NULL, *b = NULL, *z = NULL,
                *z_wrapped = NULL;
    float *z_dev = NULL, z_host[N];
    int ok = 0;
    EXPECT(ember_env_create(&env) == EMBER_OK);
    EXPECT(ember_value_create(env, EMBER_DTYPE_FLOAT32, dims, 2, gpu, &a) == EMBER_OK);
    EXPECT(ember_value_create(env, EMBER_DTYPE_FLOAT32, dims, 2, gpu, &b) == EMBER_OK);
    EXPECT(ember_value_create(env, EMBER_DTYPE_FLOAT32, dims, 2, gpu, &z) == EMBER_OK);
    EXPECT(ember_value_get_device(a).type == EMBER_DEVICE_CUDA);
    EXPECT(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, (void *)a_host, sizeof a_host, host,
                            &a_host_value) == EMBER_OK);
    EXPECT(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, (void *)b_host, sizeof b_host, host,
                            &b_host_value) == EMBER_OK);
    EXPECT(ember_value_copy(a, a_host_value) == EMBER_OK);
    EXPECT(ember_value_copy(b, b_host_value) == EMBER_OK);
    session = open_session(env, "CUDA");
    EXPECT(session != NULL);
    EXPECT(ember_io_binding_create(session, &binding) == EMBER_OK);
    EXPECT(ember_io_binding_bind_input(binding, "a", a) == EMBER_OK);
    EXPECT(ember_io_binding_bind_input(binding, "b", b) == EMBER_OK);
    EXPECT(ember_io_binding_bind_output(binding, "z", z) == EMBER_OK);
    EXPECT(ember_session_run_with_binding(session, NULL, binding) == EMBER_OK);
    /* device to device into memory Ember does not own, then read it plainly */
    EXPECT(cudaMalloc((void **)&z_dev, sizeof z_host) == cudaSuccess);
    EXPECT(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, z_dev, sizeof z_host, gpu,
                            &z_wrapped) == EMBER_OK);
    EXPECT(ember_value_copy(z_wrapped, z) == EMBER_OK);
    EXPECT(cudaMemcpy(z_host, z_dev, sizeof z_host, cudaMemcpyDeviceToHost) == cudaSuccess);
    EXPECT(close_to_expected(z_host));
    ok = 1;
out:
    ember_io_binding_destroy(binding);
    ember_session_destroy(session);
    ember_value_destroy(a_host_value);
    ember_value_destroy(b_host_value);
    ember_value_destroy(a);
    ember_value_destroy(b);
    ember_value_destroy(z);
    ember_value_destroy(z_wrapped);
    cudaFree(z_dev);
    ember_env_destroy(env);
    return ok;
}

/* ---- 4. a session without CUDA and a device input ------------------------------------- */

static int scenario_cpu_session_refuses_device_input(ember_env *env)
{
    const char *scenario = "CPU session refuses a cuda input";
    ember_session *session = open_session(env, "CPU");
    ember_io_binding *binding = NULL;
    ember_value *a = NULL, *b = NULL;
    float *a_dev = NULL;
    int ok = 0;
    EXPECT(session != NULL);
    EXPECT(cudaMalloc((void **)&a_dev, sizeof a_host) == cudaSuccess);
    EXPECT(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, a_dev, sizeof a_host, gpu, &a) ==
           EMBER_OK);
    EXPECT(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, (void *)b_host, sizeof b_host, host,
                            &b) == EMBER_OK);
    EXPECT(ember_io_binding_create(session, &binding) == EMBER_OK);
    EXPECT(ember_io_binding_bind_input(binding, "a", a) == EMBER_OK);
    EXPECT(ember_io_binding_bind_input(binding, "b", b) == EMBER_OK);
    EXPECT(ember_io_binding_bind_output_to_device(binding, "z", host) == EMBER_OK);
    EXPECT(ember_session_run_with_binding(session, NULL, binding) != EMBER_OK);
    printf("  (message: %s)\n", ember_last_error());
    EXPECT(strstr(ember_last_error(), "device type 1") != NULL);
    ok = 1;
out:
    ember_io_binding_destroy(binding);
    ember_value_destroy(a);
    ember_value_destroy(b);
    cudaFree(a_dev);
    ember_session_destroy(session);
    return ok;
}

/* ---- main ------------------------------------------------------------------------ */

int main(void)
{
    ember_env *env = NULL;
    char why[512] = "";
    const char *expect_gpu = getenv("EMBER_EXPECT_GPU");
    if (ember_env_create(&env) != EMBER_OK) {
        printf("ember_env_create failed: %s\n", ember_last_error());
        return 1;
    }
    if (!ember_env_provider_available(env, "CUDA", why, sizeof why)) {
        printf("SKIP: the CUDA provider is not usable here: %s\n", why);
        ember_env_destroy(env);
        return expect_gpu && strcmp(expect_gpu, "1") == 0 ? 1 : 77;
    }
    report("cpu reference", cpu_reference(env));
    report("bind cudaMalloc pointers in and out", scenario_pointers(env));
    report("output allocated by Ember on cuda:0", scenario_ember_allocated_output(env));
    report("values on cuda:0 made before any session", scenario_values_without_session());
    report("CPU session refuses a cuda input", scenario_cpu_session_refuses_device_input(env));
    ember_env_destroy(env);
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
