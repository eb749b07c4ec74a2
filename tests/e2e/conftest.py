"""Fixtures for the end-to-end tests of the `ember` command.

EMBER_BIN names the built binary; EMBER_PROVIDER_PATH (passed through) says
where the providers are. The example models come from bench/make_models.py.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def error_line(self) -> str:
        """The single stderr line of a failed command (asserted to be one line)."""
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, f"expected one error line, got: {self.stderr!r}"
        assert lines[0].startswith("ember: "), lines[0]
        return lines[0]


@pytest.fixture(scope="session")
def ember_bin() -> str:
    path = os.environ.get("EMBER_BIN")
    if not path:
        raise pytest.UsageError("set EMBER_BIN to the built `ember` binary "
                                "(e.g. build/tools/ember)")
    if not os.access(path, os.X_OK):
        raise pytest.UsageError(f"EMBER_BIN={path} is not an executable")
    return path


@pytest.fixture(scope="session")
def run_ember(ember_bin):
    """Runs `ember ARGS...`; env overrides are merged into os.environ."""

    def run(*args, env: dict | None = None, cwd=None) -> Result:
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run([ember_bin, *map(str, args)], capture_output=True, text=True,
                              env=full_env, cwd=cwd, timeout=300)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models")
    subprocess.run([sys.executable, str(REPO / "bench" / "make_models.py"), str(out),
                    "--only", "resnet_small,mlp,tiny_add"],
                   check=True, capture_output=True)
    return out
