"""A real Home Assistant process from its own venv, and the real Chatterbox server beside it.

Home Assistant runs as ``hass -c CONFIG --skip-pip`` in a process group of its own on a free
loopback port; every failure names the step that failed and shows the tail of its log.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.support.ports import HOST, free_port

ROOT = Path(__file__).resolve().parents[2]
HA_VERSION = "2026.11.0"
HA_VENV = ROOT / ".venv-ha-2026.11"
INTEGRATION = ROOT / "custom_components" / "chatterbox"
START_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 60.0
LOG_TAIL_LINES = 40
RECOVERY_MODE = re.compile(r"(Activating|Starting in) recovery mode")
LOG_RECORD_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")

# Not default_config: it pulls in network discovery (zeroconf, ssdp, dhcp, bluetooth, ...).
CONFIGURATION = """\
homeassistant:
  name: Chatterbox smoke test
  internal_url: {url}
  time_zone: UTC
  country: US
  latitude: 52.37
  longitude: 4.89
  elevation: 0
  unit_system: metric
  currency: EUR
http:
  server_host: {host}
  server_port: {port}
api:
auth:
config:
onboarding:
conversation:
stt:
tts:
{frontend}
logger:
  default: info
  logs:
    custom_components.chatterbox: debug
    homeassistant.components.stt: debug
    homeassistant.components.tts: debug
    homeassistant.components.marketplace: warning  # catalog downloads fail offline
"""


def frontend_installed(venv: Path) -> bool:
    """Whether the venv has home-assistant-frontend (the ``hass_frontend`` package)."""
    return any((venv / "lib").glob("python3*/site-packages/hass_frontend/__init__.py"))


def log_record(log: str, end: int) -> str:
    """The log record (from its timestamped first line, at most 10 lines) ending at ``end``."""
    lines = log[:end].splitlines()[-10:]
    starts = [i for i, line in enumerate(lines) if LOG_RECORD_START.match(line)]
    return "\n".join(lines[starts[-1] if starts else 0 :])


@dataclass(frozen=True)
class Response:
    """One HTTP answer of Home Assistant."""

    status: int
    body: bytes
    content_type: str

    def text(self, limit: int = 1000) -> str:
        """The body as text, cut to ``limit`` characters."""
        return self.body[:limit].decode(errors="replace")


class HassProcess:
    """``hass -c CONFIG --skip-pip`` from ``venv``, in its own process group, on ``port``."""

    def __init__(self, venv: Path, config_dir: Path, port: int) -> None:
        self.venv = venv
        self.config_dir = config_dir
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.log_path = config_dir / "home-assistant.log"
        self.output_path = config_dir / "hass-output.log"
        self.token: str | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def write_config(self) -> None:
        """Write configuration.yaml and put the integration into custom_components/."""
        self.config_dir.mkdir(parents=True)
        frontend = ""
        if not frontend_installed(self.venv):
            # Without home-assistant-frontend, `frontend` fails to set up and Home Assistant
            # falls back to recovery mode (ignoring this configuration, listening on
            # 0.0.0.0:8123). An empty development checkout lets it set up with no UI files.
            (self.config_dir / "frontend-dev" / "hass_frontend").mkdir(parents=True)
            frontend = f"frontend:\n  development_repo: {self.config_dir / 'frontend-dev'}"
        (self.config_dir / "configuration.yaml").write_text(
            CONFIGURATION.format(url=self.url, host=HOST, port=self.port, frontend=frontend)
        )
        shutil.copytree(
            INTEGRATION,
            self.config_dir / "custom_components" / INTEGRATION.name,
            ignore=shutil.ignore_patterns("__pycache__"),
        )

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start hass and wait until its HTTP API answers (the onboarding status)."""
        hass = self.venv / "bin" / "hass"
        if not hass.exists():
            self.fail("start", f"{hass} does not exist (run scripts/setup)")
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
        }
        env.update(
            PATH=f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", PYTHONUNBUFFERED="1"
        )
        command = [str(hass), "-c", str(self.config_dir), "--skip-pip", "--log-no-color"]
        with self.output_path.open("wb") as output:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if (code := self.exit_code()) is not None:
                self.fail("start", f"hass exited with code {code} before its HTTP API answered")
            if match := RECOVERY_MODE.search(output := self._read(self.output_path)):
                self.fail(
                    "start",
                    "Home Assistant fell back to recovery mode (it then ignores "
                    "configuration.yaml and listens on 0.0.0.0:8123):\n"
                    + log_record(output, match.end()),
                )
            with (
                contextlib.suppress(OSError),  # refused, or 404 until onboarding is set up
                urllib.request.urlopen(f"{self.url}/api/onboarding", timeout=2) as answer,
            ):
                if answer.status == HTTPStatus.OK:
                    return
            if time.monotonic() > deadline:
                self.fail("start", f"no answer on {self.url}/api/onboarding within {timeout} s")
            time.sleep(0.25)

    def exit_code(self) -> int | None:
        """The exit code once hass has exited; the process stays unreaped, keeping its group id."""
        if self._process is None:
            return None
        info = os.waitid(os.P_PID, self._process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is None:
            return None
        killed = info.si_code in {os.CLD_KILLED, os.CLD_DUMPED}
        return -info.si_status if killed else info.si_status  # negative: signal, as Popen

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL what is left after a grace period, then reap."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                break
            time.sleep(0.1)
        # The leader is not reaped yet, so its group id is still ours: end any children too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The end of hass's output: its log records (also in home-assistant.log) and stderr.

        Unlike home-assistant.log, which hass starts afresh when it falls back to recovery
        mode, the output holds everything since the start, crashes before logging included.
        """
        text = "\n".join(self._read(self.output_path).splitlines()[-lines:])
        return (
            f"--- last {lines} lines of hass's output ({self.output_path}; "
            f"log: {self.log_path}) ---\n{text or '(empty)'}"
        )

    def fail(self, step: str, detail: str) -> NoReturn:
        """Fail the test, naming the step, with the tail of Home Assistant's log."""
        pytest.fail(f"{step}: {detail}\n{self.log_tail()}", pytrace=False)

    def request(
        self,
        step: str,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        expect: int = HTTPStatus.OK,
        timeout: float = REQUEST_TIMEOUT,
    ) -> Response:
        """Call the HTTP API (with the access token once there is one); fail unless ``expect``."""
        all_headers = dict(headers or {})
        if self.token is not None:
            all_headers["Authorization"] = f"Bearer {self.token}"
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(
            self.url + path, data=data, headers=all_headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                response = Response(answer.status, answer.read(), answer.headers.get_content_type())
        except urllib.error.HTTPError as err:
            response = Response(err.code, err.read(), err.headers.get_content_type())
        except OSError as err:  # refused, reset, timed out
            self.fail(step, f"{method} {path} failed: {err!r}")
        if response.status != expect:
            self.fail(step, f"{method} {path} returned {response.status}: {response.text()}")
        return response

    def request_json(self, step: str, method: str, path: str, **kwargs: Any) -> Any:
        """Call the HTTP API and return the JSON it answered."""
        response = self.request(step, method, path, **kwargs)
        try:
            return json.loads(response.body)
        except ValueError:
            self.fail(step, f"{method} {path} answered no JSON: {response.text()}")

    @staticmethod
    def _read(path: Path) -> str:
        try:
            return path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@pytest.fixture
def ha_venv() -> Path:
    """The venv with Home Assistant 2026.11, or a skip that says how to make it."""
    if not HA_VENV.is_dir():
        pytest.skip(f"no Home Assistant {HA_VERSION} venv at {HA_VENV}: run scripts/setup")
    return HA_VENV


@pytest.fixture
def hass_process(ha_venv: Path, tmp_path: Path, socket_enabled: None) -> Iterator[HassProcess]:
    """A configured, not yet started Home Assistant; stopped (with its children) afterwards."""
    process = HassProcess(ha_venv, tmp_path / "config", free_port())
    process.write_config()
    try:
        yield process
    finally:
        process.stop()
