#!/usr/bin/env bash
# Prepares the GPU check. Runs HERE, on a machine with the CUDA toolkit
# (nvcc, cuBLAS, cuDNN) and no GPU needed: builds Ember with the CUDA
# provider (release, into build-gpu/), then fills the git-ignored folder
# gpu-carry/ at the repository root with what tests/gpu/run.sh needs on the
# GPU machine, where there is no compiler and no network:
#   bin/        ember, ember_conformance, test_cuda
#   lib/        libember and every library ldd resolves that a plain
#               Ubuntu 24.04 with CUDA 13, cuDNN 9 and OpenBLAS lacks
#               (protobuf-c, cmocka, ...)
#   providers/  the CPU and CUDA plugins
#   onnx-data/  the ONNX node tests whose ops are all in tests/gpu/cuda_ops.txt
# Usage: tests/gpu/prepare.sh   (then carry gpu-carry/ and run tests/gpu/run.sh)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-gpu
carry=$root/gpu-carry
cuda_root=${CUDA_PATH:-/usr/local/cuda}
export PATH=$cuda_root/bin:$PATH
jobs=${JOBS:-2}

echo "== build ($build)"
if [ -d "$build/meson-private" ]; then
    meson setup --reconfigure "$build" "$root" -Dbuildtype=release -Dcuda=enabled \
        -Donednn=disabled -Dpython=disabled -Dtests=enabled >/dev/null
else
    meson setup "$build" "$root" -Dbuildtype=release -Dcuda=enabled \
        -Donednn=disabled -Dpython=disabled -Dtests=enabled >/dev/null
fi
ninja -C "$build" -j"$jobs" tools/ember tests/conformance/ember_conformance \
    tests/unit/cuda/test_cuda providers/cpu/libember_provider_cpu.so \
    providers/cuda/libember_provider_cuda.so

echo "== gpu-carry ($carry)"
rm -rf "$carry"
mkdir -p "$carry/bin" "$carry/lib" "$carry/providers"
cp "$build/tools/ember" "$build/tests/conformance/ember_conformance" \
    "$build/tests/unit/cuda/test_cuda" "$carry/bin/"
cp "$build/providers/cpu/libember_provider_cpu.so" \
    "$build/providers/cuda/libember_provider_cuda.so" "$carry/providers/"
find "$build/core" -maxdepth 1 -name 'libember.so*' ! -name '*.symbols' ! -type d \
    -exec cp -P {} "$carry/lib/" \;

# Libraries the target is assumed to have: the C/C++ runtime, OpenBLAS (and
# its Fortran runtime), the CUDA 13 libraries and cuDNN 9, the driver.
present='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|libopenblas|libgfortran|libquadmath|libgomp|libcublas|libcublasLt|libcudnn.*|libcuda|libember)\.so'
for f in "$carry"/bin/* "$carry"/providers/*.so; do
    LD_LIBRARY_PATH=$carry/lib:$cuda_root/lib64:$cuda_root/lib ldd "$f" |
        awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r soname path; do
    if ! [[ $soname =~ $present ]]; then
        cp -L "$path" "$carry/lib/$soname"
        echo "   carried $soname"
    fi
done

echo "== node tests"
data=$build/onnx-data
if [ ! -d "$data/node" ]; then
    if [ -d "$root/build/onnx-data/node" ]; then
        data=$root/build/onnx-data
    else
        python3 "$root/tests/conformance/gen_node_data.py" "$data"
    fi
fi
python3 "$root/tests/gpu/select_node_tests.py" "$root/tests/gpu/cuda_ops.txt" "$data" \
    "$carry/onnx-data"

size_kb=$(du -sk "$carry" | cut -f1)
echo "== gpu-carry holds $((size_kb / 1024)) MiB"
if [ "$size_kb" -gt $((60 * 1024)) ]; then
    echo "gpu-carry is above 60 MiB: too large to carry" >&2
    exit 1
fi
nm -D --defined-only "$carry/providers/libember_provider_cuda.so" | awk '{print "   exports", $3}'

# ---- io binding on the device, C and Python (issue 5) -----------------------------------
# bin/io_binding (tests/gpu/io_binding.c) and python/ember (the package with
# its extension built for the GPU machine's python3: Python 3.12, numpy 2).
echo "== io binding: C scenarios and the Python package"
# A plugin may use nothing of libember: the Python extension links the core
# statically with hidden symbols, so a plugin's reference to ember_* fails
# to load there.
for f in "$carry"/providers/*.so; do
    if nm -D --undefined-only "$f" | grep ' ember_' >/dev/null; then
        echo "$f refers to libember's symbols; plugins get only the host table" >&2
        exit 1
    fi
done
cc -std=c11 -O2 -Wall -Wextra -Werror -I"$root/include" -I"$cuda_root/include" \
    "$root/tests/gpu/io_binding.c" -o "$carry/bin/io_binding" \
    -L"$carry/lib" -lember -L"$cuda_root/lib64" -L"$cuda_root/lib" -lcudart_static \
    -ldl -lpthread -lrt -lm -Wl,-rpath,'$ORIGIN/../lib'
pybuild=$root/build-gpu-python
py312=
for candidate in ${PYTHON_GPU:-} python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
        py312=$candidate
        break
    fi
done
if [ -z "$py312" ]; then
    echo "   no python3.12 here (set PYTHON_GPU): python/ember left out;" \
        "test_cuda_io.py will fail there" >&2
else
    [ -x "$pybuild/venv/bin/python" ] || "$py312" -m venv "$pybuild/venv"
    # setuptools: the distutils that meson's look at a Python 3.12 imports
    venv_python=$pybuild/venv/bin/python
    "$venv_python" -c 'import distutils, numpy, sys; sys.exit(numpy.__version__ < "2")' \
        2>/dev/null || "$venv_python" -m pip install -q 'numpy>=2,<3' setuptools
    printf "[binaries]\npython = '%s'\n" "$pybuild/venv/bin/python" >"$pybuild/python.ini"
    if [ ! -f "$pybuild/build/build.ninja" ]; then
        rm -rf "$pybuild/build"
        meson setup "$pybuild/build" "$root" --native-file "$pybuild/python.ini" \
            -Dbuildtype=release -Dcuda=disabled -Donednn=disabled \
            -Dpython=enabled -Dtests=disabled >"$pybuild/setup.log" ||
            { tail -n 20 "$pybuild/setup.log" >&2; exit 1; }
    fi
    ext=$(cd "$pybuild/build" && meson introspect --targets |
        "$pybuild/venv/bin/python" -c 'import json, sys
print(next(t["filename"][0] for t in json.load(sys.stdin) if t["name"].startswith("_ember.")))')
    ninja -C "$pybuild/build" -j"$jobs" "${ext#"$pybuild/build/"}" >/dev/null
    mkdir -p "$carry/python/ember"
    cp "$root"/python/ember/*.py "$carry/python/ember/"
    cp "$ext" "$carry/python/ember/"
    echo "   python/ember for $("$pybuild/venv/bin/python" -V)," \
        "numpy $("$pybuild/venv/bin/python" -c 'import numpy; print(numpy.__version__)')"
fi
echo "== gpu-carry holds $(( $(du -sk "$carry" | cut -f1) / 1024 )) MiB with io binding"
