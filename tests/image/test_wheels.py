"""Both architectures: every runtime dependency, at the pinned versions, has a CPython 3.13 wheel.

pip resolves the server (addon/server) with the Dockerfile's pins for manylinux x86_64 and
aarch64 (glibc up to Debian trixie's 2.41), binary wheels only, without installing anything;
PyPI's metadata files keep this to a few seconds once pip's cache is warm. A failure names
every package that lacks a wheel.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .pins import ADDON, canonical, dockerfile_pins, runtime_pins

ARCHES = ("x86_64", "aarch64")
PYTHON = "3.13"  # Debian trixie's python3, the add-on image's
GLIBC_MINOR = 41  # Debian trixie's glibc 2.41; manylinux2014 is 2.17
MISSING = re.compile(r"No matching distribution found for (\S+)")

pytestmark = pytest.mark.timeout(600)


def _target(arch: str) -> list[str]:
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MINOR, 16, -1)]
    platforms.append(f"manylinux2014_{arch}")
    args = ["--only-binary=:all:", "--python-version", PYTHON, "--implementation", "cp"]
    for abi in ("cp313", "abi3", "none"):
        args += ["--abi", abi]
    for platform in platforms:
        args += ["--platform", platform]
    return args


def resolve(arch: str, requirements: list[str], tmp: Path, *, deps: bool = True) -> dict[str, str]:
    """Resolve ``requirements`` for ``arch``: ``{name: wheel file}``; AssertionError if not."""
    report = tmp / f"report-{arch}.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
    command += ["--quiet", "--report", str(report), "--target", str(tmp / "target")]
    command += [*_target(arch), *([] if deps else ["--no-deps"]), *requirements]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
        raise AssertionError("\n".join(errors[-3:]) or result.stderr.strip())
    installs = json.loads(report.read_text())["install"]
    return {
        canonical(item["metadata"]["name"]): item["download_info"]["url"].rsplit("/", 1)[-1]
        for item in installs
    }


def missing_wheels(arch: str, requirements: list[str], fallback: list[str], tmp: Path) -> list[str]:
    """Resolve; when that fails, check each of ``fallback`` alone to name all that lack one."""
    try:
        resolve(arch, requirements, tmp)
    except AssertionError as whole:
        missing = []
        for requirement in fallback:
            try:
                resolve(arch, [requirement], tmp, deps=False)
            except AssertionError:
                missing.append(requirement)
        return missing or [m[1] for m in MISSING.finditer(str(whole))] or [str(whole)]
    return []


@pytest.fixture(scope="module")
def server_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """addon/server copied out of the checkout, so pip builds its metadata elsewhere."""
    target = tmp_path_factory.mktemp("wheels") / "server"
    shutil.copytree(ADDON / "server", target, ignore=shutil.ignore_patterns("*.egg-info", "build"))
    return target


def test_dockerfile_pins_are_the_tested_pins() -> None:
    """The images install requirements-server.txt's versions of the server's dependencies."""
    expected = runtime_pins()
    assert dockerfile_pins(ADDON / "Dockerfile") == expected
    cuda = dockerfile_pins(ADDON / "Dockerfile.cuda")
    assert {k: v for k, v in cuda.items() if k != "onnxruntime-gpu"} == expected
    assert "onnxruntime-gpu" in cuda


def test_every_dependency_has_a_wheel_for_both_architectures(
    server_copy: Path, tmp_path: Path
) -> None:
    pins = [f"{name}=={version}" for name, version in dockerfile_pins(ADDON / "Dockerfile").items()]
    requirements = [str(server_copy), *pins]
    resolved: dict[str, dict[str, str]] = {}
    failures = []
    for arch in ARCHES:
        try:
            resolved[arch] = resolve(arch, requirements, tmp_path)
        except AssertionError:
            failures.append(arch)
    for arch in failures:  # name them: each package found for another architecture, alone
        others = next((r for a, r in resolved.items() if a != arch), {})
        fallback = [_pinned(file) for name, file in others.items() if name != "chatterbox-server"]
        missing = missing_wheels(arch, requirements, fallback or pins, tmp_path)
        pytest.fail(f"no CPython {PYTHON} manylinux {arch} wheel for: {', '.join(missing)}")
    for arch, wheels in resolved.items():
        for name, version in dockerfile_pins(ADDON / "Dockerfile").items():
            assert f"-{version}-" in wheels[name].replace("_", "-"), (arch, name, wheels[name])
        print(
            f"{arch}: {len(wheels) - 1} wheels, " + ", ".join(sorted(map(_pinned, wheels.values())))
        )


def test_cuda_image_dependencies_have_x86_64_wheels(server_copy: Path, tmp_path: Path) -> None:
    """Dockerfile.cuda's second step: onnxruntime-gpu with NVIDIA's CUDA 12 libraries."""
    cuda = dockerfile_pins(ADDON / "Dockerfile.cuda")
    wheels = resolve(
        "x86_64", [f"onnxruntime-gpu[cuda,cudnn]=={cuda['onnxruntime-gpu']}"], tmp_path
    )
    # CTranslate2 4.x loads libcublas.so.12: the CUDA libraries must be CUDA 12's as well.
    nvidia = [name for name in wheels if name.startswith("nvidia-")]
    assert nvidia, wheels
    assert all(name.endswith("-cu12") for name in nvidia), nvidia


def _pinned(wheel_file: str) -> str:
    """``name==version`` of a wheel's file name (or a pip argument left as it is)."""
    if not wheel_file.endswith(".whl"):
        return wheel_file
    name, version = wheel_file.split("-")[:2]
    return f"{canonical(name)}=={version}"
