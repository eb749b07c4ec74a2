#!/usr/bin/env bash
# The GPU check. Runs THERE, on a machine with an NVIDIA GPU, from the
# repository root after tests/gpu/prepare.sh filled gpu-carry/ here; needs
# no compiler and no network, only the driver, CUDA 13's cuBLAS, cuDNN 9,
# OpenBLAS and python3 with onnx (for the benchmark model). Every step has
# its own timeout; the whole stays under 8 minutes. Logs go to $OUT (or
# /tmp)/ember-gpu/; a short table is printed last.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
carry=$root/gpu-carry
logs=${OUT:-/tmp}/ember-gpu
mkdir -p "$logs"
cuda_libs=/usr/local/cuda/lib64:/usr/local/cuda/lib:/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH=$carry/lib:$cuda_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export EMBER_PROVIDER_PATH=$carry/providers
export EMBER_CUDA_PLUGIN=$carry/providers/libember_provider_cuda.so
export EMBER_NODE_DATA=$carry/onnx-data
ember=$carry/bin/ember
python=${PYTHON:-python3} # needs numpy and onnx
ops=$(grep -v '^#' tests/gpu/cuda_ops.txt | paste -sd, -)
table=()
deadline=$((SECONDS + 470)) # every step's timeout is cut to fit under 8 minutes

# step NAME SECONDS SUMMARY_PATTERN COMMAND...: runs COMMAND under a timeout,
# logs it, and keeps the last line matching SUMMARY_PATTERN for the table.
step() {
    local name=$1 limit=$2 pattern=$3
    shift 3
    local left=$((deadline - SECONDS)) start rc summary
    [ "$left" -lt "$limit" ] && limit=$left
    if [ "$limit" -lt 5 ]; then
        table+=("$(printf '%-22s %4s %7s  %s' "$name" - - "skipped: out of time")")
        return 1
    fi
    echo "== $name (timeout ${limit}s): $*"
    start=$SECONDS
    timeout -k 5 "$limit" "$@" >"$logs/$name.log" 2>&1
    rc=$?
    tail -n 5 "$logs/$name.log"
    summary=$(grep -E "$pattern" "$logs/$name.log" | tail -n 1 | cut -c1-70)
    [ "$rc" = 124 ] && summary="TIMEOUT after ${limit}s"
    table+=("$(printf '%-22s %4s %7s  %s' "$name" "$rc" "$((SECONDS - start))" "$summary")")
    return "$rc"
}

# With a GPU present, the tests below fail instead of passing on the CPU
# when the CUDA provider cannot be used.
step device 15 'GPU' nvidia-smi -L && export EMBER_EXPECT_GPU=1
step libraries 15 'not found|^ok' sh -c \
    "ldd $EMBER_CUDA_PLUGIN | grep 'not found' || echo ok"
step unit.cuda 45 'PASSED|FAILED' "$carry/bin/test_cuda"

# The node tests of every op CUDA claims, with CPU behind it; the same set on
# the CPU alone for comparison. One process first (a CUDA context per test
# would cost more than the tests); if it crashes, again with a process per test.
conf=("$carry/bin/ember_conformance" --only-ops "$ops"
      --expect-fail tests/conformance/expected_failures.txt)
if ! step conformance.cuda 150 'passed' "${conf[@]}" --providers cuda,cpu --no-fork; then
    [ "$(grep -c 'passed,' "$logs/conformance.cuda.log")" = 0 ] &&
        step conformance.cuda.fork 90 'passed' "${conf[@]}" --providers cuda,cpu --timeout 20
fi
step conformance.cpu 40 'passed' "${conf[@]}" --providers cpu --no-fork

# io binding on the device, from C and from Python (seconds each).
step io_binding.c 30 'passed|SKIP' "$carry/bin/io_binding"
step io_binding.py 90 'passed|failed|skipped|error' env PYTHONPATH="$carry/python" \
    PYTHONDONTWRITEBYTECODE=1 "$python" -m pytest -q -p no:cacheprovider -rs \
    tests/gpu/test_cuda_io.py

# ResNet-50 (and MobileNetV2): every node on CUDA (--strict), then timed.
models=$logs/models
step make_models 40 'nodes' "$python" bench/make_models.py "$models" --only resnet50,mobilenetv2
step resnet50.strict 40 'CUDA|copies|run:' "$ember" run "$models/resnet50.onnx" \
    --providers cuda --strict
step resnet50.cuda 45 'median|ember:' "$ember" bench "$models/resnet50.onnx" \
    --providers cuda,cpu --warmup 5 --runs 50
step resnet50.cpu 30 'median|ember:' "$ember" bench "$models/resnet50.onnx" \
    --providers cpu --warmup 1 --runs 3
step mobilenetv2.cuda 30 'median|ember:' "$ember" bench "$models/mobilenetv2.onnx" \
    --providers cuda,cpu --warmup 5 --runs 50
# BERT-base (about 440 MB to write) only with the time that is left.
step make_bert 45 'nodes' "$python" bench/make_models.py "$models" --only bert_base &&
    step bert_base.cuda 45 'median|ember:' "$ember" bench "$models/bert_base.onnx" \
        --providers cuda,cpu --warmup 3 --runs 30

echo
echo "== summary (logs in $logs)"
printf '%-22s %4s %7s  %s\n' step rc seconds result
for row in "${table[@]}"; do
    echo "$row"
done
