"""Test conversation agents whose answers say which agent, and which request, they are."""

from __future__ import annotations

from typing import Literal

from homeassistant.components import conversation
from homeassistant.components.conversation.const import DATA_COMPONENT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent


class Parrot(conversation.ConversationEntity):
    """Answers "<name> heard: <text>", numbered per request when ``numbered``.

    Numbered answers all differ, so Home Assistant's TTS cache never answers for the server.
    """

    def __init__(self, name: str, *, numbered: bool = False) -> None:
        self._attr_name = name
        self.numbered = numbered
        self.requests = 0

    @property
    def supported_languages(self) -> Literal["*"]:
        """Any language."""
        return "*"

    async def async_process(
        self, user_input: conversation.ConversationInput
    ) -> conversation.ConversationResult:
        """Answer with the agent's name and what it heard."""
        self.requests += 1
        speech = f"{self.name} heard: {user_input.text}"
        if self.numbered:
            speech += f" That was request {self.requests}."
        response = intent.IntentResponse(language=user_input.language)
        response.async_set_speech(speech)
        return conversation.ConversationResult(response, user_input.conversation_id)


async def add_agents(hass: HomeAssistant, *agents: conversation.ConversationEntity) -> None:
    """Add conversation agent entities to Home Assistant."""
    await hass.data[DATA_COMPONENT].async_add_entities(agents)
