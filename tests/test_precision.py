"""Precision that pays, and a quiet start, on whatever CPU runs the tests.

The CPU differs from machine to machine (AVX2 only; AVX-512 with bf16 units; AMX), so
nothing here asserts what one CPU gives: `auto` is checked against the hardware and the
measurement it reports, and the emulations (`ONEDNN_MAX_CPU_ISA=AVX512_CORE`: no bf16 units,
`TF_ENABLE_ONEDNN_OPTS=0`: what TensorFlow does on AVX2) must make it choose float32.
"""

import json
import os
import subprocess
import sys

import pytest

from nst.device import cpu_flags, onednn_enabled
from nst.quiet import is_chatter

pytestmark = pytest.mark.kernels

CHOOSE = "import json; from nst.precision import choose; c = choose('auto'); print(json.dumps(c.__dict__))"
HAS_BF16_FLAGS = bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def choose_auto(tmp_path, **env) -> dict:
    done = subprocess.run([sys.executable, "-c", CHOOSE], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NST_CACHE_DIR": str(tmp_path), **env})
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # no start-up chatter either
    return json.loads(done.stdout)


def test_auto_follows_the_hardware_and_the_measurement(tmp_path, record_property):
    choice = choose_auto(tmp_path)
    record_property("precision auto", f"{choice['precision']} ({choice['reason']})")
    assert choice["reason"].startswith("auto: ")
    if not HAS_BF16_FLAGS and "GPU" not in choice["reason"]:
        assert choice["precision"] == "float32" and "neither avx512_bf16 nor amx_bf16" in choice["reason"]
    elif not onednn_enabled() and "GPU" not in choice["reason"]:  # the TF_ENABLE_ONEDNN_OPTS=0 variant of CI
        assert choice["precision"] == "float32" and "oneDNN is off" in choice["reason"]
    else:
        ratio = float(choice["reason"].split(" ran ")[1].split("x")[0])
        assert choice["precision"] == ("bfloat16" if ratio >= 1.25 else "float32")
    assert choose_auto(tmp_path) == choice  # from the cache the second time


@pytest.mark.parametrize("env", [{"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}, {"TF_ENABLE_ONEDNN_OPTS": "0"}],
                         ids=["no-bf16-units", "avx2-like"])
def test_auto_picks_float32_where_bfloat16_would_be_emulated_or_widened(tmp_path, env):
    if os.environ.get("CUDA_VISIBLE_DEVICES", "-1") != "-1" and "GPU" in choose_auto(tmp_path)["reason"]:
        pytest.skip("a GPU decides here, not the CPU's oneDNN")
    choice = choose_auto(tmp_path, **env)
    assert choice["precision"] == "float32", choice


def test_explicit_precision_is_kept_and_said_so(tmp_path):
    from nst.precision import choose

    assert choose("bfloat16").precision == "bfloat16" and choose("float32").reason == "float32 was asked for"


@pytest.mark.parametrize(
    "line",
    [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1795620227.794703    3980 port.cc:153] oneDNN custom operations are on. You may see slightly "
        "different numerical results due to floating-point round-off errors from different computation orders.",
        "I0000 00:00:1732028361.123456   12345 cpu_feature_guard.cc:210] This TensorFlow binary is optimized to use "
        "available CPU instructions in performance-critical operations.",
        "E0000 00:00:1732028361.987654   12345 cuda_dnn.cc:8310] Unable to register cuDNN factory: Attempting to "
        "register factory for plugin cuDNN when one has already been registered",
        "W0000 00:00:1732028362.000001   12345 computation_placer.cc:177] computation placer already registered.",
        "E0000 00:00:1732028362.5   12345 cuda_executor.cc:1228] failed call to cuInit: CUDA_ERROR_NO_DEVICE",
    ],
)
def test_tensorflow_start_up_lines_are_recognised(line):
    assert is_chatter(line)


@pytest.mark.parametrize("line", ["nst: error: a.png: no such file", "Traceback (most recent call last):",
                                  "F0000 00:00:1.0   1 mkl_util.h:2] Check failed: could not create a primitive"])
def test_other_lines_are_kept(line):
    assert not is_chatter(line)
