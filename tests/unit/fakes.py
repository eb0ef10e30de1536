"""In-memory ports for flow tests: they record what happened (committed, saved states)."""
from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from content import DEMO_DIR, default_directory, load_pack
from content.postcodes import PostcodeDirectory
from flows.core.model import (
    ClusterInfo,
    ConsentRecord,
    ConversationState,
    Profile,
    QuizAttempt,
    Reply,
    UnansweredUpdate,
    UserRef,
)
from flows.core.ports import StaleState
from flows.delivery.outbox import OutboxMessage, OutboxStatus, SendResult
from flows.domain.broadcast import (
    FOLLOW_UP_WINDOW,
    OPT_OUT_WINDOW,
    WEEK,
    Audience,
    AudienceCount,
    Broadcast,
    BroadcastResults,
    BroadcastStatus,
    ButtonKind,
    Candidate,
    Recipient,
    RecipientStatus,
    Topic,
    audience_fits,
    consent_purpose,
    needs_parent,
)
from flows.domain.commute import Commute, CommutePlan
from flows.domain.content import (
    CompanyInfo,
    EventInfo,
    ProfessionInfo,
    QuizItem,
    Rsvp,
    SearchFilters,
    VacancyCandidate,
    VacancyCard,
    VacancyMark,
)
from flows.domain.geo import Place, distance_km
from flows.domain.journeys import Point
from flows.domain.knowledge import FaqInfo, KnowledgeHit
from flows.domain.lead import CompanyInvite, Lead, LeadStatus, ParentDecision, ParentRequest
from flows.domain.matching import RankedVacancy, RankSpec, rank_vacancies
from flows.domain.question import ModelState, Question, TeamState
from storage.content_views import company_info, locate, profession_info, quiz_item
from storage.events import pack_event
from storage.vacancies import pack_card

DEMO = load_pack(DEMO_DIR)
POSTCODES = default_directory()
PROFESSIONS = [profession_info(p.model_dump(mode="json")) for p in DEMO.professions]
QUIZ = [quiz_item(q.model_dump(mode="json")) for q in DEMO.quiz]


def _demo_vacancies() -> list[VacancyCard]:
    companies = {c.slug: c.model_dump(mode="json") for c in DEMO.companies}
    names = {p.slug: p.name for p in DEMO.professions}
    cards = []
    for v in DEMO.vacancies:
        card = pack_card(POSTCODES, v.model_dump(mode="json"), companies[v.company], names[v.profession])
        assert card is not None
        cards.append(card)
    return cards


VACANCIES = _demo_vacancies()


def _demo_events() -> list[EventInfo]:
    companies = {c.slug: c.name for c in DEMO.companies}
    events = []
    for e in DEMO.events:
        here = locate(POSTCODES, e.plz, e.place)
        assert here is not None
        events.append(pack_event(e.model_dump(mode="json"), [companies[c] for c in e.companies], here.lat,
                                 here.lon, 0, list(e.companies)))
    return events


EVENTS = _demo_events()
COMPANIES = [company_info(i + 1, c.model_dump(mode="json")) for i, c in enumerate(DEMO.companies)]
SCHOOL_LEVELS = {v.slug: v.school_expectation for v in DEMO.vacancies}
PUPILS_ONLY = {v.slug for v in DEMO.vacancies if v.pupils_only}
PUBLISHED = {v.slug: v.published for v in DEMO.vacancies}


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
        Place("02943", "Boxberg/Oberlausitz", "Sachsen", "Landkreis Görlitz", 51.4, 14.5667),  # one PLZ, two towns
        Place("02943", "Weißwasser", "Sachsen", "Landkreis Görlitz", 51.504, 14.6402),
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
        self.outbox: dict[int, OutboxMessage] = {}
        self.clusters = list(CLUSTERS)
        self.professions: list[ProfessionInfo] = list(PROFESSIONS)
        self.quiz_items: list[QuizItem] = list(QUIZ)
        self.quiz: dict[int, list[QuizAttempt]] = {}
        self.vacancies: list[VacancyCard] = list(VACANCIES)
        self.marks: dict[int, list[VacancyMark]] = {}
        self.searches: dict[int, list[SearchFilters]] = {}
        self.filters: dict[int, SearchFilters] = {}  # the filters each user last searched with
        self.events: list[EventInfo] = list(EVENTS)
        self.companies: list[CompanyInfo] = list(COMPANIES)
        self.leads: dict[int, Lead] = {}
        self.report_tokens: dict[int, str] = {}
        self.parent_requests: dict[str, ParentRequest] = {}
        self.contacts: list[tuple[str, str, int]] = []  # (company, channel, chat_id)
        self.invites: dict[str, CompanyInvite] = {}
        self.rsvps: dict[int, dict[str, Rsvp]] = {}
        self.feedback: dict[int, dict[str, int]] = {}
        self.broadcasts: dict[int, Broadcast] = {}
        self.recipients: dict[tuple[int, int], Recipient] = {}  # (broadcast, user)
        self.sign_ins: dict[str, tuple[str, int, datetime]] = {}  # token hash -> channel, chat id, expiry
        self.knowledge: list[KnowledgeHit] = []  # the pages free questions search (storage/search.py on SQL)
        self.faqs: dict[str, FaqInfo] = {}
        self.questions: dict[int, Question] = {}
        self.commute_plan: CommutePlan | None = None  # None: no timetable loaded
        self.commutes: dict[tuple[Point, Point], Commute | None] = {}  # (home, destination) -> planned
        self.commits = 0
        self.next_id = 1


class FakeUsers:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def by_id(self, user_id: int) -> Profile | None:
        found = self.store.users.get(user_id)
        return found.model_copy(deep=True) if found else None

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
        profile = self.store.users.get(user_id)
        if profile is not None:  # queued messages are erased with the user
            self.store.outbox = {i: m for i, m in self.store.outbox.items()
                                 if (m.recipient.channel, m.recipient.chat_id) != (profile.channel, profile.chat_id)}
        for table in (self.store.users, self.store.states, self.store.consents, self.store.quiz,
                      self.store.marks, self.store.searches, self.store.filters, self.store.rsvps,
                      self.store.feedback):
            table.pop(user_id, None)
        self.store.leads = {i: lead for i, lead in self.store.leads.items() if lead.user_id != user_id}
        self.store.parent_requests = {t: r for t, r in self.store.parent_requests.items() if r.user_id != user_id}
        self.store.questions = {i: q for i, q in self.store.questions.items() if q.user_id != user_id}

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
        record = record.model_copy(update={"id": self.store.next_id})
        self.store.next_id += 1
        self.store.consents.setdefault(user_id, []).append(record)
        return record

    async def withdraw(self, consent_id: int, at: datetime) -> None:
        for records in self.store.consents.values():
            for record in records:
                if record.id == consent_id:
                    record.withdrawn_at = at


class FakeStoredUpdate:
    def __init__(self, row: dict[str, Any]) -> None:
        self.replies = row["replies"]
        self.locale = row["locale"]
        self.formal = row["formal"]
        self.answered = row["answered"]
        self.processed_at = row["processed_at"]


class FakeUpdates:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, channel: str, update_id: int) -> FakeStoredUpdate | None:
        row = self.store.updates.get((channel, update_id))
        return FakeStoredUpdate(row) if row else None

    async def claim(self, channel: str, update_id: int, chat_id: int | None, at: datetime) -> bool:
        if (channel, update_id) in self.store.updates:
            return False
        self.store.updates[(channel, update_id)] = {"replies": None, "locale": "de", "formal": False,
                                                    "answered": False, "chat_id": chat_id, "processed_at": at}
        return True

    async def take_over(self, channel: str, update_id: int, claimed_at: datetime, at: datetime) -> bool:
        row = self.store.updates.get((channel, update_id))
        if row is None or row["processed_at"] != claimed_at or row["answered"]:
            return False
        row["processed_at"] = at
        return True

    async def add(self, channel: str, update_id: int, replies: list[Reply], locale: str,
                  formal: bool = False, chat_id: int | None = None) -> None:
        claimed = self.store.updates.get((channel, update_id))
        self.store.updates[(channel, update_id)] = {
            "replies": list(replies), "locale": locale, "formal": formal, "answered": False, "chat_id": chat_id,
            # the claim's time (the fake has no clock); unclaimed: never taken for abandoned
            "processed_at": claimed["processed_at"] if claimed else datetime.max.replace(tzinfo=UTC)}

    async def unanswered(self, channel: str, since: datetime, limit: int) -> list[UnansweredUpdate]:
        return [UnansweredUpdate(update_id=uid, chat_id=row["chat_id"], replies=row["replies"], locale=row["locale"],
                                 processed_at=row["processed_at"],
                                 formal=row["formal"])
                for (ch, uid), row in sorted(self.store.updates.items())
                if ch == channel and not row["answered"] and row["chat_id"] is not None and row["replies"]][:limit]

    async def mark_answered(self, channel: str, update_id: int) -> None:
        row = self.store.updates.get((channel, update_id))
        if row:
            row.update(answered=True, replies=None)

    async def open_before(self, channel: str, chat_id: int, update_id: int, since: datetime,
                          unhandled_only: bool) -> bool:
        return any(ch == channel and uid < update_id and row["chat_id"] == chat_id and not row["answered"]
                   and row["processed_at"] >= since and (row["replies"] is None or not unhandled_only)
                   for (ch, uid), row in self.store.updates.items())

    async def newest(self, channel: str) -> int | None:
        return max((uid for ch, uid in self.store.updates if ch == channel), default=None)

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

    async def companies(self) -> list[CompanyInfo]:
        return list(self.store.companies)

    async def company(self, slug: str) -> CompanyInfo | None:
        return next((c for c in self.store.companies if c.slug == slug), None)

    async def interest_profiles(self) -> dict[str, dict[str, int]]:
        return {p.slug: dict(p.riasec) for p in self.store.professions}


class FakeVacancies:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def purge_imported(self, archived_before: datetime) -> int:
        return 0  # the in-memory offers are the pack's: none imported, none archived

    async def candidates(self, box: tuple[float, float, float, float], kind: str | None,
                         profession: str | None) -> list[VacancyCandidate]:
        lat_min, lat_max, lon_min, lon_max = box
        return [VacancyCandidate(slug=v.slug, profession=v.profession, kind=v.kind, lat=v.lat, lon=v.lon,
                                 start=v.start, published=PUBLISHED.get(v.slug, v.start),
                                 school_level=SCHOOL_LEVELS.get(v.slug), pupils_only=v.slug in PUPILS_ONLY)
                for v in self.store.vacancies
                if lat_min <= v.lat <= lat_max and lon_min <= v.lon <= lon_max
                and kind in (None, v.kind) and profession in (None, v.profession)]

    async def ranked(self, spec: RankSpec, offset: int, limit: int) -> tuple[int, list[RankedVacancy]]:
        ranked = rank_vacancies(await self.candidates((-90, 90, -180, 180), None, None), spec)
        return len(ranked), ranked[offset:offset + limit]

    async def card(self, slug: str) -> VacancyCard | None:
        return next((v for v in self.store.vacancies if v.slug == slug), None)

    async def for_company(self, company: str) -> list[VacancyCard]:
        return sorted((v for v in self.store.vacancies if v.company == company), key=lambda v: (v.start, v.slug))

    async def mark(self, user_id: int, slug: str, mark: str, at: datetime) -> bool:
        marks = self.store.marks.setdefault(user_id, [])
        if any(m.slug == slug and m.mark == mark for m in marks):
            return False
        marks.append(VacancyMark(slug=slug, mark=mark, at=at))
        return True

    async def unmark(self, user_id: int, slug: str, mark: str) -> bool:
        marks = self.store.marks.get(user_id, [])
        kept = [m for m in marks if (m.slug, m.mark) != (slug, mark)]
        self.store.marks[user_id] = kept
        return len(kept) != len(marks)

    async def marks(self, user_id: int) -> list[VacancyMark]:
        return list(self.store.marks.get(user_id, []))

    async def last_filters(self, user_id: int) -> SearchFilters | None:
        return self.store.filters.get(user_id)

    async def remember_filters(self, user_id: int, filters: SearchFilters, at: datetime) -> None:
        self.store.filters[user_id] = filters

    async def save_search(self, user_id: int, filters: SearchFilters, at: datetime) -> bool:
        searches = self.store.searches.setdefault(user_id, [])
        if filters in searches:
            return False
        searches.append(filters)
        return True

    async def searches(self, user_id: int) -> list[SearchFilters]:
        return list(self.store.searches.get(user_id, []))

    async def search(self, user_id: int, search_id: int) -> SearchFilters | None:
        found = self.store.searches.get(user_id, [])
        return found[search_id] if 0 <= search_id < len(found) else None

    async def delete_search(self, user_id: int, search_id: int) -> bool:
        found = self.store.searches.get(user_id, [])
        if not 0 <= search_id < len(found):
            return False
        found.pop(search_id)
        return True

    async def all_searches(self) -> list[tuple[Profile, int, SearchFilters]]:
        return [(self.store.users[uid], i, f) for uid, searches in self.store.searches.items()
                for i, f in enumerate(searches) if uid in self.store.users]

    async def candidates_by_slugs(self, slugs: list[str]) -> list[VacancyCandidate]:
        return [c for c in await self.candidates((-90, 90, -180, 180), None, None) if c.slug in slugs]


class FakeEvents:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def upcoming(self, now: datetime) -> list[EventInfo]:
        return [e for e in self.store.events if e.ends > now]

    async def get(self, slug: str) -> EventInfo | None:
        return next((e for e in self.store.events if e.slug == slug), None)

    async def rsvp(self, user_id: int, slug: str) -> Rsvp | None:
        return self.store.rsvps.get(user_id, {}).get(slug)

    async def rsvps(self, user_id: int) -> list[Rsvp]:
        return list(self.store.rsvps.get(user_id, {}).values())

    async def save_rsvp(self, user_id: int, rsvp: Rsvp) -> None:
        self.store.rsvps.setdefault(user_id, {})[rsvp.event] = rsvp

    async def cancel_rsvp(self, user_id: int, slug: str) -> None:
        self.store.rsvps.get(user_id, {}).pop(slug, None)

    async def attendees(self, slug: str) -> list[tuple[Profile, Rsvp]]:
        return [(self.store.users[uid], r[slug]) for uid, r in self.store.rsvps.items()
                if slug in r and uid in self.store.users]

    async def save_feedback(self, user_id: int, slug: str, stars: int, at: datetime) -> None:
        self.store.feedback.setdefault(user_id, {})[slug] = stars

    async def feedback(self, user_id: int) -> dict[str, int]:
        return dict(self.store.feedback.get(user_id, {}))


class FakeLeads:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def add_once(self, lead: Lead) -> tuple[Lead, bool]:
        for existing in self.store.leads.values():
            if (existing.user_id, existing.company, existing.target) == (lead.user_id, lead.company, lead.target):
                return existing.model_copy(deep=True), False
        stored = lead.model_copy(update={"id": self.store.next_id}, deep=True)
        self.store.next_id += 1
        assert stored.id is not None
        self.store.leads[stored.id] = stored
        return stored.model_copy(deep=True), True

    async def get(self, lead_id: int) -> Lead | None:
        found = self.store.leads.get(lead_id)
        return found.model_copy(deep=True) if found else None

    async def report_token(self, lead_id: int, new_token: str) -> str:
        return self.store.report_tokens.setdefault(lead_id, new_token)

    async def by_report_token(self, token: str) -> Lead | None:
        lead_id = next((i for i, t in self.store.report_tokens.items() if t == token), None)
        return await self.get(lead_id) if lead_id is not None else None

    async def for_user(self, user_id: int) -> list[Lead]:
        return [lead.model_copy(deep=True) for lead in self.store.leads.values() if lead.user_id == user_id]

    async def for_companies(self, slugs: list[str]) -> list[Lead]:
        return [lead.model_copy(deep=True) for lead in self.store.leads.values() if lead.company in slugs]

    async def delivered_before(self, before: datetime) -> list[Lead]:
        return [lead.model_copy(deep=True) for lead in self.store.leads.values()
                if lead.status is LeadStatus.DELIVERED and lead.delivered_at and lead.delivered_at <= before]

    async def set_status(self, lead_id: int, status: LeadStatus, at: datetime, consent_id: int | None = None) -> None:
        lead = self.store.leads[lead_id]
        lead.status, lead.status_at = status, at
        lead.history.append({"status": status.value, "at": at.isoformat()})
        if consent_id is not None:
            lead.consent_id = consent_id

    async def mark_arrived(self, lead_id: int, at: datetime) -> None:
        lead = self.store.leads.get(lead_id)
        if lead is not None and lead.delivered_at is None:
            lead.delivered_at = at

    async def add_parent_request(self, request: ParentRequest) -> None:
        self.store.parent_requests[request.token] = request.model_copy(deep=True)

    async def parent_request(self, token: str) -> ParentRequest | None:
        found = self.store.parent_requests.get(token)
        return found.model_copy(deep=True) if found else None

    async def parent_requests_for(self, user_id: int) -> list[ParentRequest]:
        return [r.model_copy(deep=True) for r in sorted(self.store.parent_requests.values(), key=lambda r: r.created_at)
                if r.user_id == user_id]

    async def decide(self, token: str, decision: ParentDecision, at: datetime) -> bool:
        request = self.store.parent_requests.get(token)
        if request is None or request.decided_at is not None:
            return False
        request.decision, request.decided_at, request.relation = decision.decision, at, decision.relation
        request.decided_by_channel, request.decided_by_chat_id = decision.channel, decision.chat_id
        return True

    async def record_consent(self, token: str, consent_id: int) -> None:
        self.store.parent_requests[token].consent_id = consent_id

    async def add_contact(self, company: str, channel: str, chat_id: int, at: datetime) -> bool:
        if (company, channel, chat_id) in self.store.contacts:
            return False
        self.store.contacts.append((company, channel, chat_id))
        return True

    async def contacts(self, company: str) -> list[tuple[str, int]]:
        return [(ch, chat) for co, ch, chat in self.store.contacts if co == company]

    async def remove_contact(self, company: str, channel: str, chat_id: int) -> bool:
        if (company, channel, chat_id) not in self.store.contacts:
            return False
        self.store.contacts.remove((company, channel, chat_id))
        return True

    async def companies_of(self, channel: str, chat_id: int) -> list[str]:
        return [co for co, ch, chat in self.store.contacts if (ch, chat) == (channel, chat_id)]

    async def add_invite(self, invite: CompanyInvite) -> None:
        self.store.invites[invite.token] = invite.model_copy(deep=True)

    async def use_invite(self, token: str, at: datetime) -> str | None:
        invite = self.store.invites.get(token)
        if invite is None or invite.used_at is not None or invite.expires_at <= at:
            return None
        invite.used_at = at
        return invite.company

    async def company_exists(self, slug: str) -> bool:
        return any(c.slug == slug for c in self.store.companies)


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


class FakeOutbox:
    """The outbox in memory, with the same rules: one message per key, claims with leases, and
    outcomes that apply only to the claim they belong to."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _next_id(self) -> int:
        self.store.next_id += 1
        return self.store.next_id - 1

    async def enqueue(self, message: OutboxMessage) -> bool:
        same = [m for m in self.store.outbox.values() if m.idempotency_key == message.idempotency_key]
        if same and not (same[0].status is OutboxStatus.DROPPED and same[0].last_error == "cancelled"):
            return False
        # a message its flow cancelled before it was sent may come back (reminder off and on again)
        stored = message.model_copy(update={"id": same[0].id if same else self._next_id(),
                                            "status": OutboxStatus.PENDING, "attempts": 0,
                                            "lease_until": None, "last_error": None}, deep=True)
        assert stored.id is not None
        self.store.outbox[stored.id] = stored
        return True

    async def get(self, idempotency_key: str) -> OutboxMessage | None:
        found = [m for m in self.store.outbox.values() if m.idempotency_key == idempotency_key]
        return found[0].model_copy(deep=True) if found else None

    async def cancel(self, idempotency_keys: Iterable[str]) -> int:
        keys = set(idempotency_keys)
        hits = [m for m in self.store.outbox.values()
                if m.idempotency_key in keys and m.status is OutboxStatus.PENDING]
        for m in hits:
            m.status, m.last_error = OutboxStatus.DROPPED, "cancelled"
        return len(hits)

    async def claim_due(self, now: datetime, limit: int, lease_seconds: float, channel: str,
                        chat_id: int | None = None) -> list[OutboxMessage]:
        def due(m: OutboxMessage) -> bool:
            if m.recipient.channel != channel or (chat_id is not None and m.recipient.chat_id != chat_id):
                return False
            if m.status is OutboxStatus.PENDING:
                return m.due_at <= now
            return m.status is OutboxStatus.SENDING and m.lease_until is not None and m.lease_until <= now
        claimed = sorted(filter(due, self.store.outbox.values()), key=lambda m: (m.due_at, m.id))[:limit]
        for m in claimed:
            m.status, m.attempts = OutboxStatus.SENDING, m.attempts + 1
            m.lease_until = now + timedelta(seconds=lease_seconds)
        return [m.model_copy(deep=True) for m in claimed]

    def _settle(self, message: OutboxMessage, **changes: Any) -> None:
        stored = self.store.outbox.get(message.id) if message.id is not None else None
        if stored is None or stored.status is not OutboxStatus.SENDING or stored.attempts != message.attempts:
            return
        stored.lease_until = None
        for name, value in changes.items():
            setattr(stored, name, value)

    async def mark_sent(self, message: OutboxMessage) -> None:
        self._settle(message, status=OutboxStatus.SENT, last_error=None)

    async def mark_retry(self, message: OutboxMessage, next_due: datetime, error: str) -> None:
        self._settle(message, status=OutboxStatus.PENDING, due_at=next_due, last_error=error)

    async def mark_failed(self, message: OutboxMessage, error: str) -> None:
        self._settle(message, status=OutboxStatus.FAILED, last_error=error)

    async def mark_dropped(self, message: OutboxMessage, reason: str) -> None:
        self._settle(message, status=OutboxStatus.DROPPED, last_error=reason)

    async def defer(self, message: OutboxMessage, until: datetime) -> None:
        self._settle(message, status=OutboxStatus.PENDING, due_at=until, attempts=message.attempts - 1)

    async def drop_pending_for(self, channel: str, chat_id: int, reason: str = "dropped") -> int:
        hits = [m for m in self.store.outbox.values()
                if (m.recipient.channel, m.recipient.chat_id) == (channel, chat_id)
                and m.status in (OutboxStatus.PENDING, OutboxStatus.SENDING)]
        for m in hits:
            m.status, m.lease_until, m.last_error = OutboxStatus.DROPPED, None, reason
        return len(hits)

    async def purge_finished_before(self, cutoff: datetime) -> int:
        return 0


class FakeBroadcasts:
    """Announcements in memory; the audience by the domain's rules (the SQL version must agree)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(self, broadcast: Broadcast) -> Broadcast:
        broadcast = broadcast.model_copy(update={"id": self.store.next_id}, deep=True)
        self.store.next_id += 1
        assert broadcast.id is not None
        self.store.broadcasts[broadcast.id] = broadcast.model_copy(deep=True)
        return broadcast

    async def save(self, broadcast: Broadcast) -> None:
        assert broadcast.id is not None and broadcast.id in self.store.broadcasts
        self.store.broadcasts[broadcast.id] = broadcast.model_copy(deep=True)

    async def get(self, broadcast_id: int) -> Broadcast | None:
        found = self.store.broadcasts.get(broadcast_id)
        return found.model_copy(deep=True) if found else None

    async def for_cluster(self, cluster: str) -> list[Broadcast]:
        return [b.model_copy(deep=True) for b in sorted(self.store.broadcasts.values(), key=lambda b: -(b.id or 0))
                if b.cluster == cluster]

    async def due(self, now: datetime) -> list[Broadcast]:
        return [b.model_copy(deep=True) for b in self.store.broadcasts.values()
                if b.is_due(now) or b.status is BroadcastStatus.RUNNING]

    def _center(self, audience: Audience) -> tuple[float, float] | None:
        if audience.near_event is not None:
            event = next((e for e in self.store.events if e.slug == audience.near_event), None)
            return (event.lat, event.lon) if event else None
        if audience.near_plz is not None:
            places = _directory().lookup(audience.near_plz)
            return (places[0].lat, places[0].lon) if places else None
        return None

    def _opted_in(self, profile: Profile, topic: Topic) -> bool:
        purpose = consent_purpose(topic)
        consents = [c for c in self.store.consents.get(profile.id or 0, [])
                    if c.purpose == purpose and c.withdrawn_at is None]
        if needs_parent(profile.role, profile.age_band):
            return any(c.given_by == "parent" for c in consents)
        return bool(consents)

    def _candidate(self, profile: Profile) -> Candidate:
        assert profile.id is not None
        home = _directory().find(profile.plz, profile.place) if profile.plz and profile.place else None
        top = [slug for a in self.store.quiz.get(profile.id, []) if a.finished_at for slug in a.top]
        saved = [f.profession for f in self.store.searches.get(profile.id, []) if f.profession]
        professions = set(top) | set(saved)
        fields = {p.field for p in self.store.professions if p.slug in professions}
        got = {b for (b, u), r in self.store.recipients.items() if u == profile.id and r.status is RecipientStatus.SENT}
        return Candidate(user_id=profile.id, role=profile.role, age_band=profile.age_band, cluster=profile.cluster,
                         school_status=profile.school_status, school_class=profile.school_class,
                         lat=home.lat if home else None, lon=home.lon if home else None,
                         last_seen_at=profile.last_seen_at, fields=fields, professions=professions,
                         rsvps=set(self.store.rsvps.get(profile.id, {})), got_broadcasts=got)

    def _event_place(self, broadcast: Broadcast) -> tuple[float, float] | None:
        slug = next((b.ref for b in broadcast.buttons if b.kind is ButtonKind.EVENT), broadcast.audience.near_event)
        event = next((e for e in self.store.events if e.slug == slug), None) if slug else None
        return (event.lat, event.lon) if event else None

    async def audience(self, broadcast: Broadcast, now: datetime) -> list[Recipient]:
        assert broadcast.id is not None
        center, event = self._center(broadcast.audience), self._event_place(broadcast)
        chosen = []
        for profile in sorted(self.store.users.values(), key=lambda p: p.id or 0):
            if not profile.active or profile.id is None or not self._opted_in(profile, broadcast.topic):
                continue
            person = self._candidate(profile)
            if not audience_fits(broadcast.audience, person, broadcast.cluster, now, center, distance_km):
                continue
            km = round(distance_km(event[0], event[1], person.lat, person.lon)) \
                if event and person.lat is not None and person.lon is not None else None
            first_name = next((lead.shared.get("first_name") for lead in sorted(
                self.store.leads.values(), key=lambda lead: -(lead.id or 0)) if lead.user_id == profile.id), None)
            chosen.append(Recipient(broadcast_id=broadcast.id, user_id=profile.id, channel=profile.channel,
                                    chat_id=profile.chat_id, formal=profile.formal,
                                    minor=profile.age_band in ("u16", "16_17"), locale=profile.locale,
                                    first_name=first_name, km=km))
        return chosen

    async def count(self, broadcast: Broadcast, now: datetime, weekly_cap: int) -> AudienceCount:
        people = await self.audience(broadcast.model_copy(update={"id": broadcast.id or 0}), now)
        minors = [r for r in people if r.minor]
        u16 = [r for r in people if self.store.users[r.user_id].age_band == "u16"]
        capped = [r for r in people if await self.sent_since(r.user_id, now - WEEK) >= weekly_cap]
        return AudienceCount(total=len(people), minors=len(minors), under_16=len(u16), capped=len(capped))

    async def add_recipients(self, recipients: list[Recipient]) -> int:
        new = 0
        for r in recipients:
            key = (r.broadcast_id, r.user_id)
            if key not in self.store.recipients:
                self.store.recipients[key] = r.model_copy(deep=True)
                new += 1
        return new

    async def recipients(self, broadcast_id: int, status: RecipientStatus, limit: int) -> list[Recipient]:
        return [r.model_copy(deep=True) for (b, _), r in sorted(self.store.recipients.items())
                if b == broadcast_id and r.status is status][:limit]

    async def recipient(self, broadcast_id: int, user_id: int) -> Recipient | None:
        found = self.store.recipients.get((broadcast_id, user_id))
        return found.model_copy(deep=True) if found else None

    async def set_recipient_status(self, broadcast_id: int, user_id: int, status: RecipientStatus,
                                   at: datetime) -> None:
        found = self.store.recipients.get((broadcast_id, user_id))
        if found is not None:
            found.status, found.status_at = status, at

    async def set_planned_status(self, broadcast_id: int, status: RecipientStatus, at: datetime) -> int:
        changed = 0
        for (b, _), r in self.store.recipients.items():
            if b == broadcast_id and r.status in (RecipientStatus.PLANNED, RecipientStatus.QUEUED):
                r.status, r.status_at = status, at
                changed += 1
        return changed

    async def sent_since(self, user_id: int, since: datetime) -> int:
        return sum(1 for (_, u), r in self.store.recipients.items() if u == user_id
                   and r.status is RecipientStatus.SENT and r.status_at is not None and r.status_at >= since)

    async def record_tap(self, broadcast_id: int, user_id: int, at: datetime) -> None:
        found = self.store.recipients.get((broadcast_id, user_id))
        if found is not None and found.tapped_at is None:
            found.tapped_at = at

    async def results(self, broadcast_id: int) -> BroadcastResults:
        rows = [r for (b, _), r in self.store.recipients.items() if b == broadcast_id]
        by = {s: sum(1 for r in rows if r.status is s) for s in RecipientStatus}
        results = BroadcastResults(
            total=len(rows), planned=by[RecipientStatus.PLANNED], queued=by[RecipientStatus.QUEUED],
            sent=by[RecipientStatus.SENT], blocked=by[RecipientStatus.BLOCKED], failed=by[RecipientStatus.FAILED],
            unknown=by[RecipientStatus.UNKNOWN], taps=sum(1 for r in rows if r.tapped_at is not None),
            skipped=by[RecipientStatus.OPTED_OUT] + by[RecipientStatus.CAPPED] + by[RecipientStatus.CANCELLED])
        broadcast = self.store.broadcasts.get(broadcast_id)
        event = next((b.ref for b in broadcast.buttons if b.kind is ButtonKind.EVENT), None) if broadcast else None
        for r in rows:
            if r.status is not RecipientStatus.SENT or r.status_at is None:
                continue
            sent_at = r.status_at
            purpose = consent_purpose(broadcast.topic) if broadcast else ""
            if any(c.purpose == purpose and c.withdrawn_at is not None
                   and sent_at <= c.withdrawn_at <= sent_at + OPT_OUT_WINDOW
                   for c in self.store.consents.get(r.user_id, [])):
                results.opted_out_48h += 1
            rsvp = self.store.rsvps.get(r.user_id, {}).get(event) if event else None
            if rsvp is not None and sent_at <= rsvp.created_at <= sent_at + FOLLOW_UP_WINDOW:
                results.rsvps_7d += 1
            if any(lead.user_id == r.user_id and sent_at <= lead.created_at <= sent_at + FOLLOW_UP_WINDOW
                   for lead in self.store.leads.values()):
                results.leads_7d += 1
        return results


_DIRECTORY: list[PostcodeDirectory] = []


def _directory() -> PostcodeDirectory:
    if not _DIRECTORY:
        _DIRECTORY.append(default_directory())
    return _DIRECTORY[0]


class FakeKnowledge:
    """Words in common, best first: enough to drive the flows (the real analysis is storage/search.py)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def search(self, query: str, limit: int = 5, cluster: str | None = None,
                     audience: str | None = None) -> list[KnowledgeHit]:
        words = {w for w in re.findall(r"\w+", query.lower()) if len(w) > 2}
        scored = [(len(words & set(re.findall(r"\w+", f"{h.title} {h.text}".lower()))), i, h)
                  for i, h in enumerate(self.store.knowledge)]
        return [h for n, _, h in sorted(scored, key=lambda x: (-x[0], x[1])) if n > 0][:limit]

    async def faq(self, slug: str) -> FaqInfo | None:
        return self.store.faqs.get(slug)


class FakeCommutes:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def plan(self) -> CommutePlan | None:
        return self.store.commute_plan

    async def lookup(self, home: Point, destinations: Iterable[Point]) -> dict[Point, Commute | None]:
        planned = self.store.commutes
        return {d: planned[(home, d)] for d in destinations if (home, d) in planned}

    async def reachable(self, home: Point, max_minutes: int) -> frozenset[Point]:
        return frozenset(d for (h, d), c in self.store.commutes.items()
                         if h == home and c is not None and c.minutes <= max_minutes)


class FakeQuestions:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(self, question: Question) -> Question:
        question.id = self.store.next_id
        self.store.next_id += 1
        self.store.questions[question.id] = question.model_copy(deep=True)
        return question

    async def get(self, question_id: int) -> Question | None:
        found = self.store.questions.get(question_id)
        return None if found is None else found.model_copy(deep=True)

    async def save(self, question: Question) -> None:
        assert question.id is not None
        self.store.questions[question.id] = question.model_copy(deep=True)

    async def claim_pending(self, now: datetime, lease_seconds: float, limit: int) -> list[Question]:
        claimed = []
        for q in sorted(self.store.questions.values(), key=lambda q: q.id or 0):
            if q.model is ModelState.PENDING and (q.model_lease_until is None or q.model_lease_until <= now):
                q.model_lease_until = now + timedelta(seconds=lease_seconds)
                claimed.append(q.model_copy(deep=True))
        return claimed[:limit]

    async def for_user(self, user_id: int) -> list[Question]:
        return [q.model_copy(deep=True) for q in sorted(self.store.questions.values(), key=lambda q: q.id or 0)
                if q.user_id == user_id]

    async def model_asked_since(self, user_id: int, since: datetime) -> int:
        return sum(1 for q in self.store.questions.values()
                   if q.user_id == user_id and q.model is not ModelState.NONE and q.asked_at >= since)

    async def for_team(self, cluster: str, limit: int = 200) -> list[Question]:
        mine = [q for q in self.store.questions.values() if q.cluster == cluster and q.team is not TeamState.NONE]
        open_ = sorted((q for q in mine if q.team is TeamState.OPEN), key=lambda q: (q.team_asked_at, q.id))
        done = sorted((q for q in mine if q.team is not TeamState.OPEN),
                      key=lambda q: (-(q.answered_at.timestamp() if q.answered_at else 0), q.id))
        return [q.model_copy(deep=True) for q in [*open_, *done][:limit]]

    async def open_asked_before(self, before: datetime) -> list[Question]:
        return [q.model_copy(deep=True) for q in sorted(self.store.questions.values(), key=lambda q: q.id or 0)
                if q.team is TeamState.OPEN and q.team_asked_at is not None and q.team_asked_at <= before
                and q.reminded_at is None]

    async def purge(self, unsent_before: datetime, team_before: datetime) -> int:
        gone = [i for i, q in self.store.questions.items()
                if (q.team is TeamState.NONE and q.model is not ModelState.PENDING and q.asked_at < unsent_before)
                or (q.team is not TeamState.NONE and q.team_asked_at is not None and q.team_asked_at < team_before)]
        for i in gone:
            del self.store.questions[i]
        return len(gone)


class FakeCockpit:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def add_sign_in(self, token_hash: str, channel: str, chat_id: int, at: datetime,
                          expires_at: datetime) -> None:
        self.store.sign_ins[token_hash] = (channel, chat_id, expires_at)


class FakeUnitOfWork:
    """Changes become visible to the store only on commit, like a real transaction."""

    users: FakeUsers
    conversations: FakeConversations
    consents: FakeConsents
    updates: FakeUpdates
    content: FakeContent
    outbox: FakeOutbox
    quiz: FakeQuiz
    vacancies: FakeVacancies
    events: FakeEvents
    leads: FakeLeads
    broadcasts: FakeBroadcasts
    cockpit: FakeCockpit
    knowledge: FakeKnowledge
    questions: FakeQuestions
    commutes: FakeCommutes

    def __init__(self, store: Store) -> None:
        self.committed_store = store
        self.committed = False

    def _bind(self, work: Store) -> None:
        self._work = work
        self.users, self.conversations, self.consents = FakeUsers(work), FakeConversations(work), FakeConsents(work)
        self.updates, self.content, self.outbox = FakeUpdates(work), FakeContent(work), FakeOutbox(work)
        self.quiz, self.vacancies, self.events = FakeQuiz(work), FakeVacancies(work), FakeEvents(work)
        self.leads, self.broadcasts, self.cockpit = FakeLeads(work), FakeBroadcasts(work), FakeCockpit(work)
        self.knowledge = FakeKnowledge(work)
        self.questions = FakeQuestions(work)
        self.commutes = FakeCommutes(work)

    async def __aenter__(self) -> Self:
        self._bind(copy.deepcopy(self.committed_store))
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        pass

    async def commit(self) -> None:
        store = self.committed_store
        for name, value in vars(self._work).items():
            if name != "commits":
                setattr(store, name, value)
        store.commits += 1
        self.committed = True
        self._bind(copy.deepcopy(store))

    async def rollback(self) -> None:
        self._bind(copy.deepcopy(self.committed_store))


class AlwaysSent:
    """A sender for one outbox channel that gets every message through."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, recipient: UserRef, reply: Reply, locale: str, formal: bool) -> SendResult:
        return SendResult.ok()


async def send_everything_due(store: Store, clock: SteppableClock) -> None:
    """Run every channel's outbox once, as the running bot would (Telegram contacts, e-mail, webhook)."""
    from flows.delivery.dispatcher import OutboxDispatcher
    from flows.delivery.limiter import RateLimiter
    from flows.delivery.quiet_hours import QuietHours

    for channel in sorted({m.recipient.channel for m in store.outbox.values()}):
        dispatcher = OutboxDispatcher(lambda: FakeUnitOfWork(store), AlwaysSent(channel), RateLimiter(1000, 1000),
                                      clock, QuietHours.parse())
        await dispatcher.tick()
