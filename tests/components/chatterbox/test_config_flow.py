"""Config flow: user, reconfigure, Supervisor and zeroconf discovery, options."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import suppress
from ipaddress import ip_address
from pathlib import Path
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.config_entries import (
    SOURCE_HASSIO,
    SOURCE_IGNORE,
    SOURCE_USER,
    SOURCE_ZEROCONF,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry
from wyoming.event import async_read_event, async_write_event
from wyoming.info import AsrModel, AsrProgram, Attribution, Describe, Info

from custom_components.chatterbox import config_flow
from custom_components.chatterbox.const import (
    CONF_DEFAULT_VOICES,
    CONF_FALLBACKS,
    CONF_LENGTH_SCALE,
    CONF_SEND_NAMES,
    CONF_STT_LANGUAGE,
    DOMAIN,
)
from tests.support.ports import free_port
from tests.support.server import ServerProcess

from .conftest import SetupEntry, start_server
from .proxy import HOST, WyomingProxy, foreign_info

pytestmark = pytest.mark.usefixtures("socket_enabled", "fast_timeouts", "core")

MULTI = "en_US-testmulti-medium"
ZEROCONF_NAME = "chatterbox-box"
STRINGS = json.loads(
    (Path(config_flow.__file__).parent / "translations" / "en.json").read_text(encoding="utf-8")
)

type InfoServer = Callable[[Info], Awaitable[str]]


@pytest.fixture
def mock_setup_entry() -> Iterator[AsyncMock]:
    """Skip setting up entries the flow creates (setup has its own tests)."""
    with patch("custom_components.chatterbox.async_setup_entry", return_value=True) as mock_setup:
        yield mock_setup


def _entry(host: str, port: int, unique_id: str | None = None, **kwargs: object) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Chatterbox",
        data={CONF_HOST: host, CONF_PORT: port},
        unique_id=unique_id if unique_id is not None else f"{host}:{port}",
        **kwargs,  # type: ignore[arg-type]
    )


def _hassio(port: int, uuid: str = "addon-uuid", uri: str | None = None) -> HassioServiceInfo:
    return HassioServiceInfo(
        config={"uri": uri if uri is not None else f"tcp://127.0.0.1:{port}"},
        name="Chatterbox add-on",
        slug="local_chatterbox",
        uuid=uuid,
    )


@pytest.fixture
async def foreign(socket_enabled: None, shared_server: ServerProcess) -> AsyncIterator[str]:
    """``host:port`` of a Wyoming TTS server that is not Chatterbox (the proxy's ``foreign``)."""
    wyoming_proxy = WyomingProxy(shared_server.host, shared_server.port)
    wyoming_proxy.fault, wyoming_proxy.fault_describe = "foreign", True
    await wyoming_proxy.start()
    yield f"{wyoming_proxy.host}:{wyoming_proxy.port}"
    await wyoming_proxy.stop()


@pytest.fixture
async def info_server(socket_enabled: None) -> AsyncIterator[InfoServer]:
    """Start tiny Wyoming servers that answer Describe with a given Info; yield ``host:port``."""
    servers: list[asyncio.Server] = []

    async def _start(info: Info) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with suppress(ConnectionError):
                while (event := await async_read_event(reader)) is not None:
                    if Describe.is_type(event.type):
                        await async_write_event(info.event(), writer)
            writer.close()

        server = await asyncio.start_server(handle, HOST, 0)
        servers.append(server)
        return f"{HOST}:{server.sockets[0].getsockname()[1]}"

    yield _start
    for server in servers:
        server.close()
        await server.wait_closed()


def _asr_info(*, installed: bool = True) -> Info:
    """Info of a speech-to-text-only Wyoming server (like speech-to-phrase)."""
    attribution = Attribution(name="Phrases", url="https://example.com")
    model = AsrModel(
        name="phrases",
        attribution=attribution,
        installed=installed,
        description=None,
        version=None,
        languages=["en"],
    )
    program = AsrProgram(
        name="phrases",
        attribution=attribution,
        installed=installed,
        description=None,
        version="1",
        models=[model],
    )
    return Info(asr=[program])


def _zeroconf(port: int | None, name: str = ZEROCONF_NAME) -> ZeroconfServiceInfo:
    return ZeroconfServiceInfo(
        ip_address=ip_address("127.0.0.1"),
        ip_addresses=[ip_address("127.0.0.1")],
        port=port,
        hostname="box.local.",
        type="_chatterbox._tcp.local.",
        name=f"{name}._chatterbox._tcp.local.",
        properties={"version": "0.1.0", "modes": "stt,tts"},
    )


# --- user ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_adds_server(hass: HomeAssistant, shared_server: ServerProcess) -> None:
    """Host and port of a running server: an entry titled with the server's name."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: f" {shared_server.host} ", CONF_PORT: shared_server.port}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Chatterbox"
    assert result["data"] == {CONF_HOST: shared_server.host, CONF_PORT: shared_server.port}
    assert result["result"].unique_id == f"{shared_server.host}:{shared_server.port}"
    assert result["result"].options == {}


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (None, "cannot_connect"),
        ("stall", "cannot_connect"),
        ("foreign", "not_chatterbox"),
        ("error", "not_chatterbox"),
        ("garbage", "not_chatterbox"),
    ],
)
async def test_user_errors_then_recovers(
    hass: HomeAssistant, proxy: WyomingProxy, fault: str | None, error: str
) -> None:
    """Unreachable, silent, foreign or broken servers give an error; a fixed one is added."""
    port = proxy.port if fault is not None else free_port()
    proxy.fault, proxy.fault_describe = fault, True
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: proxy.host, CONF_PORT: port}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}

    proxy.fault = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: proxy.host, CONF_PORT: proxy.port}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_already_configured(hass: HomeAssistant, shared_server: ServerProcess) -> None:
    """The same host and port twice: aborted before connecting."""
    _entry(shared_server.host, shared_server.port).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: shared_server.host, CONF_PORT: shared_server.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_same_unique_id_aborts(
    hass: HomeAssistant, shared_server: ServerProcess
) -> None:
    """An entry whose unique id is this address (but stale data) is not duplicated."""
    _entry("elsewhere", 1, unique_id=f"{shared_server.host}:{shared_server.port}").add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: shared_server.host, CONF_PORT: shared_server.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_user_entry_loads(
    hass: HomeAssistant, shared_server: ServerProcess, setup_entry: SetupEntry
) -> None:
    """Without mocks the created entry sets up and gets its two entities."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: shared_server.host, CONF_PORT: shared_server.port}
    )
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("stt.chatterbox_speech_to_text") is not None
    assert hass.states.get("tts.chatterbox_text_to_speech") is not None
    assert await hass.config_entries.async_unload(entry.entry_id)


# --- reconfigure --------------------------------------------------------------------------


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure_moves_entry(hass: HomeAssistant, proxy: WyomingProxy) -> None:
    """A manually added entry moves to a new address; its unique id follows."""
    entry = _entry("old-host", 10300)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"

    proxy.fault, proxy.fault_describe = "drop", True
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: proxy.host, CONF_PORT: proxy.port}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "not_chatterbox"}

    proxy.fault = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: proxy.host, CONF_PORT: proxy.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {CONF_HOST: proxy.host, CONF_PORT: proxy.port}
    assert entry.unique_id == f"{proxy.host}:{proxy.port}"


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure_keeps_discovery_id(hass: HomeAssistant, proxy: WyomingProxy) -> None:
    """A discovered entry keeps the id its discovery gave it."""
    entry = _entry("old-host", 10300, unique_id="addon-uuid")
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: proxy.host, CONF_PORT: proxy.port}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.unique_id == "addon-uuid"
    assert entry.data[CONF_PORT] == proxy.port


async def test_reconfigure_onto_other_entry(hass: HomeAssistant) -> None:
    """Moving onto the address of another entry is refused."""
    entry = _entry("old-host", 10300)
    entry.add_to_hass(hass)
    _entry("taken", 10300).add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "taken", CONF_PORT: 10300}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# --- Supervisor discovery -----------------------------------------------------------------


@pytest.mark.usefixtures("mock_setup_entry")
async def test_hassio_discovery_confirm(hass: HomeAssistant, proxy: WyomingProxy) -> None:
    """The add-on's announcement leads to a confirm step, then an entry with its uuid."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_hassio(proxy.port)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "hassio_confirm"
    assert result["description_placeholders"] == {"name": "Chatterbox add-on"}

    proxy.fault, proxy.fault_describe = "drop", True
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "not_chatterbox"}

    proxy.fault = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Chatterbox add-on"
    assert result["data"] == {CONF_HOST: "127.0.0.1", CONF_PORT: proxy.port}
    assert result["result"].unique_id == "addon-uuid"


async def test_hassio_updates_known_addon(hass: HomeAssistant) -> None:
    """A known add-on announcing a new address updates its entry and aborts."""
    entry = _entry("old-host", 10300, unique_id="addon-uuid")
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_hassio(10400)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == {CONF_HOST: "127.0.0.1", CONF_PORT: 10400}


async def test_hassio_adopts_manual_entry(hass: HomeAssistant) -> None:
    """A server added by hand that the add-on announces gets the add-on's id."""
    entry = _entry("127.0.0.1", 10400)
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_hassio(10400)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.unique_id == "addon-uuid"


async def test_hassio_invalid_uri(hass: HomeAssistant) -> None:
    """An announcement without host or port is refused."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_hassio(0, uri="tcp://hostonly")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_discovery_info"


# --- zeroconf -----------------------------------------------------------------------------


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zeroconf_discovery_confirm(hass: HomeAssistant, proxy: WyomingProxy) -> None:
    """An advertised server is checked, confirmed, and added under its instance name."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_zeroconf(proxy.port)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zeroconf_confirm"
    assert result["data_schema"] is None  # no entry to add a fallback to: a plain confirm
    assert result["description_placeholders"] == {
        "name": "Chatterbox",
        "host": "127.0.0.1",
        "port": str(proxy.port),
    }
    flows = hass.config_entries.flow.async_progress()
    assert flows[0]["context"]["title_placeholders"] == {"name": f"Chatterbox ({ZEROCONF_NAME})"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Chatterbox"
    assert result["data"] == {CONF_HOST: "127.0.0.1", CONF_PORT: proxy.port}
    assert result["result"].unique_id == ZEROCONF_NAME


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("stall", "cannot_connect"), ("foreign", "not_chatterbox")],
)
async def test_zeroconf_unusable_server(
    hass: HomeAssistant, proxy: WyomingProxy, fault: str, reason: str
) -> None:
    """An advertised server that does not answer, or is not Chatterbox, is not offered."""
    proxy.fault, proxy.fault_describe = fault, True
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_zeroconf(proxy.port)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason


async def test_zeroconf_without_port(hass: HomeAssistant) -> None:
    """An advertisement without a port is refused."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_zeroconf(None)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_discovery_info"


async def test_zeroconf_updates_known_server(hass: HomeAssistant) -> None:
    """A known server advertising a new address updates its entry."""
    entry = _entry("old-host", 10300, unique_id=ZEROCONF_NAME)
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_zeroconf(10401)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == {CONF_HOST: "127.0.0.1", CONF_PORT: 10401}


async def test_zeroconf_adopts_manual_entry(hass: HomeAssistant) -> None:
    """A server added by hand that advertises itself gets its instance name as id."""
    entry = _entry("127.0.0.1", 10401)
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_zeroconf(10401)
    )
    assert result["reason"] == "already_configured"
    assert entry.unique_id == ZEROCONF_NAME


# --- options ------------------------------------------------------------------------------


async def test_options(hass: HomeAssistant, proxied_entry: MockConfigEntry) -> None:
    """Options offer the server's languages and voices; one voice per language; reload."""
    result = await hass.config_entries.options.async_init(proxied_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    schema = result["data_schema"].schema
    assert set(map(str, schema)) == {
        CONF_STT_LANGUAGE,
        CONF_SEND_NAMES,
        CONF_DEFAULT_VOICES,
        CONF_LENGTH_SCALE,
        CONF_FALLBACKS,
    }
    voice_selector = next(v for k, v in schema.items() if k == CONF_DEFAULT_VOICES)
    assert [o["value"] for o in voice_selector.config["options"]] == [
        "en_US-test-medium",
        MULTI,
        f"{MULTI}#alice",
        f"{MULTI}#bob",
    ]
    assert voice_selector.config["options"][3]["label"] == f"{MULTI} (bob) [en_US]"

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_DEFAULT_VOICES: [MULTI, f"{MULTI}#bob"],
            CONF_SEND_NAMES: True,
            CONF_FALLBACKS: ["box:port"],
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {
        CONF_DEFAULT_VOICES: "one_voice_per_language",
        CONF_FALLBACKS: "invalid_address",
    }
    assert result["description_placeholders"] == {"language": "en_US", "address": "box:port"}

    options = {
        CONF_DEFAULT_VOICES: [f"{MULTI}#bob"],
        CONF_LENGTH_SCALE: 1.25,
        CONF_STT_LANGUAGE: "de",
        CONF_SEND_NAMES: False,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], options)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert proxied_entry.options == options
    assert proxied_entry.state is ConfigEntryState.LOADED
    assert proxied_entry.runtime_data.names is None


async def test_options_keep_what_is_not_shown(
    hass: HomeAssistant, test_models: Path, setup_entry: SetupEntry
) -> None:
    """An STT-only server shows only STT options and keeps the stored TTS ones."""
    server = start_server(test_models, "--mode", "stt")
    try:
        entry = await setup_entry(
            server.host, server.port, {CONF_LENGTH_SCALE: 1.5, CONF_SEND_NAMES: True}
        )
        result = await hass.config_entries.options.async_init(entry.entry_id)
        assert set(map(str, result["data_schema"].schema)) == {
            CONF_STT_LANGUAGE,
            CONF_SEND_NAMES,
            CONF_FALLBACKS,
        }
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_SEND_NAMES: False}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert entry.options == {CONF_LENGTH_SCALE: 1.5, CONF_SEND_NAMES: False}
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        server.stop()


async def test_options_need_loaded_entry(hass: HomeAssistant) -> None:
    """Without a connection there is nothing to choose from: aborted with a reason."""
    entry = _entry("127.0.0.1", free_port())
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_loaded"


async def test_options_fallback_strings_translated() -> None:
    """The fallback errors name the address; the discovery choice and abort are translated."""
    options = STRINGS["options"]
    for error in ("invalid_address", "duplicate_server", "cannot_connect_fallback"):
        assert "{address}" in options["error"][error], error
    assert "{address}" in options["error"]["no_speech_services"]
    init = options["step"]["init"]
    assert init["data"][CONF_FALLBACKS]
    assert "host:port" in init["data_description"][CONF_FALLBACKS]
    config = STRINGS["config"]
    assert "{title}" in config["abort"]["fallback_added"]
    assert config["error"]["entry_not_found"]
    for step in ("hassio_confirm", "zeroconf_confirm"):
        assert config["step"][step]["data"][config_flow.ADD_AS]
    assert STRINGS["selector"][config_flow.ADD_AS]["options"][config_flow.ADD_AS_NEW]


# --- options: fallback servers ------------------------------------------------------------


async def _fallbacks_form(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """Open the options of ``entry``; return the flow id."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    return str(result["flow_id"])


async def _set_fallbacks(hass: HomeAssistant, entry: MockConfigEntry, fallbacks: list[str]) -> None:
    """Submit the options with ``fallbacks``; expect them taken and the entry reloaded."""
    flow_id = await _fallbacks_form(hass, entry)
    result = await hass.config_entries.options.async_configure(flow_id, {CONF_FALLBACKS: fallbacks})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_options_add_fallbacks(
    hass: HomeAssistant, proxied_entry: MockConfigEntry, shared_server: ServerProcess, foreign: str
) -> None:
    """Two fallbacks, Chatterbox or not, are stored in the order given, as keys."""
    chatterbox = f"{shared_server.host}:{shared_server.port}"
    await _set_fallbacks(hass, proxied_entry, [f" {foreign} ", "", chatterbox, "  "])
    assert proxied_entry.options[CONF_FALLBACKS] == [foreign, chatterbox]
    assert proxied_entry.options[CONF_SEND_NAMES] is True


async def test_options_reorder_and_remove_fallbacks(
    hass: HomeAssistant,
    setup_entry: SetupEntry,
    proxy: WyomingProxy,
    shared_server: ServerProcess,
    foreign: str,
) -> None:
    """Stored fallbacks are reordered and removed; one that is off now does not block that."""
    chatterbox = f"{shared_server.host}:{shared_server.port}"
    off = f"{HOST}:{free_port()}"
    entry = await setup_entry(proxy.host, proxy.port, {CONF_FALLBACKS: [foreign, chatterbox, off]})
    await _set_fallbacks(hass, entry, [off, chatterbox, foreign])
    assert entry.options[CONF_FALLBACKS] == [off, chatterbox, foreign]

    await _set_fallbacks(hass, entry, [chatterbox])
    assert entry.options[CONF_FALLBACKS] == [chatterbox]

    await _set_fallbacks(hass, entry, [""])
    assert CONF_FALLBACKS not in entry.options


async def test_options_without_fallbacks_field(
    hass: HomeAssistant, setup_entry: SetupEntry, proxy: WyomingProxy, foreign: str
) -> None:
    """A form sent without the field (every box removed) removes the stored fallbacks."""
    entry = await setup_entry(proxy.host, proxy.port, {CONF_FALLBACKS: [foreign]})
    flow_id = await _fallbacks_form(hass, entry)
    result = await hass.config_entries.options.async_configure(flow_id, {CONF_SEND_NAMES: False})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {CONF_SEND_NAMES: False}


async def test_options_fallback_not_an_address(
    hass: HomeAssistant, proxied_entry: MockConfigEntry
) -> None:
    """Text that is not host or host:port is refused, named in the error."""
    flow_id = await _fallbacks_form(hass, proxied_entry)
    for text in ("box:port", "box:0", "box:70000", "box:", "tcp://box:10300", "box/x", "a box"):
        result = await hass.config_entries.options.async_configure(
            flow_id, {CONF_FALLBACKS: [f" {text} "]}
        )
        assert result["type"] is FlowResultType.FORM, text
        assert result["errors"] == {CONF_FALLBACKS: "invalid_address"}, text
        assert result["description_placeholders"] == {"address": text}
    assert CONF_FALLBACKS not in proxied_entry.options


async def test_options_fallback_duplicate(
    hass: HomeAssistant, proxied_entry: MockConfigEntry, shared_server: ServerProcess
) -> None:
    """The entry's own server, or one server twice, is refused before anything is asked."""
    chatterbox = f"{shared_server.host}:{shared_server.port}"
    flow_id = await _fallbacks_form(hass, proxied_entry)
    for fallbacks, address in (
        ([f"{HOST}:{proxied_entry.data[CONF_PORT]}"], f"{HOST}:{proxied_entry.data[CONF_PORT]}"),
        ([chatterbox, chatterbox], chatterbox),
    ):
        result = await hass.config_entries.options.async_configure(
            flow_id, {CONF_FALLBACKS: fallbacks}
        )
        assert result["errors"] == {CONF_FALLBACKS: "duplicate_server"}
        assert result["description_placeholders"] == {"address": address}


async def test_options_fallback_unreachable(
    hass: HomeAssistant, proxied_entry: MockConfigEntry, shared_server: ServerProcess
) -> None:
    """A closed port or a server that never answers is refused; a working one then taken."""
    chatterbox = f"{shared_server.host}:{shared_server.port}"
    silent = WyomingProxy(shared_server.host, shared_server.port)
    silent.fault, silent.fault_describe = "stall", True
    await silent.start()
    try:
        flow_id = await _fallbacks_form(hass, proxied_entry)
        for unusable in (f"{HOST}:{free_port()}", f"{silent.host}:{silent.port}"):
            result = await hass.config_entries.options.async_configure(
                flow_id, {CONF_FALLBACKS: [chatterbox, unusable]}
            )
            assert result["errors"] == {CONF_FALLBACKS: "cannot_connect_fallback"}
            assert result["description_placeholders"] == {"address": unusable}
        result = await hass.config_entries.options.async_configure(
            flow_id, {CONF_FALLBACKS: [chatterbox]}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert proxied_entry.options[CONF_FALLBACKS] == [chatterbox]
    finally:
        await silent.stop()


async def test_options_fallback_any_speech_server(
    hass: HomeAssistant, proxied_entry: MockConfigEntry, info_server: InfoServer
) -> None:
    """Any Wyoming server with an installed STT or TTS program will do; one without, not."""
    foreign_tts = await info_server(foreign_info())
    phrases = await info_server(_asr_info())
    nothing = await info_server(Info())
    not_installed = await info_server(_asr_info(installed=False))
    flow_id = await _fallbacks_form(hass, proxied_entry)
    for unusable in (nothing, not_installed):
        result = await hass.config_entries.options.async_configure(
            flow_id, {CONF_FALLBACKS: [foreign_tts, unusable]}
        )
        assert result["errors"] == {CONF_FALLBACKS: "no_speech_services"}
        assert result["description_placeholders"] == {"address": unusable}
    result = await hass.config_entries.options.async_configure(
        flow_id, {CONF_FALLBACKS: [phrases, foreign_tts]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert proxied_entry.options[CONF_FALLBACKS] == [phrases, foreign_tts]


@pytest.mark.parametrize("fault", ["error", "garbage"])
async def test_options_fallback_broken_server(
    hass: HomeAssistant, proxied_entry: MockConfigEntry, shared_server: ServerProcess, fault: str
) -> None:
    """A server answering Describe with an error or garbage offers no speech services."""
    broken = WyomingProxy(shared_server.host, shared_server.port)
    broken.fault, broken.fault_describe = fault, True
    await broken.start()
    try:
        flow_id = await _fallbacks_form(hass, proxied_entry)
        result = await hass.config_entries.options.async_configure(
            flow_id, {CONF_FALLBACKS: [f"{broken.host}:{broken.port}"]}
        )
        assert result["errors"] == {CONF_FALLBACKS: "no_speech_services"}
    finally:
        await broken.stop()


# --- discovery as a fallback --------------------------------------------------------------


def _workstation(hass: HomeAssistant, fallbacks: list[str] | None = None) -> MockConfigEntry:
    """An existing entry (not set up) titled Workstation, with optional fallbacks."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Workstation",
        data={CONF_HOST: "workstation", CONF_PORT: 10300},
        options={CONF_FALLBACKS: fallbacks} if fallbacks is not None else {},
        unique_id="workstation:10300",
    )
    entry.add_to_hass(hass)
    return entry


def _add_as_options(result: ConfigFlowResult) -> list[dict[str, str]]:
    """The options of the confirm form's add_as selector (and check its default)."""
    schema = result["data_schema"].schema
    marker = next(key for key in schema if key == config_flow.ADD_AS)
    assert marker.default() == config_flow.ADD_AS_NEW
    selector = schema[marker]
    assert selector.config["translation_key"] == config_flow.ADD_AS
    options: list[dict[str, str]] = selector.config["options"]
    return options


async def _discover(hass: HomeAssistant, source: str, port: int) -> ConfigFlowResult:
    data = _hassio(port) if source == SOURCE_HASSIO else _zeroconf(port)
    return await hass.config_entries.flow.async_init(DOMAIN, context={"source": source}, data=data)


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize("source", [SOURCE_ZEROCONF, SOURCE_HASSIO])
async def test_discovery_adds_fallback(
    hass: HomeAssistant, proxy: WyomingProxy, source: str
) -> None:
    """With entries, discovery offers each as an owner; the chosen one gets the fallback."""
    workstation = _workstation(hass, ["first:10300"])
    MockConfigEntry(domain=DOMAIN, source=SOURCE_IGNORE, unique_id="ignored").add_to_hass(hass)
    result = await _discover(hass, source, proxy.port)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == f"{source}_confirm"
    assert _add_as_options(result) == [
        {"value": "new", "label": "Add as a new server"},
        {"value": workstation.entry_id, "label": "Fallback of Workstation"},
    ]

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {config_flow.ADD_AS: workstation.entry_id}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "fallback_added"
    assert result["description_placeholders"] == {"title": "Workstation"}
    await hass.async_block_till_done()
    assert workstation.options[CONF_FALLBACKS] == ["first:10300", f"{HOST}:{proxy.port}"]
    assert workstation.state is ConfigEntryState.LOADED  # reloaded (set up) with it
    assert len(hass.config_entries.async_entries(DOMAIN, include_ignore=False)) == 1

    # Found again: it is configured, as a fallback.
    result = await _discover(hass, source, proxy.port)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize("source", [SOURCE_ZEROCONF, SOURCE_HASSIO])
async def test_discovery_beside_entry_adds_new(
    hass: HomeAssistant, proxy: WyomingProxy, source: str
) -> None:
    """Choosing "new" adds the discovered server as an entry of its own, as without entries."""
    workstation = _workstation(hass)
    result = await _discover(hass, source, proxy.port)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {config_flow.ADD_AS: config_flow.ADD_AS_NEW}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_HOST: HOST, CONF_PORT: proxy.port}
    unique_id = ZEROCONF_NAME if source == SOURCE_ZEROCONF else "addon-uuid"
    assert result["result"].unique_id == unique_id
    assert CONF_FALLBACKS not in workstation.options


@pytest.mark.parametrize("source", [SOURCE_ZEROCONF, SOURCE_HASSIO])
async def test_discovery_of_a_fallback_aborts(hass: HomeAssistant, source: str) -> None:
    """A server already some entry's fallback is configured: aborted before connecting."""
    port = free_port()
    workstation = _workstation(hass, ["elsewhere:10300", f"{HOST}:{port}"])
    result = await _discover(hass, source, port)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert workstation.options[CONF_FALLBACKS] == ["elsewhere:10300", f"{HOST}:{port}"]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_discovery_fallback_of_removed_entry(
    hass: HomeAssistant, proxy: WyomingProxy
) -> None:
    """An entry removed while the form was open: an error, then a plain confirm adds it."""
    workstation = _workstation(hass)
    result = await _discover(hass, SOURCE_ZEROCONF, proxy.port)
    assert await hass.config_entries.async_remove(workstation.entry_id)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {config_flow.ADD_AS: workstation.entry_id}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "entry_not_found"}
    assert result["data_schema"] is None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
