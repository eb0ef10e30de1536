"""In-memory ports for flow tests: they record what happened (committed, saved states)."""
from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from flows.geo import Place
from content import DEMO_DIR, load_pack
from flows.catalog import ProfessionInfo, QuizItem
from flows.model import ClusterInfo, ConsentRecord, ConversationState, Profile, QuizAttempt, Reply
from storage.content_views import profession_info, quiz_item

DEMO = load_pack(DEMO_DIR)
PROFESSIONS = [profession_info(p.model_dump(mode="json")) for p in DEMO.professions]
QUIZ = [quiz_item(q.model_dump(mode="json")) for q in DEMO.quiz]
from flows.ports import StaleState


class SteppableClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class FakePlaces:
    """A handful of real places (coordinates from the shipped postal-code table)."""

    PLACES = [
        Place("02708", "Löbau", "Sachsen", "Landkreis Görlitz", 51.0994, 14.6674),
        Place("02826", "Görlitz", "Sachsen", "Landkreis Görlitz", 51.1503, 14.9829),
        Place("02625", "Bautzen", "Sachsen", "Landkreis Bautzen", 51.1814, 14.4242),
        Place("06108", "Halle (Saale)", "Sachsen-Anhalt", "Kreisfreie Stadt Halle", 51.4828, 11.9697),
        Place("33790", "Halle", "Nordrhein-Westfalen", "Kreis Gütersloh", 52.0603, 8.3597),
        Place("03042", "Cottbus", "Brandenburg", "Kreisfreie Stadt Cottbus", 51.7612, 14.3544),
        Place("80331", "München", "Bayern", "Kreisfreie Stadt München", 48.1372, 11.5755),
    ]

    def lookup(self, plz: str) -> list[Place]:
        return [p for p in self.PLACES if p.plz == plz]

    def find(self, plz: str, name: str) -> Place | None:
        return next((p for p in self.PLACES if p.plz == plz and p.name == name), None)

    def search(self, name: str, limit: int = 10) -> list[Place]:
        wanted = name.strip().casefold()
        return [p for p in self.PLACES if p.name.casefold().startswith(wanted)][:limit]

    def nearest(self, lat: float, lon: float) -> Place:
        return min(self.PLACES, key=lambda p: (p.lat - lat) ** 2 + (p.lon - lon) ** 2)

    def is_known(self, plz: str) -> bool:
        return bool(self.lookup(plz))


CLUSTERS = [
    ClusterInfo(slug="tab-mint", name="TAB_MINT", region_name="Halle (Saale) und Saalekreis",
                towns=[("Halle (Saale)", "06108")], districts=["Kreisfreie Stadt Halle", "Saalekreis"]),
    ClusterInfo(slug="zukunftsmacher", name="Die Zukunftsmacher", region_name="Lausitz",
                towns=[("Görlitz", "02826"), ("Cottbus", "03042")],
                districts=["Landkreis Görlitz", "Landkreis Bautzen", "Kreisfreie Stadt Cottbus"]),
    ClusterInfo(slug="lausitz-cares", name="Lausitz-Cares", region_name="Landkreis Bautzen",
                towns=[("Bautzen", "02625")], districts=["Landkreis Bautzen"]),
]


class Store:
    """What the fake database holds; shared by every unit of work of one test."""

    def __init__(self) -> None:
        self.users: dict[int, Profile] = {}
        self.states: dict[int, ConversationState] = {}
        self.consents: dict[int, list[ConsentRecord]] = {}
        self.updates: dict[tuple[str, int], dict[str, Any]] = {}
        self.clusters = list(CLUSTERS)
        self.professions: list[ProfessionInfo] = list(PROFESSIONS)
        self.quiz_items: list[QuizItem] = list(QUIZ)
        self.quiz: dict[int, list[QuizAttempt]] = {}
        self.commits = 0
        self.next_id = 1


class FakeUsers:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, channel: str, chat_id: int) -> Profile | None:
        for p in self.store.users.values():
            if p.channel == channel and p.chat_id == chat_id:
                return p.model_copy(deep=True)
        return None

    async def save(self, profile: Profile) -> Profile:
        if profile.id is None:
            profile.id = self.store.next_id  # in place, like the real repository
            self.store.next_id += 1
        self.store.users[profile.id] = profile.model_copy(deep=True)
        return profile

    async def delete(self, user_id: int) -> None:
        for table in (self.store.users, self.store.states, self.store.consents, self.store.quiz):
            table.pop(user_id, None)

    async def mark_inactive(self, channel: str, chat_id: int) -> None:
        for p in self.store.users.values():
            if p.channel == channel and p.chat_id == chat_id:
                p.active = False

    async def ids_last_seen_before(self, cutoff: datetime, limit: int) -> list[int]:
        return [i for i, p in self.store.users.items() if p.last_seen_at and p.last_seen_at < cutoff][:limit]


class FakeConversations:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, user_id: int) -> ConversationState:
        return self.store.states.get(user_id, ConversationState()).model_copy(deep=True)

    async def save(self, user_id: int, state: ConversationState) -> ConversationState:
        stored = self.store.states.get(user_id)
        if (stored.version if stored else 0) != state.version:
            raise StaleState(str(user_id))
        saved = state.model_copy(update={"version": state.version + 1}, deep=True)
        self.store.states[user_id] = saved
        return saved


class FakeConsents:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def list_for_user(self, user_id: int) -> list[ConsentRecord]:
        return list(self.store.consents.get(user_id, []))

    async def add(self, user_id: int, record: ConsentRecord) -> ConsentRecord:
        self.store.consents.setdefault(user_id, []).append(record)
        return record


class FakeStoredUpdate:
    def __init__(self, row: dict[str, Any]) -> None:
        self.replies = row["replies"]
        self.locale = row["locale"]
        self.formal = row["formal"]
        self.answered = row["answered"]


class FakeUpdates:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, channel: str, update_id: int) -> FakeStoredUpdate | None:
        row = self.store.updates.get((channel, update_id))
        return FakeStoredUpdate(row) if row else None

    async def add(self, channel: str, update_id: int, replies: list[Reply], locale: str,
                  formal: bool = False) -> None:
        self.store.updates[(channel, update_id)] = {"replies": list(replies), "locale": locale,
                                                    "formal": formal, "answered": False}

    async def mark_answered(self, channel: str, update_id: int) -> None:
        row = self.store.updates.get((channel, update_id))
        if row:
            row.update(answered=True, replies=None)

    async def purge_before(self, cutoff: datetime) -> int:
        return 0


class FakeContent:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def clusters(self) -> list[ClusterInfo]:
        return list(self.store.clusters)

    async def cluster(self, slug: str) -> ClusterInfo | None:
        return next((c for c in self.store.clusters if c.slug == slug), None)

    async def professions(self) -> list[ProfessionInfo]:
        return list(self.store.professions)

    async def profession(self, slug: str) -> ProfessionInfo | None:
        return next((p for p in self.store.professions if p.slug == slug), None)

    async def quiz_items(self) -> list[QuizItem]:
        return list(self.store.quiz_items)


class FakeQuiz:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def current(self, user_id: int) -> QuizAttempt | None:
        open_ = [a for a in self.store.quiz.get(user_id, []) if a.finished_at is None]
        return open_[-1].model_copy(deep=True) if open_ else None

    async def latest_finished(self, user_id: int) -> QuizAttempt | None:
        done = [a for a in self.store.quiz.get(user_id, []) if a.finished_at is not None]
        return done[-1].model_copy(deep=True) if done else None

    async def list_for_user(self, user_id: int) -> list[QuizAttempt]:
        return [a.model_copy(deep=True) for a in self.store.quiz.get(user_id, [])]

    async def save(self, user_id: int, attempt: QuizAttempt) -> QuizAttempt:
        attempts = self.store.quiz.setdefault(user_id, [])
        if attempt.id is None:
            attempt = attempt.model_copy(update={"id": self.store.next_id})
            self.store.next_id += 1
            attempts.append(attempt)
        else:
            attempts[:] = [attempt if a.id == attempt.id else a for a in attempts]
        return attempt.model_copy(deep=True)


class FakeUnitOfWork:
    """Changes become visible to the store only on commit, like a real transaction."""

    def __init__(self, store: Store) -> None:
        self.committed_store = store
        self.committed = False

    async def __aenter__(self) -> Self:
        self._work = copy.deepcopy(self.committed_store)
        self.users = FakeUsers(self._work)
        self.conversations = FakeConversations(self._work)
        self.consents = FakeConsents(self._work)
        self.updates = FakeUpdates(self._work)
        self.content = FakeContent(self._work)
        self.quiz = FakeQuiz(self._work)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        pass

    async def commit(self) -> None:
        store = self.committed_store
        store.users, store.states = self._work.users, self._work.states
        store.consents, store.updates = self._work.consents, self._work.updates
        store.quiz = self._work.quiz
        store.next_id = self._work.next_id
        store.commits += 1
        self.committed = True
        self._work = copy.deepcopy(store)
        self.users.store = self.conversations.store = self.consents.store = self._work  # type: ignore[misc]
        self.updates.store = self.content.store = self.quiz.store = self._work  # type: ignore[misc]

    async def rollback(self) -> None:
        self._work = copy.deepcopy(self.committed_store)
        for repo in (self.users, self.conversations, self.consents, self.updates, self.content, self.quiz):
            repo.store = self._work  # type: ignore[attr-defined]
