"""What a flow step gets: the event, the user's profile and state, and the ports."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.core.model import Button, ConversationState, Event, EventKind, Profile, Reply, Turn
from flows.core.payloads import Payloads, Press
from flows.core.ports import Clock, PlaceDirectory, UnitOfWork
from flows.domain.geo import Place
from flows.domain.places import home_of


@dataclass
class StepContext:
    event: Event
    profile: Profile
    state: ConversationState
    uow: UnitOfWork
    places: PlaceDirectory
    clock: Clock
    admin: bool = False  # a cluster agent (by numeric id from the configuration, never by what they say)
    admins: frozenset[tuple[str, int]] = frozenset()  # every agent, e.g. to alert them

    @property
    def home(self) -> Place | None:
        """Where the user lives, if they told us."""
        return home_of(self.places, self.profile)

    def pressed(self, payloads: Payloads) -> Press | None:
        """The button of this flow the user pressed; None for anything else (text, another flow's
        button, a payload the flow's table does not know)."""
        if self.event.kind is not EventKind.BUTTON:
            return None
        return payloads.unpack(self.event.data)

    def turn(self, *replies: Reply, state: ConversationState | None = None, **flags: Any) -> Turn:
        """A turn that keeps the version of the loaded state (the engine checks it on save)."""
        new_state = state if state is not None else self.state
        new_state = new_state.model_copy(update={"version": self.state.version})
        return Turn(replies=list(replies), state=new_state, **flags)


def reply(key: str, buttons: list[list[Button]] | None = None, **values: Any) -> Reply:
    return Reply(key=key, values=values, buttons=buttons or [])


def button(key: str, data: str, **values: Any) -> Button:
    return Button(key=key, data=data, values=values)
