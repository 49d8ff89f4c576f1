"""scripts/setup fails loudly, naming the step, and never leaves a .venv a rerun would trust."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READY = ".venv/.chatterbox-ready"


def run(script: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_no_python_and_no_pyenv(tmp_path: Path) -> None:
    """Nothing to run or build with: the Python step fails with its reason, in one line."""
    if any(
        Path(d, f"python3.{minor}").exists() for d in ("/usr/bin", "/bin") for minor in (13, 14)
    ):
        pytest.skip("this machine has a system python3.13/3.14 that setup would rightly use")
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",  # no pyenv, no shims
        "HOME": str(tmp_path),
        "PYENV_ROOT": str(tmp_path / "no-pyenv"),
        "CHATTERBOX_CACHE": str(tmp_path / "cache"),
    }
    result = run(ROOT / "scripts" / "setup", env)
    assert result.returncode == 1
    failed = [line for line in result.stderr.splitlines() if "FAILED" in line]
    assert failed == [
        '[setup] FAILED in step "Python >= 3.13.2": no Python >= 3.13.2 found and no pyenv '
        "to build one (set CHATTERBOX_PYTHON)"
    ]


def test_install_failure_leaves_no_trusted_venv(tmp_path: Path) -> None:
    """An unreachable package index fails the install step, and nothing trusts that .venv.

    The .venv it made is not marked ready, and scripts/test refuses it.
    """
    clone = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    env = {
        **os.environ,
        "CHATTERBOX_CACHE": str(tmp_path / "cache"),  # nothing cached: constraints must download
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",  # nothing listens on the discard port
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_FIND_LINKS": "",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2",
        "PIP_NO_CACHE_DIR": "1",
    }
    result = run(clone / "scripts" / "setup", env)
    assert result.returncode != 0
    assert '[setup] FAILED in step "install packages"' in result.stderr
    assert (clone / ".venv" / "bin" / "python").exists()
    assert not (clone / READY).exists()

    refused = run(clone / "scripts" / "test", env)
    assert refused.returncode == 1
    assert "run scripts/setup first" in refused.stderr
