"""Config flow: user, reconfigure, Supervisor and zeroconf discovery, options."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import ip_address
from pathlib import Path
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.config_entries import (
    SOURCE_HASSIO,
    SOURCE_USER,
    SOURCE_ZEROCONF,
    ConfigEntryState,
)
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.chatterbox.const import (
    CONF_DEFAULT_VOICES,
    CONF_LENGTH_SCALE,
    CONF_SEND_NAMES,
    CONF_STT_LANGUAGE,
    DOMAIN,
)
from tests.support.ports import free_port
from tests.support.server import ServerProcess

from .conftest import SetupEntry, start_server
from .proxy import WyomingProxy

pytestmark = pytest.mark.usefixtures("socket_enabled", "fast_timeouts", "core")

MULTI = "en_US-testmulti-medium"
ZEROCONF_NAME = "chatterbox-box"


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
        result["flow_id"], {CONF_DEFAULT_VOICES: [MULTI, f"{MULTI}#bob"], CONF_SEND_NAMES: True}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_DEFAULT_VOICES: "one_voice_per_language"}
    assert result["description_placeholders"] == {"language": "en_US"}

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
        assert set(map(str, result["data_schema"].schema)) == {CONF_STT_LANGUAGE, CONF_SEND_NAMES}
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
