"""Announcements, their recipients (one row per broadcast and person, ever) and their results.

The audience is found in two passes: SQL does what is cheap and selective in bulk (cluster, active,
opted in to the topic, roles, age bands, school, last seen, RSVPs, exclusions) and loads the few
columns the rest needs; flows.domain.broadcast.audience_fits then decides for each remaining
person (radius around the home place, interest fields, professions), so the domain's rules stay
the truth."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, not_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from content import default_directory
from flows.core.ports import PlaceDirectory
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
    audience_fits,
    consent_purpose,
)
from flows.domain.geo import distance_km
from storage.tables import ConsentRow, EventRow, ProfessionRow, UserRow
from storage.tables_broadcasts import BroadcastRecipientRow, BroadcastRow
from storage.tables_events import EventRsvpRow
from storage.tables_leads import LeadRow
from storage.tables_quiz import QuizAttemptRow
from storage.tables_vacancies import SavedSearchRow

FIRST_NAME_MAX = 80  # the column's length
FORMAL_ROLES = ("parent", "company", "other")  # as Profile.formal: addressed with "Sie"
SKIPPED = (RecipientStatus.OPTED_OUT, RecipientStatus.CAPPED, RecipientStatus.CANCELLED)

# What the audience query reads of a person: no more than the message and the rules need.
PERSON_COLUMNS = (UserRow.id, UserRow.channel, UserRow.chat_id, UserRow.role, UserRow.locale, UserRow.age_band,
                  UserRow.plz, UserRow.place, UserRow.school_status, UserRow.school_class, UserRow.cluster,
                  UserRow.last_seen_at)


def _row_values(broadcast: Broadcast) -> dict[str, Any]:
    data = broadcast.model_dump(exclude={"id"})
    json = broadcast.model_dump(mode="json", include={"buttons", "audience", "history"})
    return {**data, **json, "topic": broadcast.topic.value, "status": broadcast.status.value}


def _broadcast(row: BroadcastRow) -> Broadcast:
    return Broadcast.model_validate({
        "id": row.id, "cluster": row.cluster, "topic": row.topic, "text_du": row.text_du, "text_sie": row.text_sie,
        "picture": row.picture, "buttons": row.buttons, "audience": row.audience, "status": row.status,
        "scheduled_at": row.scheduled_at, "started_at": row.started_at, "finished_at": row.finished_at,
        "created_by": row.created_by, "approved_by": row.approved_by, "created_at": row.created_at,
        "history": row.history})


def _recipient(row: BroadcastRecipientRow) -> Recipient:
    return Recipient(broadcast_id=row.broadcast_id, user_id=row.user_id, channel=row.channel, chat_id=row.chat_id,
                     formal=row.formal, minor=row.minor, locale=row.locale, first_name=row.first_name, km=row.km,
                     status=RecipientStatus(row.status), status_at=row.status_at, tapped_at=row.tapped_at)


def under_16() -> Any:
    """Whose opt-in needs a parent: age band u16, or a teen who has not said their age (never NULL)."""
    return or_(func.coalesce(UserRow.age_band, "") == "u16",
               and_(func.coalesce(UserRow.role, "") == "teen", UserRow.age_band.is_(None)))


def opted_in(purpose: str) -> Any:
    """An active consent record for the topic; under 16 only one a parent gave."""
    return exists().where(ConsentRow.user_id == UserRow.id, ConsentRow.purpose == purpose,
                          ConsentRow.withdrawn_at.is_(None),
                          or_(ConsentRow.given_by == "parent", not_(under_16())))


class _Person:
    """One row of the audience query with what the rules and the message need."""

    __slots__ = ("row", "candidate")

    def __init__(self, row: Any, candidate: Candidate) -> None:
        self.row = row
        self.candidate = candidate


class SqlBroadcastRepository:
    def __init__(self, session: AsyncSession, postcodes: PlaceDirectory | None = None) -> None:
        self._session = session
        self._postcodes = postcodes

    def _places(self) -> PlaceDirectory:
        if self._postcodes is None:
            self._postcodes = default_directory()  # cached: loaded once per process
        return self._postcodes

    def _insert(self) -> Any:
        return postgresql.insert if self._session.get_bind().dialect.name == "postgresql" else sqlite.insert

    # ---- the announcements -----------------------------------------------------------------
    async def add(self, broadcast: Broadcast) -> Broadcast:
        new_id = (await self._session.execute(
            self._insert()(BroadcastRow).values(**_row_values(broadcast)).returning(BroadcastRow.id))).scalar_one()
        return broadcast.model_copy(update={"id": new_id}, deep=True)

    async def save(self, broadcast: Broadcast) -> None:
        assert broadcast.id is not None
        await self._session.execute(
            update(BroadcastRow).where(col(BroadcastRow.id) == broadcast.id).values(**_row_values(broadcast)))

    async def _select(self, *conditions: Any, newest_first: bool = False) -> list[Broadcast]:
        order = col(BroadcastRow.id).desc() if newest_first else col(BroadcastRow.id)
        rows = await self._session.execute(select(BroadcastRow).where(*conditions).order_by(order)
                                           .execution_options(populate_existing=True))
        return [_broadcast(r) for r in rows.scalars().all()]

    async def get(self, broadcast_id: int) -> Broadcast | None:
        found = await self._select(col(BroadcastRow.id) == broadcast_id)
        return found[0] if found else None

    async def for_cluster(self, cluster: str) -> list[Broadcast]:
        return await self._select(BroadcastRow.cluster == cluster, newest_first=True)

    async def due(self, now: datetime) -> list[Broadcast]:
        return await self._select(or_(
            and_(BroadcastRow.status == BroadcastStatus.SCHEDULED.value, col(BroadcastRow.scheduled_at) <= now),
            BroadcastRow.status == BroadcastStatus.RUNNING.value))

    # ---- the audience ----------------------------------------------------------------------
    async def _event_place(self, slug: str | None) -> tuple[float, float] | None:
        if slug is None:
            return None
        found = (await self._session.execute(
            select(EventRow.lat, EventRow.lon).where(EventRow.slug == slug))).first()
        return (found[0], found[1]) if found else None

    async def _center(self, audience: Audience) -> tuple[float, float] | None:
        if audience.near_event is not None:
            return await self._event_place(audience.near_event)
        if audience.near_plz is not None:
            places = self._places().lookup(audience.near_plz)
            return (places[0].lat, places[0].lon) if places else None
        return None

    @staticmethod
    def _conditions(broadcast: Broadcast, now: datetime) -> list[Any]:
        """What SQL decides: exactly the domain's rules of these filters (see audience_fits)."""
        audience = broadcast.audience
        conditions: list[Any] = [UserRow.cluster == broadcast.cluster, col(UserRow.active).is_(True),
                                 opted_in(consent_purpose(broadcast.topic))]
        if audience.roles:
            conditions.append(col(UserRow.role).in_(audience.roles))
        if audience.age_bands:
            conditions.append(col(UserRow.age_band).in_(audience.age_bands))
        if audience.school_statuses:
            conditions.append(col(UserRow.school_status).in_(audience.school_statuses))
        if audience.school_classes:
            conditions.append(col(UserRow.school_class).in_(audience.school_classes))
        if audience.active_within_days is not None:
            conditions.append(col(UserRow.last_seen_at) >= now - timedelta(days=audience.active_within_days))
        if audience.rsvp_event is not None and audience.rsvp_going is not None:
            rsvp = exists().where(EventRsvpRow.user_id == UserRow.id, EventRsvpRow.event == audience.rsvp_event)
            conditions.append(rsvp if audience.rsvp_going else not_(rsvp))
        if audience.exclude_recipients_of:
            conditions.append(not_(exists().where(
                BroadcastRecipientRow.user_id == UserRow.id,
                col(BroadcastRecipientRow.broadcast_id).in_(audience.exclude_recipients_of),
                BroadcastRecipientRow.status == RecipientStatus.SENT.value)))
        return conditions

    async def _interests(self, ids: Any) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
        """(professions, fields) per person: of their finished quiz results and saved searches."""
        professions: dict[int, set[str]] = defaultdict(set)
        quiz = await self._session.execute(select(QuizAttemptRow.user_id, QuizAttemptRow.top).where(
            col(QuizAttemptRow.finished_at).is_not(None), col(QuizAttemptRow.user_id).in_(ids)))
        for user_id, top in quiz.tuples().all():
            professions[user_id].update(top or [])
        searches = await self._session.execute(select(SavedSearchRow.user_id, SavedSearchRow.filters).where(
            col(SavedSearchRow.user_id).in_(ids)))
        for user_id, filters in searches.tuples().all():
            if (filters or {}).get("profession"):
                professions[user_id].add(filters["profession"])
        field_of = dict((await self._session.execute(select(ProfessionRow.slug, ProfessionRow.field).where(
            col(ProfessionRow.archived).is_(False)))).tuples().all())  # as the content reader lists them
        fields = {user_id: {field_of[p] for p in slugs if p in field_of} for user_id, slugs in professions.items()}
        return professions, fields

    async def _people(self, broadcast: Broadcast, now: datetime) -> list[_Person]:
        audience = broadcast.audience
        conditions = self._conditions(broadcast, now)
        rows = (await self._session.execute(select(*PERSON_COLUMNS).where(*conditions).order_by(UserRow.id))).all()
        if not rows:
            return []
        ids = select(UserRow.id).where(*conditions)
        professions: dict[int, set[str]] = {}
        fields: dict[int, set[str]] = {}
        if audience.fields or audience.professions:
            professions, fields = await self._interests(ids)
        center = await self._center(audience)
        homes: dict[tuple[str, str], tuple[float, float] | None] = {}
        rsvps = {audience.rsvp_event} if audience.rsvp_event is not None and audience.rsvp_going else set()
        people = []
        for row in rows:
            home: tuple[float, float] | None = None
            if row.plz and row.place:
                key = (row.plz, row.place)
                if key not in homes:
                    place = self._places().find(row.plz, row.place)
                    homes[key] = (place.lat, place.lon) if place else None
                home = homes[key]
            # RSVPs and exclusions were decided in SQL: what the candidate says of them is that answer.
            person = Candidate(user_id=row.id, role=row.role, age_band=row.age_band, cluster=row.cluster,
                               school_status=row.school_status, school_class=row.school_class,
                               lat=home[0] if home else None, lon=home[1] if home else None,
                               last_seen_at=row.last_seen_at, fields=fields.get(row.id, set()),
                               professions=professions.get(row.id, set()), rsvps=set(rsvps))
            if audience_fits(audience, person, broadcast.cluster, now, center, distance_km):
                people.append(_Person(row, person))
        return people

    async def _first_names(self, ids: Any) -> dict[int, str | None]:
        """The first name each of these people shared in their latest lead."""
        latest = select(func.max(LeadRow.id)).where(col(LeadRow.user_id).in_(ids)).group_by(LeadRow.user_id)
        rows = await self._session.execute(select(LeadRow.user_id, LeadRow.shared).where(col(LeadRow.id).in_(latest)))
        return {user_id: str(name)[:FIRST_NAME_MAX] if (name := (shared or {}).get("first_name")) is not None else None
                for user_id, shared in rows.tuples().all()}

    async def audience(self, broadcast: Broadcast, now: datetime) -> list[Recipient]:
        assert broadcast.id is not None
        people = await self._people(broadcast, now)
        if not people:
            return []
        event_slug = next((b.ref for b in broadcast.buttons if b.kind is ButtonKind.EVENT),
                          broadcast.audience.near_event)
        event = await self._event_place(event_slug)
        names = await self._first_names(select(UserRow.id).where(*self._conditions(broadcast, now)))
        chosen = []
        for p in people:
            row, person = p.row, p.candidate
            km = round(distance_km(event[0], event[1], person.lat, person.lon)) \
                if event and person.lat is not None and person.lon is not None else None
            chosen.append(Recipient(broadcast_id=broadcast.id, user_id=row.id, channel=row.channel,
                                    chat_id=row.chat_id, formal=row.role in FORMAL_ROLES,
                                    minor=row.age_band in ("u16", "16_17"), locale=row.locale,
                                    first_name=names.get(row.id), km=km))
        return chosen

    async def count(self, broadcast: Broadcast, now: datetime, weekly_cap: int) -> AudienceCount:
        people = await self._people(broadcast, now)
        if weekly_cap <= 0:
            capped = len(people)
        else:
            recipients = BroadcastRecipientRow
            at_cap = await self._session.execute(
                select(recipients.user_id).where(
                    recipients.status == RecipientStatus.SENT.value, col(recipients.status_at) >= now - WEEK,
                    col(recipients.user_id).in_(select(UserRow.id).where(*self._conditions(broadcast, now))))
                .group_by(recipients.user_id).having(func.count() >= weekly_cap))
            full = set(at_cap.scalars().all())
            capped = sum(1 for p in people if p.row.id in full)
        return AudienceCount(total=len(people), minors=sum(1 for p in people if p.row.age_band in ("u16", "16_17")),
                             under_16=sum(1 for p in people if p.row.age_band == "u16"), capped=capped)

    # ---- the recipients --------------------------------------------------------------------
    async def add_recipients(self, recipients: list[Recipient]) -> int:
        """INSERT ... ON CONFLICT DO NOTHING on (broadcast, person): competing workers never
        create a second row, and neither fails."""
        # In one order (broadcast, person) for every worker: two workers inserting overlapping people in
        # different orders would otherwise wait for each other's rows (PostgreSQL: a deadlock).
        values = [{**r.model_dump(), "status": r.status.value,
                   "first_name": r.first_name[:FIRST_NAME_MAX] if r.first_name else r.first_name}
                  for r in sorted(recipients, key=lambda r: (r.broadcast_id, r.user_id))]
        if not values:
            return 0
        statement = (self._insert()(BroadcastRecipientRow)
                     .on_conflict_do_nothing(index_elements=["broadcast_id", "user_id"])
                     .returning(BroadcastRecipientRow.id))
        # Many parameter sets: SQLAlchemy batches them into multi-row INSERTs ("insertmanyvalues").
        return len((await self._session.execute(statement, values)).all())

    async def recipients(self, broadcast_id: int, status: RecipientStatus, limit: int) -> list[Recipient]:
        rows = await self._session.execute(
            select(BroadcastRecipientRow).where(BroadcastRecipientRow.broadcast_id == broadcast_id,
                                                BroadcastRecipientRow.status == status.value)
            .order_by(BroadcastRecipientRow.user_id).limit(limit).execution_options(populate_existing=True))
        return [_recipient(r) for r in rows.scalars().all()]

    async def recipient(self, broadcast_id: int, user_id: int) -> Recipient | None:
        row = (await self._session.execute(
            select(BroadcastRecipientRow).where(BroadcastRecipientRow.broadcast_id == broadcast_id,
                                                BroadcastRecipientRow.user_id == user_id)
            .execution_options(populate_existing=True))).scalars().first()
        return _recipient(row) if row else None

    async def set_recipient_status(self, broadcast_id: int, user_id: int, status: RecipientStatus,
                                   at: datetime) -> None:
        await self._session.execute(update(BroadcastRecipientRow).where(
            BroadcastRecipientRow.broadcast_id == broadcast_id, BroadcastRecipientRow.user_id == user_id)
            .values(status=status.value, status_at=at))

    async def set_planned_status(self, broadcast_id: int, status: RecipientStatus, at: datetime) -> int:
        result = await self._session.execute(update(BroadcastRecipientRow).where(
            BroadcastRecipientRow.broadcast_id == broadcast_id,
            col(BroadcastRecipientRow.status).in_([RecipientStatus.PLANNED.value, RecipientStatus.QUEUED.value]))
            .values(status=status.value, status_at=at))
        return int(result.rowcount or 0)

    async def sent_since(self, user_id: int, since: datetime) -> int:
        found = await self._session.execute(select(func.count()).select_from(BroadcastRecipientRow).where(
            BroadcastRecipientRow.user_id == user_id, BroadcastRecipientRow.status == RecipientStatus.SENT.value,
            col(BroadcastRecipientRow.status_at) >= since))
        return int(found.scalar_one())

    async def record_tap(self, broadcast_id: int, user_id: int, at: datetime) -> None:
        await self._session.execute(update(BroadcastRecipientRow).where(
            BroadcastRecipientRow.broadcast_id == broadcast_id, BroadcastRecipientRow.user_id == user_id,
            col(BroadcastRecipientRow.tapped_at).is_(None)).values(tapped_at=at))

    # ---- the results -----------------------------------------------------------------------
    async def results(self, broadcast_id: int) -> BroadcastResults:
        r = BroadcastRecipientRow
        counts = await self._session.execute(
            select(r.status, func.count(), func.count(r.tapped_at)).where(r.broadcast_id == broadcast_id)
            .group_by(r.status))
        by: dict[str, int] = defaultdict(int)
        taps = 0
        for status, number, tapped in counts.tuples().all():
            by[status] += number
            taps += tapped
        results = BroadcastResults(
            total=sum(by.values()), planned=by[RecipientStatus.PLANNED.value], queued=by[RecipientStatus.QUEUED.value],
            sent=by[RecipientStatus.SENT.value], blocked=by[RecipientStatus.BLOCKED.value],
            failed=by[RecipientStatus.FAILED.value], unknown=by[RecipientStatus.UNKNOWN.value], taps=taps,
            skipped=sum(by[s.value] for s in SKIPPED))
        broadcast = await self.get(broadcast_id)
        if broadcast is None or not results.sent:
            return results
        sent = and_(r.broadcast_id == broadcast_id, r.status == RecipientStatus.SENT.value,
                    col(r.status_at).is_not(None))
        # SQL finds the few follow-ups after each person's message; the window's end is checked here
        # (date arithmetic differs between SQLite and PostgreSQL).
        withdrawn = await self._session.execute(
            select(r.user_id, r.status_at, ConsentRow.withdrawn_at).join(ConsentRow, ConsentRow.user_id == r.user_id)
            .where(sent, ConsentRow.purpose == consent_purpose(broadcast.topic),
                   col(ConsentRow.withdrawn_at) >= r.status_at))
        results.opted_out_48h = _within(withdrawn.tuples().all(), OPT_OUT_WINDOW)
        event = next((b.ref for b in broadcast.buttons if b.kind is ButtonKind.EVENT), None)
        if event is not None:
            rsvps = await self._session.execute(
                select(r.user_id, r.status_at, EventRsvpRow.created_at)
                .join(EventRsvpRow, EventRsvpRow.user_id == r.user_id)
                .where(sent, EventRsvpRow.event == event, col(EventRsvpRow.created_at) >= r.status_at))
            results.rsvps_7d = _within(rsvps.tuples().all(), FOLLOW_UP_WINDOW)
        leads = await self._session.execute(
            select(r.user_id, r.status_at, LeadRow.created_at).join(LeadRow, LeadRow.user_id == r.user_id)
            .where(sent, col(LeadRow.created_at) >= r.status_at))
        results.leads_7d = _within(leads.tuples().all(), FOLLOW_UP_WINDOW)
        return results


def _within(rows: Iterable[tuple[int, datetime | None, datetime | None]], window: timedelta) -> int:
    """How many people did it within `window` after their message (each counted once)."""
    return len({user_id for user_id, sent_at, at in rows
                if sent_at is not None and at is not None and sent_at <= at <= sent_at + window})
