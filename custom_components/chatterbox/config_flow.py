"""Config flow: add a Chatterbox server by host and port, from Supervisor, or from zeroconf.

A discovered server may instead become a fallback of an existing entry, and the options flow
edits an entry's fallbacks: other Wyoming servers tried in order after the entry's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import probatio
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo

from .address import ServerAddress
from .client import CannotConnect, ChatterboxClient, ChatterboxError, RequestTimeout
from .const import (
    CONF_DEFAULT_VOICES,
    CONF_FALLBACKS,
    CONF_LENGTH_SCALE,
    CONF_SEND_NAMES,
    CONF_STT_LANGUAGE,
    DEFAULT_PORT,
    DEFAULT_SEND_NAMES,
    DOMAIN,
)
from .coordinator import ChatterboxConfigEntry
from .lib.chatterbox_wyoming import MAX_LENGTH_SCALE, MIN_LENGTH_SCALE
from .server_info import ServerInfo, VoiceChoice

SERVER_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_HOST): TextSelector(),
        probatio.Required(CONF_PORT, default=DEFAULT_PORT): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=65535)
        ),
    }
)


ADD_AS = "add_as"
"""Discovery confirm field: ``ADD_AS_NEW`` or the entry_id of the entry to add a fallback to."""
ADD_AS_NEW = "new"


class NotChatterbox(Exception):
    """The server answered, but offers no Chatterbox speech-to-text or text-to-speech."""


async def _describe(host: str, port: int) -> ServerInfo:
    """Describe the server; raise CannotConnect or NotChatterbox."""
    try:
        info = await ChatterboxClient(host, port).describe()
    except (CannotConnect, RequestTimeout):
        raise
    except ChatterboxError as err:
        raise NotChatterbox from err
    if not info.is_chatterbox:
        raise NotChatterbox
    return info


def _manual_unique_id(host: str, port: int) -> str:
    """Return the unique id of a server added by hand: where it listens."""
    return f"{host}:{port}"


def _address(host: str, port: int) -> ServerAddress:
    """Return the address of a server at host and port, its host as ServerAddress.parse gives it."""
    return ServerAddress(host.lower(), port)


def _stored_fallbacks(entry: ConfigEntry) -> list[ServerAddress]:
    """Return the entry's fallbacks, skipping any stored text that is not an address."""
    addresses: list[ServerAddress] = []
    for text in entry.options.get(CONF_FALLBACKS, []):
        try:
            addresses.append(ServerAddress.parse(text))
        except ValueError:
            continue
    return addresses


class FallbackRejected(Exception):
    """A fallback server the options cannot take: a form error and the address it is about."""

    def __init__(self, error: str, address: str) -> None:
        super().__init__(error, address)
        self.error = error
        self.address = address


def _offers_speech(info: ServerInfo) -> bool:
    """Tell whether the server runs an installed speech-to-text or text-to-speech program."""
    return any(program.installed for program in (*info.info.asr, *info.info.tts))


async def _fallback_problem(address: ServerAddress) -> str | None:
    """Describe a would-be fallback: the form error if it is not a usable Wyoming server."""
    try:
        info = await ChatterboxClient(address.host, address.port).describe()
    except (CannotConnect, RequestTimeout):
        return "cannot_connect_fallback"
    except ChatterboxError:
        return "no_speech_services"
    return None if _offers_speech(info) else "no_speech_services"


async def _fallback_keys(entry: ConfigEntry, texts: Iterable[str]) -> list[str]:
    """Check the fallbacks typed into the options; return their keys in order.

    Any Wyoming server with speech-to-text or text-to-speech may be a fallback, Chatterbox or
    not. Only servers new to the list are asked: the ones already stored were checked when
    they were added, and a fallback that is off right now (what fallbacks are for) must not
    keep the user from reordering the list or changing other options. Raise FallbackRejected.
    """
    own = _address(entry.data[CONF_HOST], entry.data[CONF_PORT])
    addresses: list[ServerAddress] = []
    for text in filter(None, (text.strip() for text in texts)):
        try:
            address = ServerAddress.parse(text)
        except ValueError as err:
            raise FallbackRejected("invalid_address", text) from err
        if address == own or address in addresses:
            raise FallbackRejected("duplicate_server", text)
        addresses.append(address)
    stored = _stored_fallbacks(entry)
    new = [address for address in addresses if address not in stored]
    problems = await asyncio.gather(*(_fallback_problem(address) for address in new))
    for address, problem in zip(new, problems, strict=True):
        if problem is not None:
            raise FallbackRejected(problem, address.key)
    return [address.key for address in addresses]


class ChatterboxConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a Chatterbox server."""

    VERSION = 1
    MINOR_VERSION = 1

    _host: str
    _port: int
    _name: str

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> ChatterboxOptionsFlow:
        """Return the options flow of an entry."""
        return ChatterboxOptionsFlow()

    def _entries_at(self, host: str, port: int) -> Iterator[ConfigEntry]:
        for entry in self._async_current_entries(include_ignore=True):
            if entry.data.get(CONF_HOST) == host and entry.data.get(CONF_PORT) == port:
                yield entry

    def _entries_with_fallback(self, host: str, port: int) -> Iterator[ConfigEntry]:
        address = _address(host, port)
        for entry in self._async_current_entries(include_ignore=False):
            if address in _stored_fallbacks(entry):
                yield entry

    def _add_as_schema(self) -> probatio.Schema | None:
        """Return the confirm form's choice: a new entry or a fallback; None without entries."""
        entries = self._async_current_entries(include_ignore=False)
        if not entries:
            return None
        # "new" is translated through the selector's translation_key. The other options name
        # entries, which translations cannot list; their labels are plain English text.
        options = [SelectOptionDict(value=ADD_AS_NEW, label="Add as a new server")]
        options += [
            SelectOptionDict(value=entry.entry_id, label=f"Fallback of {entry.title}")
            for entry in entries
        ]
        return probatio.Schema(
            {
                probatio.Required(ADD_AS, default=ADD_AS_NEW): SelectSelector(
                    SelectSelectorConfig(
                        options=options, mode=SelectSelectorMode.DROPDOWN, translation_key=ADD_AS
                    )
                )
            }
        )

    def _add_fallback(self, entry_id: str) -> ConfigFlowResult | None:
        """Append the discovered server to an entry's fallbacks, reload it and abort.

        Return None if the entry is gone.
        """
        entry = self.hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            return None
        key = _address(self._host, self._port).key
        fallbacks = list(entry.options.get(CONF_FALLBACKS, []))
        if key not in fallbacks:
            fallbacks.append(key)
        self.hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_FALLBACKS: fallbacks}
        )
        self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_abort(
            reason="fallback_added", description_placeholders={"title": entry.title}
        )

    def _show_confirm(
        self, step_id: str, placeholders: dict[str, str], errors: dict[str, str]
    ) -> ConfigFlowResult:
        """Show the confirm form: with the add_as choice when entries exist, else plain."""
        schema = self._add_as_schema()
        if schema is None:
            self._set_confirm_only()
        return self.async_show_form(
            step_id=step_id,
            data_schema=schema,
            description_placeholders=placeholders,
            errors=errors,
        )

    def _confirmed(
        self, user_input: dict[str, Any], errors: dict[str, str]
    ) -> ConfigFlowResult | None:
        """Act on a submitted confirm form; None (with errors filled in) to show it again."""
        add_as = user_input.get(ADD_AS, ADD_AS_NEW)
        if add_as == ADD_AS_NEW:
            return self.async_create_entry(
                title=self._name, data={CONF_HOST: self._host, CONF_PORT: self._port}
            )
        if (result := self._add_fallback(add_as)) is None:
            errors["base"] = "entry_not_found"
        return result

    async def _check(self, user_input: dict[str, Any]) -> tuple[ServerInfo | None, dict[str, str]]:
        try:
            info = await _describe(user_input[CONF_HOST], user_input[CONF_PORT])
        except ChatterboxError:
            return None, {"base": "cannot_connect"}
        except NotChatterbox:
            return None, {"base": "not_chatterbox"}
        return info, {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for host and port; add the server once it answers Describe."""
        errors: dict[str, str] = {}
        if user_input is not None:
            host, port = user_input[CONF_HOST].strip(), user_input[CONF_PORT]
            user_input = {CONF_HOST: host, CONF_PORT: port}
            self._async_abort_entries_match(user_input)
            info, errors = await self._check(user_input)
            if info is not None:
                await self.async_set_unique_id(_manual_unique_id(host, port))
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=info.name, data=user_input)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(SERVER_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Move an entry to another host or port."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            host, port = user_input[CONF_HOST].strip(), user_input[CONF_PORT]
            user_input = {CONF_HOST: host, CONF_PORT: port}
            if any(other.entry_id != entry.entry_id for other in self._entries_at(host, port)):
                return self.async_abort(reason="already_configured")
            info, errors = await self._check(user_input)
            if info is not None:
                unique_id = entry.unique_id
                if unique_id == _manual_unique_id(entry.data[CONF_HOST], entry.data[CONF_PORT]):
                    unique_id = _manual_unique_id(host, port)
                return self.async_update_reload_and_abort(
                    entry, unique_id=unique_id, data_updates=user_input
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                SERVER_SCHEMA, user_input or entry.data
            ),
            errors=errors,
        )

    async def _async_known_server(self, unique_id: str, host: str, port: int) -> None:
        """Abort when the discovered server is configured; update its address if it moved."""
        await self.async_set_unique_id(unique_id)
        self._abort_if_unique_id_configured(updates={CONF_HOST: host, CONF_PORT: port})
        for entry in self._entries_at(host, port):
            # Added by hand before: from now on recognise it by its discovery id.
            self.hass.config_entries.async_update_entry(entry, unique_id=unique_id)
            raise AbortFlow("already_configured")
        if any(self._entries_with_fallback(host, port)):
            raise AbortFlow("already_configured")

    async def async_step_hassio(self, discovery_info: HassioServiceInfo) -> ConfigFlowResult:
        """Handle a Chatterbox add-on announced by the Supervisor."""
        uri = urlsplit(discovery_info.config["uri"])
        if uri.hostname is None or uri.port is None:
            return self.async_abort(reason="invalid_discovery_info")
        self._host, self._port, self._name = uri.hostname, uri.port, discovery_info.name
        await self._async_known_server(discovery_info.uuid, self._host, self._port)
        self.context.update(
            {
                "title_placeholders": {"name": self._name},
                "configuration_url": f"homeassistant://hassio/addon/{discovery_info.slug}/info",
            }
        )
        return await self.async_step_hassio_confirm()

    async def async_step_hassio_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask before adding the add-on's server, as a new entry or a fallback of one."""
        errors: dict[str, str] = {}
        if user_input is not None:
            info, errors = await self._check({CONF_HOST: self._host, CONF_PORT: self._port})
            if info is not None:
                result = self._confirmed(user_input, errors)
                if result is not None:
                    return result
        return self._show_confirm("hassio_confirm", {"name": self._name}, errors)

    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """Handle a Chatterbox server advertised on the network."""
        if discovery_info.port is None:
            return self.async_abort(reason="invalid_discovery_info")
        self._host, self._port = discovery_info.host, discovery_info.port
        instance = discovery_info.name.removesuffix(f".{discovery_info.type}")
        await self._async_known_server(instance, self._host, self._port)
        try:
            info = await _describe(self._host, self._port)
        except ChatterboxError:
            return self.async_abort(reason="cannot_connect")
        except NotChatterbox:
            return self.async_abort(reason="not_chatterbox")
        self._name = info.name
        self.context["title_placeholders"] = {"name": f"{info.name} ({instance})"}
        return await self.async_step_zeroconf_confirm()

    async def async_step_zeroconf_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask before adding the advertised server, as a new entry or a fallback of one."""
        errors: dict[str, str] = {}
        if user_input is not None:
            result = self._confirmed(user_input, errors)
            if result is not None:
                return result
        return self._show_confirm(
            "zeroconf_confirm",
            {"name": self._name, "host": self._host, "port": str(self._port)},
            errors,
        )


class ChatterboxOptionsFlow(OptionsFlowWithReload):
    """Voices, speaking rate, recognition language, home names and fallback servers."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with the options that apply to what the server offers, and fallbacks."""
        entry: ChatterboxConfigEntry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="not_loaded")
        info = entry.runtime_data.coordinator.data
        schema = _options_schema(info)
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            if clash := _language_clash(info, user_input.get(CONF_DEFAULT_VOICES, [])):
                errors[CONF_DEFAULT_VOICES] = "one_voice_per_language"
                placeholders["language"] = clash
            fallbacks: list[str] = []
            try:
                fallbacks = await _fallback_keys(entry, user_input.get(CONF_FALLBACKS, []))
            except FallbackRejected as err:
                errors[CONF_FALLBACKS] = err.error
                placeholders["address"] = err.address
            if not errors:
                kept = {k: v for k, v in entry.options.items() if k not in schema.schema}
                data = {**kept, **user_input}
                # No fallbacks: no key, like the other options left empty.
                data.pop(CONF_FALLBACKS, None)
                if fallbacks:
                    data[CONF_FALLBACKS] = fallbacks
                return self.async_create_entry(data=data)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input if user_input is not None else entry.options
            ),
            errors=errors,
            description_placeholders=placeholders,
        )


def _options_schema(info: ServerInfo) -> probatio.Schema:
    fields: dict[probatio.Marker, Any] = {}
    if info.asr is not None:
        fields[probatio.Optional(CONF_STT_LANGUAGE)] = SelectSelector(
            SelectSelectorConfig(
                options=info.stt_languages,
                custom_value=True,
                mode=SelectSelectorMode.DROPDOWN,
                sort=True,
            )
        )
        fields[probatio.Optional(CONF_SEND_NAMES, default=DEFAULT_SEND_NAMES)] = bool
    if info.tts is not None:
        fields[probatio.Optional(CONF_DEFAULT_VOICES)] = SelectSelector(
            SelectSelectorConfig(
                options=[
                    SelectOptionDict(value=choice.key, label=_choice_label(info, choice))
                    for choice in info.voice_choices()
                ],
                multiple=True,
                mode=SelectSelectorMode.DROPDOWN,
            )
        )
        fields[probatio.Optional(CONF_LENGTH_SCALE)] = NumberSelector(
            NumberSelectorConfig(
                min=MIN_LENGTH_SCALE,
                max=MAX_LENGTH_SCALE,
                step=0.05,
                mode=NumberSelectorMode.BOX,
            )
        )
    fields[probatio.Optional(CONF_FALLBACKS)] = TextSelector(TextSelectorConfig(multiple=True))
    return probatio.Schema(fields)


def _choice_label(info: ServerInfo, choice: VoiceChoice) -> str:
    voice = info.voice(choice.voice)
    languages = ", ".join(voice.languages) if voice is not None else ""
    name = choice.voice if choice.speaker is None else f"{choice.voice} ({choice.speaker})"
    return f"{name} [{languages}]"


def _language_clash(info: ServerInfo, keys: list[str]) -> str | None:
    """Return a language that two chosen default voices both speak, if any."""
    taken: set[str] = set()
    for key in keys:
        voice = info.voice(VoiceChoice.from_key(key).voice)
        languages = set(voice.languages) if voice is not None else set()
        if clash := sorted(languages & taken):
            return clash[0]
        taken |= languages
    return None
