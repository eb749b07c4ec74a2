#!/bin/sh
# Fails when libember.so depends on a provider library (DESIGN: the core
# never links a provider; it dlopens them).
set -e
lib=$1
deps=$(ldd "$lib")
echo "$deps"
if echo "$deps" | grep -q 'libember_provider'; then
    echo "FAIL: $lib links a provider" >&2
    exit 1
fi
if echo "$deps" | grep -qi 'openblas'; then
    echo "FAIL: $lib links OpenBLAS, which belongs to the CPU provider" >&2
    exit 1
fi
echo "ok: $lib links no provider"
