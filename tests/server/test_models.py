"""Model and voice resolution: catalogues, data dirs, offline mode, downloads at the hub boundary.

The hub is never reached: huggingface_hub's download functions are replaced by spies that either
fail the test (to prove a path stays offline) or stand in for the hub by copying the generated
test models (to check what would be downloaded, and where it lands). One end-to-end test runs the
real huggingface_hub against a loopback listener to prove local_files_only opens no connection.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import huggingface_hub
import pytest
from faster_whisper.utils import _MODELS as FASTER_WHISPER_MODELS
from huggingface_hub.errors import LocalEntryNotFoundError

from chatterbox_server import models
from chatterbox_server.models import (
    STT_CATALOGUE,
    ModelNotFoundError,
    VoiceFiles,
    list_voices,
    refresh_voice_catalogue,
    resolve_stt_model,
    resolve_voice,
)
from chatterbox_server.models.common import LogProgress

TEST_VOICE = "en_US-test-medium"
MULTI_VOICE = "en_US-testmulti-medium"
LESSAC = "en_US-lessac-medium"
LESSAC_FILES = [
    "en/en_US/lessac/medium/en_US-lessac-medium.onnx.json",
    "en/en_US/lessac/medium/en_US-lessac-medium.onnx",
]


# --- hub boundary ------------------------------------------------------------------------------


def _forbid(*args: Any, **kwargs: Any) -> Any:
    pytest.fail(f"the hub was called: {args} {kwargs}")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to download."""
    monkeypatch.setattr(huggingface_hub, "snapshot_download", _forbid)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _forbid)
    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", _forbid)


class FakeHub:
    """Stands in for the hub's download functions; records every call."""

    def __init__(self, test_models: Path) -> None:
        self.test_models = test_models
        self.calls: list[tuple[str, str | None, dict[str, Any]]] = []
        self.checked: list[str] = []  # URLs asked about before a download
        self.files: dict[str, bytes] = {}
        self.error: Exception | None = None

    def snapshot_download(self, repo_id: str, **kwargs: Any) -> str:
        self.calls.append((repo_id, None, kwargs))
        if self.error:
            raise self.error
        local_dir = Path(kwargs["local_dir"])
        shutil.copytree(self.test_models / "stt", local_dir, dirs_exist_ok=True)
        return str(local_dir)

    def get_hf_file_metadata(self, url: str, **kwargs: Any) -> None:
        self.checked.append(url)
        if self.error:
            raise self.error

    def hf_hub_download(self, repo_id: str, filename: str, **kwargs: Any) -> str:
        self.calls.append((repo_id, filename, kwargs))
        if self.error:
            raise self.error
        target = Path(kwargs["local_dir"]) / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        if filename in self.files:
            target.write_bytes(self.files[filename])
        else:
            suffix = ".onnx.json" if filename.endswith(".json") else ".onnx"
            shutil.copy(self.test_models / "tts" / f"{TEST_VOICE}{suffix}", target)
        return str(target)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, test_models: Path) -> FakeHub:
    fake = FakeHub(test_models)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake.snapshot_download)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake.hf_hub_download)
    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", fake.get_hf_file_metadata)
    return fake


def copy_model(test_models: Path, target: Path) -> Path:
    shutil.copytree(test_models / "stt", target)
    return target


def copy_voice(test_models: Path, directory: Path, name: str, source: str = TEST_VOICE) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(test_models / "tts" / f"{source}.onnx", directory / f"{name}.onnx")
    shutil.copy(test_models / "tts" / f"{source}.onnx.json", directory / f"{name}.onnx.json")


def assert_one_line_naming(error: pytest.ExceptionInfo[Exception], *needles: object) -> None:
    message = str(error.value)
    assert "\n" not in message
    for needle in needles:
        assert str(needle) in message, f"{needle} not in: {message}"


# --- STT ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "repo_id"),
    [
        ("tiny-int8", "rhasspy/faster-whisper-tiny-int8"),
        ("base-int8", "rhasspy/faster-whisper-base-int8"),
        ("small-int8", "rhasspy/faster-whisper-small-int8"),
        ("medium-int8", "rhasspy/faster-whisper-medium-int8"),
        ("tiny", "Systran/faster-whisper-tiny"),
        ("base.en", "Systran/faster-whisper-base.en"),
        ("large-v3", "Systran/faster-whisper-large-v3"),
        ("turbo", "mobiuslabsgmbh/faster-whisper-large-v3-turbo"),
        ("someone/custom-ct2-whisper", "someone/custom-ct2-whisper"),
    ],
)
def test_stt_spec_downloads_its_repo(hub: FakeHub, tmp_path: Path, name: str, repo_id: str) -> None:
    path = resolve_stt_model(
        name, data_dirs=[tmp_path / "data"], download_dir=tmp_path / "dl", local_files_only=False
    )
    repo_name = repo_id.split("/")[1]
    assert path == tmp_path / "dl" / repo_name
    assert (path / "model.bin").is_file()
    [(called_repo, _, kwargs)] = hub.calls
    assert called_repo == repo_id
    assert Path(kwargs["local_dir"]) == tmp_path / "dl" / repo_name
    assert kwargs["local_files_only"] is False
    assert set(kwargs["allow_patterns"]) >= {"model.bin", "config.json", "tokenizer.json"}
    # Downloaded once; the next start finds it without the hub.
    again = resolve_stt_model(
        name, data_dirs=[tmp_path / "data"], download_dir=tmp_path / "dl", local_files_only=True
    )
    assert again == path
    assert len(hub.calls) == 1


def test_stt_catalogue_agrees_with_faster_whisper() -> None:
    shared = set(STT_CATALOGUE) & set(FASTER_WHISPER_MODELS)
    assert {"tiny", "base", "small", "medium", "large-v3", "turbo"} <= shared
    for name in shared:
        assert STT_CATALOGUE[name] == FASTER_WHISPER_MODELS[name], name


def test_stt_local_directory(
    offline: None, test_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs: dict[str, Any] = {"data_dirs": [], "download_dir": tmp_path, "local_files_only": True}
    stt = test_models / "stt"
    assert resolve_stt_model(str(stt), **kwargs) == stt.resolve()
    monkeypatch.chdir(test_models)
    assert resolve_stt_model("stt", **kwargs) == stt.resolve()
    assert resolve_stt_model("./stt/", **kwargs) == stt.resolve()
    monkeypatch.chdir(test_models.parent)
    assert resolve_stt_model(f"{test_models.name}/stt", **kwargs) == stt.resolve()


def test_stt_directory_without_model(offline: None, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError) as error:
        resolve_stt_model(
            str(tmp_path / "empty"), data_dirs=[], download_dir=tmp_path, local_files_only=False
        )
    assert_one_line_naming(error, tmp_path / "empty", "model.bin")
    with pytest.raises(ModelNotFoundError) as error:
        resolve_stt_model(
            str(tmp_path / "nope"), data_dirs=[], download_dir=tmp_path, local_files_only=False
        )
    assert_one_line_naming(error, tmp_path / "nope", "does not exist")


def test_stt_found_in_data_dir_before_download_dir(
    offline: None, test_models: Path, tmp_path: Path
) -> None:
    first, second, download = tmp_path / "a", tmp_path / "b", tmp_path / "dl"
    copy_model(test_models, second / "faster-whisper-base-int8")
    copy_model(test_models, download / "faster-whisper-base-int8")
    found = resolve_stt_model(
        "base-int8", data_dirs=[first, second], download_dir=download, local_files_only=False
    )
    assert found == second / "faster-whisper-base-int8"
    # A catalogue name also matches a directory named after it; a custom name only that.
    copy_model(test_models, first / "my-model")
    found = resolve_stt_model(
        "my-model", data_dirs=[first, second], download_dir=download, local_files_only=False
    )
    assert found == first / "my-model"


def test_stt_found_in_hub_cache_layout(offline: None, test_models: Path, tmp_path: Path) -> None:
    """A dir used as faster-whisper's / wyoming-faster-whisper's download root works offline."""
    repo = tmp_path / "cache" / "models--rhasspy--faster-whisper-tiny-int8"
    commit = "0123456789abcdef0123456789abcdef01234567"
    copy_model(test_models, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    found = resolve_stt_model(
        "tiny-int8", data_dirs=[tmp_path / "cache"], download_dir=tmp_path, local_files_only=True
    )
    assert found == repo / "snapshots" / commit


def test_stt_local_files_only_missing(offline: None, tmp_path: Path) -> None:
    dirs = [tmp_path / "data1", tmp_path / "data2"]
    with pytest.raises(ModelNotFoundError) as error:
        resolve_stt_model(
            "small-int8", data_dirs=dirs, download_dir=tmp_path / "dl", local_files_only=True
        )
    assert_one_line_naming(
        error,
        "small-int8",
        "rhasspy/faster-whisper-small-int8",
        dirs[0] / "faster-whisper-small-int8",
        dirs[1] / "faster-whisper-small-int8",
        tmp_path / "dl" / "faster-whisper-small-int8",
        dirs[0] / "models--rhasspy--faster-whisper-small-int8",
        "downloads are off",
    )


def test_stt_unknown_name_is_not_downloaded(offline: None, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as error:
        resolve_stt_model(
            "tinyy", data_dirs=[tmp_path], download_dir=tmp_path / "dl", local_files_only=False
        )
    assert_one_line_naming(error, "tinyy", tmp_path / "tinyy", "catalogue", "base-int8")


def test_stt_download_failure_is_one_line(hub: FakeHub, tmp_path: Path) -> None:
    hub.error = LocalEntryNotFoundError("connection refused\nplease check your network")
    with pytest.raises(ModelNotFoundError) as error:
        resolve_stt_model("base", data_dirs=[], download_dir=tmp_path, local_files_only=False)
    assert_one_line_naming(
        error, "Systran/faster-whisper-base", "download from the hub failed", "connection refused"
    )


# --- voices ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["../x", "/etc/passwd", "a/b", "..", "x/../../y", "", "a\\b", "en_US..x", ".hidden"]
)
def test_voice_names_that_could_escape_are_rejected(
    offline: None, tmp_path: Path, name: str
) -> None:
    with pytest.raises(ValueError, match="invalid voice name"):
        resolve_voice(name, data_dirs=[tmp_path], download_dir=tmp_path, local_files_only=False)


def test_voice_path_only_when_allowed(offline: None, test_models: Path, tmp_path: Path) -> None:
    onnx = test_models / "tts" / f"{TEST_VOICE}.onnx"
    kwargs: dict[str, Any] = {"data_dirs": [], "download_dir": tmp_path, "local_files_only": True}
    assert resolve_voice(str(onnx), **kwargs) == VoiceFiles(
        TEST_VOICE, onnx.resolve(), Path(f"{onnx}.json").resolve()
    )
    with pytest.raises(ValueError, match="invalid voice name"):
        resolve_voice(str(onnx), **kwargs, allow_path=False)


def test_voice_relative_path(
    offline: None, test_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(test_models)
    voice = resolve_voice(
        f"tts/{MULTI_VOICE}.onnx", data_dirs=[], download_dir=tmp_path, local_files_only=True
    )
    assert voice.name == MULTI_VOICE
    assert voice.onnx == (test_models / "tts" / f"{MULTI_VOICE}.onnx").resolve()


def test_voice_path_without_config(offline: None, test_models: Path, tmp_path: Path) -> None:
    shutil.copy(test_models / "tts" / f"{TEST_VOICE}.onnx", tmp_path / "lonely.onnx")
    with pytest.raises(ModelNotFoundError) as error:
        resolve_voice(
            str(tmp_path / "lonely.onnx"),
            data_dirs=[],
            download_dir=tmp_path,
            local_files_only=False,
        )
    assert_one_line_naming(error, tmp_path / "lonely.onnx.json")


def test_custom_voice_by_name(offline: None, test_models: Path, tmp_path: Path) -> None:
    voice = resolve_voice(
        MULTI_VOICE,
        data_dirs=[tmp_path / "missing", test_models / "tts"],
        download_dir=tmp_path / "dl",
        local_files_only=True,
    )
    assert voice == VoiceFiles(
        MULTI_VOICE,
        test_models / "tts" / f"{MULTI_VOICE}.onnx",
        test_models / "tts" / f"{MULTI_VOICE}.onnx.json",
    )
    # "name.onnx" with no such file here is the name.
    assert (
        resolve_voice(
            f"{MULTI_VOICE}.onnx",
            data_dirs=[test_models / "tts"],
            download_dir=tmp_path / "dl",
            local_files_only=True,
        )
        == voice
    )


def test_catalogue_voice_on_disk_and_alias(
    offline: None, test_models: Path, tmp_path: Path
) -> None:
    copy_voice(test_models, tmp_path / "data", LESSAC)
    kwargs: dict[str, Any] = {
        "data_dirs": [tmp_path / "data"],
        "download_dir": tmp_path / "dl",
        "local_files_only": False,
    }
    voice = resolve_voice(LESSAC, **kwargs)
    assert voice.onnx == tmp_path / "data" / f"{LESSAC}.onnx"
    assert resolve_voice("en-us-lessac-medium", **kwargs) == voice


def test_voice_local_files_only_missing(offline: None, tmp_path: Path) -> None:
    dirs = [tmp_path / "one", tmp_path / "two"]
    with pytest.raises(ModelNotFoundError) as error:
        resolve_voice(LESSAC, data_dirs=dirs, download_dir=tmp_path / "dl", local_files_only=True)
    assert_one_line_naming(error, LESSAC, *dirs, tmp_path / "dl", "downloads are off")


def test_voice_not_in_catalogue_is_not_downloaded(offline: None, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as error:
        resolve_voice(
            "xx_XX-nobody-low", data_dirs=[tmp_path], download_dir=tmp_path, local_files_only=False
        )
    assert_one_line_naming(error, "xx_XX-nobody-low", tmp_path, "not in the voice catalogue")


def test_voice_download(hub: FakeHub, test_models: Path, tmp_path: Path) -> None:
    download = tmp_path / "dl"
    voice = resolve_voice(
        LESSAC, data_dirs=[tmp_path / "data"], download_dir=download, local_files_only=False
    )
    assert voice == VoiceFiles(
        LESSAC, download / f"{LESSAC}.onnx", download / f"{LESSAC}.onnx.json"
    )
    assert voice.onnx.read_bytes() == (test_models / "tts" / f"{TEST_VOICE}.onnx").read_bytes()
    assert voice.config.is_file()
    assert [(repo, name) for repo, name, _ in hub.calls] == [
        ("rhasspy/piper-voices", file) for file in LESSAC_FILES
    ]
    assert all(not kwargs.get("local_files_only") for _, _, kwargs in hub.calls)
    assert [url.rsplit("/", 1)[1] for url in hub.checked] == [f"{LESSAC}.onnx.json"]
    # Present now: found offline, listed as installed.
    again = resolve_voice(LESSAC, data_dirs=[], download_dir=download, local_files_only=True)
    assert again == voice
    assert len(hub.calls) == 2
    [entry] = [v for v in list_voices(data_dirs=[], download_dir=download) if v.name == LESSAC]
    assert entry.installed


def test_voice_download_failure(hub: FakeHub, tmp_path: Path) -> None:
    hub.error = LocalEntryNotFoundError("cannot reach the hub\nsecond line")
    with pytest.raises(ModelNotFoundError) as error:
        resolve_voice(LESSAC, data_dirs=[], download_dir=tmp_path, local_files_only=False)
    assert_one_line_naming(error, LESSAC, "download from the hub failed", "cannot reach the hub")
    assert not (tmp_path / f"{LESSAC}.onnx").exists()
    assert hub.calls == []  # the hub's check failed: no download (with its retries) tried
    assert error.value.fix is not None
    for needle in ("--tts-voice", "--data-dir", "--local-files-only"):
        assert needle in error.value.fix


# --- listing and catalogue ---------------------------------------------------------------------


def by_name(entries: list[models.VoiceEntry]) -> dict[str, models.VoiceEntry]:
    return {entry.name: entry for entry in entries}


def test_list_voices_with_test_models(test_models: Path, tmp_path: Path) -> None:
    entries = list_voices(data_dirs=[test_models / "tts"], download_dir=tmp_path)
    voices = by_name(entries)
    catalogue = models.shipped_catalogue()
    assert len(entries) == len(catalogue) + 2
    assert [e.name for e in entries] == sorted(voices)

    single, multi = voices[TEST_VOICE], voices[MULTI_VOICE]
    assert (single.installed, single.languages, single.speakers) == (True, ["en_US"], [])
    assert (multi.installed, multi.languages, multi.speakers) == (True, ["en_US"], ["alice", "bob"])
    assert single.quality == "medium"

    lessac = voices[LESSAC]
    assert (lessac.installed, lessac.languages, lessac.quality) == (False, ["en_US"], "medium")
    assert not any(entry.installed for name, entry in voices.items() if name in catalogue)
    libritts = voices["en_US-libritts_r-medium"]
    id_map = catalogue["en_US-libritts_r-medium"]["speaker_id_map"]
    assert len(libritts.speakers) == len(id_map) > 100
    assert [id_map[s] for s in libritts.speakers] == sorted(id_map.values())


def test_list_voices_marks_installed_catalogue_voice(test_models: Path, tmp_path: Path) -> None:
    copy_voice(test_models, tmp_path / "data", "en-us-lessac-medium")  # under its alias
    voices = by_name(list_voices(data_dirs=[tmp_path / "data"], download_dir=tmp_path / "dl"))
    assert voices[LESSAC].installed
    assert "en-us-lessac-medium" not in voices


def fake_catalogue(name: str) -> dict[str, Any]:
    entry = models.shipped_catalogue()[LESSAC] | {"key": name, "aliases": []}
    return {name: entry}


def test_refreshed_catalogue_overrides_shipped(
    offline: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    download = tmp_path / "dl"
    download.mkdir()
    (download / "voices.json").write_text(json.dumps(fake_catalogue("xx_XX-fresh-medium")))
    assert [v.name for v in list_voices(data_dirs=[], download_dir=download)] == [
        "xx_XX-fresh-medium"
    ]
    with pytest.raises(ModelNotFoundError, match="not in the voice catalogue"):
        resolve_voice(LESSAC, data_dirs=[], download_dir=download, local_files_only=False)
    # A broken copy is ignored (with a warning), not fatal.
    (download / "voices.json").write_text("{not json")
    with caplog.at_level(logging.WARNING):
        names = {v.name for v in list_voices(data_dirs=[], download_dir=download)}
    assert LESSAC in names
    assert "voices.json" in caplog.text


def test_refresh_voice_catalogue(hub: FakeHub, tmp_path: Path) -> None:
    download = tmp_path / "dl"
    hub.files["voices.json"] = json.dumps(fake_catalogue("xx_XX-fresh-medium")).encode()
    path = refresh_voice_catalogue(download)
    assert path == download / "voices.json"
    assert [(repo, name) for repo, name, _ in hub.calls] == [
        ("rhasspy/piper-voices", "voices.json")
    ]
    assert set(models.load_voice_catalogue(download)) == {"xx_XX-fresh-medium"}
    # Something that isn't a catalogue doesn't replace the good copy.
    hub.files["voices.json"] = b"[1, 2, 3]"
    with pytest.raises(ValueError, match=r"voices\.json"):
        refresh_voice_catalogue(download)
    assert set(models.load_voice_catalogue(download)) == {"xx_XX-fresh-medium"}


def test_shipped_catalogue_paths_are_hub_paths() -> None:
    catalogue = models.shipped_catalogue()
    assert len(catalogue) > 100
    for key, info in catalogue.items():
        lang = info["language"]
        folder = f"{lang['family']}/{lang['code']}/{info['name']}/{info['quality']}"
        assert f"{folder}/{key}.onnx" in info["files"], key
        assert f"{folder}/{key}.onnx.json" in info["files"], key


def test_download_progress_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="chatterbox_server"):
        bar = LogProgress(total=4_000_000, unit="B", desc="model.bin")
        bar.update(4_000_000)
        bar.close()
    assert "model.bin: 4.0 MB of 4.0 MB" in caplog.text


# --- no network, end to end (real huggingface_hub, hub endpoint on a loopback listener) --------

PROBE = """
import sys
from pathlib import Path
from chatterbox_server.models import ModelNotFoundError, resolve_stt_model, resolve_voice
offline = sys.argv[2] == "offline"
for resolve, spec in ((resolve_stt_model, "base-int8"), (resolve_voice, "en_US-lessac-medium")):
    try:
        resolve(spec, data_dirs=[], download_dir=Path(sys.argv[1]), local_files_only=offline)
    except ModelNotFoundError as error:
        print(error)
    if not offline:
        break  # the voice download would retry for a while; the STT attempt proves the point
"""


class Listener:
    """A loopback 'hub' that counts connections and closes each at once."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener(socket_enabled: None) -> Iterator[Listener]:
    hub = Listener()
    yield hub
    hub.close()


def run_probe(listener: Listener, download_dir: Path, mode: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env["HF_ENDPOINT"] = listener.endpoint
    env["HF_HOME"] = str(download_dir / "hf-home")
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(download_dir), mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    return result.stdout


def test_local_files_only_opens_no_connection(listener: Listener, tmp_path: Path) -> None:
    out = run_probe(listener, tmp_path, "offline")
    assert out.count("downloads are off") == 2, out
    assert listener.connections == 0
    # Control: the same probe allowed online does reach the listener.
    out = run_probe(listener, tmp_path, "online")
    assert "download from the hub failed" in out
    assert listener.connections > 0


# --- no hub at all: what the command line says, and how soon ------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there now: connections are refused


@pytest.mark.parametrize(
    "endpoint",
    [pytest.param(lambda: f"http://127.0.0.1:{closed_port()}", id="refused"),
     pytest.param(lambda: "http://hub.invalid", id="unresolvable")],
)  # fmt: skip
@pytest.mark.parametrize(
    ("mode", "fix"),
    [("stt", ("--stt-model DIR", "--data-dir DIR", "--local-files-only")),
     ("tts", ("--tts-voice PATH.onnx", "--data-dir DIR", "--local-files-only"))],
)  # fmt: skip
def test_no_hub_fails_fast_and_names_the_fix(
    socket_enabled: None, tmp_path: Path, endpoint: Any, mode: str, fix: tuple[str, ...]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env |= {"HF_ENDPOINT": endpoint(), "HF_HOME": str(tmp_path / "hf-home")}
    env = {k: v for k, v in env.items() if not k.startswith("CHATTERBOX_")}
    command = [
        sys.executable,
        "-m",
        "chatterbox_server",
        "--mode",
        mode,
        "--uri",
        "tcp://127.0.0.1:0",
    ]
    command += ["--download-dir", str(tmp_path / "dl")]
    started = time.monotonic()
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    took = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-2].startswith("chatterbox-server: error: "), result.stderr
    assert "download from the hub failed" in lines[-2]
    assert lines[-1].startswith("chatterbox-server: without the hub: "), result.stderr
    for needle in fix:
        assert needle in lines[-1], (needle, lines[-1])
    assert "Retrying" not in result.stderr  # the voice download retried for 25 s before
    assert took < 15, (took, result.stderr)  # start-up included; the hub part is under 1 s


def test_hub_warnings_are_logged_once() -> None:
    probe = (
        "import logging\n"
        "from chatterbox_server.__main__ import setup_logging\n"
        "setup_logging(False)\n"
        "logging.getLogger('huggingface_hub.utils._http').warning('Retrying in 1s [Retry 1/5].')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stderr.count("Retrying in 1s") == 1, result.stderr
    assert " WARNING huggingface_hub.utils._http: " in result.stderr  # in the server's format
