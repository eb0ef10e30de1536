"""Drive flows.Engine like a user would, with in-memory ports; assert reply keys, not wording."""
from __future__ import annotations

import itertools

from content import default_directory
from flows.core.engine import Outcome
from flows.core.model import Event, EventKind, Profile, Reply, UserRef
from flows.core.payloads import ALL, MAX_BYTES, prefix_of
from flows.core.ports import PlaceDirectory
from flows.wiring import build_engine
from tests.unit.fakes import FakePlaces, FakeUnitOfWork, SteppableClock, Store

_update_ids = itertools.count(1000)
_CODECS = {codec.prefix: codec for codec in ALL}


class Harness:
    def __init__(self, chat_id: int = 42, store: Store | None = None, clock: SteppableClock | None = None,
                 language_code: str | None = "de", places: PlaceDirectory | None = None,
                 agent: bool = False, cockpit_url: str | None = None, model_host: str | None = None) -> None:
        """agent: this user's chat id is configured as a cluster agent's; cockpit_url: COCKPIT_URL;
        model_host: where a language model answers free questions (None: offline)."""
        self.store = store or Store()
        self.clock = clock or SteppableClock()
        admins = frozenset({("telegram", chat_id)}) if agent else frozenset()
        self.engine = build_engine(lambda: FakeUnitOfWork(self.store), places or FakePlaces(), self.clock, admins,
                                   cockpit_url=cockpit_url, model_host=model_host)
        self.user = UserRef(channel="telegram", chat_id=chat_id, language_code=language_code)
        self.last: Outcome = Outcome()

    async def _do(self, **fields: object) -> list[str]:
        event = Event(user=self.user, update_id=next(_update_ids), **fields)  # type: ignore[arg-type]
        self.last = await self.engine.handle(event)
        await self.engine.mark_answered(event)
        for data in [d for d in self.button_data if d]:  # every button the bot shows is one its flow can read back
            codec = _CODECS.get(prefix_of(data))
            assert codec is not None and codec.unpack(data) is not None, f"unreadable button {data!r}"
            assert len(data.encode()) <= MAX_BYTES
        return self.keys

    async def command(self, name: str, payload: str | None = None) -> list[str]:
        return await self._do(kind=EventKind.COMMAND, text=name, payload=payload)

    async def text(self, text: str) -> list[str]:
        return await self._do(kind=EventKind.TEXT, text=text)

    async def press(self, data: str) -> list[str]:
        """Press a button; it must be one of the buttons shown last (like a real user)."""
        assert data in self.button_data, f"{data} not offered; offered: {self.button_data}"
        return await self._do(kind=EventKind.BUTTON, data=data)

    async def forge(self, data: str) -> list[str]:
        """Send button data that was not offered (old message, forged callback)."""
        return await self._do(kind=EventKind.BUTTON, data=data)

    async def location(self, lat: float, lon: float) -> list[str]:
        return await self._do(kind=EventKind.LOCATION, latitude=lat, longitude=lon)

    async def media(self, media_type: str) -> list[str]:
        return await self._do(kind=EventKind.MEDIA, media_type=media_type)

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.last.replies]

    @property
    def replies(self) -> list[Reply]:
        return self.last.replies

    @property
    def button_data(self) -> list[str]:
        return [b.data for r in self.last.replies for row in r.buttons for b in row]

    @property
    def profile(self) -> Profile:
        return next(p for p in self.store.users.values() if p.chat_id == self.user.chat_id)

    @property
    def user_id(self) -> int:
        """The id of this user's stored profile (every saved profile has one)."""
        user_id = self.profile.id
        assert user_id is not None
        return user_id

    def reply(self, key: str) -> Reply:
        return next(r for r in self.last.replies if r.key == key)


async def onboarded_teen(plz: str = "02826", school: str = "mittlere_reife") -> Harness:
    """A young person of 16-17 through onboarding at the first place of `plz` (the real postcode table), with
    that school certificate (expected): the start of most offer and page tests."""
    h = Harness(places=default_directory())  # the real table: every town of the demo pack is in it
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press("ob:age:16_17")
    await h.text(plz)
    await h.press(next(d for d in h.button_data if d.startswith("ob:place_c")))
    await h.press(f"ob:school:{school}")
    return h
