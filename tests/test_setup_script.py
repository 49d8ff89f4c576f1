"""scripts/setup fails loudly, naming the step, and leaves nothing a rerun would trust.

Nothing means: no .venv marked ready, no Debian root marked ready, no mount.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READY = ".venv/.chatterbox-ready"


def run(
    script: Path, env: dict[str, str], user: int | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        user=user,
        group=user,
        extra_groups=[] if user is not None else None,
    )


def clone(into: Path) -> Path:
    repo = into / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True, timeout=120)
    return repo


def failed_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if "FAILED" in line]


def mounts_under(path: Path) -> list[str]:
    mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
    return [line for line in mountinfo if f" {path}/" in line or f" {path} " in line]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run setup as another user")
def test_debian_root_needs_root() -> None:
    """Without root privileges the Debian root can't be made: that step fails with its reason."""
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)  # readable by the unprivileged user
        repo = clone(Path(tmp))
        home = Path(tmp, "home")
        home.mkdir()
        os.chown(home, 65534, 65534)
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(home),
            "CHATTERBOX_DEVROOT": "always",
        }
        result = run(repo / "scripts" / "setup", env, user=65534)
        assert result.returncode == 1, result.stderr
        assert failed_lines(result) == [
            '[setup] FAILED in step "Debian sid root": making a Debian sid root needs root '
            "(debootstrap, chroot, mounts); run as root or put a Python 3.14.2 on PATH"
        ]
        assert not (repo / ".devroot").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="making a Debian root needs root")
def test_unreachable_mirror_fails_the_root_step_and_leaves_no_mount(tmp_path: Path) -> None:
    """Debootstrap can't reach the mirror: the step says so; nothing is mounted or trusted."""
    repo = clone(tmp_path)
    env = {
        **os.environ,
        "CHATTERBOX_DEVROOT": "always",
        "CHATTERBOX_DEBIAN_MIRROR": "http://127.0.0.1:9/debian",  # nothing listens there
        "CHATTERBOX_CACHE": str(tmp_path / "cache"),
    }
    result = run(repo / "scripts" / "setup", env)
    assert result.returncode == 1, result.stderr
    (line,) = failed_lines(result)
    assert line.startswith(
        '[setup] FAILED in step "Debian sid root": debootstrap sid from '
        "http://127.0.0.1:9/debian failed"
    )
    assert not (repo / ".devroot" / "sid" / ".chatterbox-root-ready").exists()
    assert not (repo / ".venv").exists()
    assert mounts_under(repo) == []


def test_install_failure_leaves_no_trusted_venv(tmp_path: Path) -> None:
    """An unreachable package index fails the install step, and nothing trusts that .venv.

    The .venv it made is not marked ready, and scripts/test refuses it.
    """
    repo = clone(tmp_path)
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
    result = run(repo / "scripts" / "setup", env)
    assert result.returncode != 0
    assert '[setup] FAILED in step "install packages (.venv)"' in result.stderr
    assert (repo / ".venv" / "bin" / "python").exists()
    assert not (repo / READY).exists()
    assert mounts_under(repo) == []

    refused = run(repo / "scripts" / "test", env)
    assert refused.returncode == 1
    assert "run scripts/setup first" in refused.stderr
