"""Editing events, offers (vacancies) and companies from the web cockpit.

Same checks and side effects as a content load (storage/content_sync.py): every input is checked by
the content pack's own loader (content/schema.py and content/loader.py, on the content with the edit
applied), and in the same transaction as the change people who asked to be reminded of an event are
told of a move or a cancellation (flows.conversations.events.announce_change) and saved searches are
told of a new offer (flows.jobs.alerts.alert_saved_searches). Every change is written to the audit log.

An agent works on one cluster: its events, the offers of its companies, its companies. Anything else is
"not found" (NotFound), the same as a slug that does not exist, so nothing tells another cluster's
content apart from no content. Invalid input raises EditRejected with one FieldError per problem and
writes nothing. How cockpit edits and the YAML pack live together: flows/domain/content_edit.py.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from content import Pack, PackError, default_directory
from content.loader import validate_pack
from content.postcodes import PostcodeDirectory
from flows.conversations.events import announce_change
from flows.core.ports import Clock
from flows.domain.content_edit import (
    ARCHIVED,
    COCKPIT,
    EDITABLE,
    FILES,
    MOVE_FIELDS,
    PACK,
    SUBJECTS,
    FieldError,
    Kind,
    RsvpPerson,
    RsvpSummary,
    apply_changes,
    changed_fields,
    clean,
    field_errors,
    override_fields,
    slug_for,
)
from flows.domain.offer_import import SOURCE as IMPORTED
from flows.domain.question import TeamState
from flows.jobs.alerts import alert_saved_searches
from storage import search
from storage.content_export import live_rows
from storage.content_sync import KINDS, _Source, event_moved, event_view
from storage.tables import ClusterRow, CompanyRow, EventRow, FaqRow, ProfessionRow, UserRow, VacancyRow
from storage.tables_events import EventRsvpRow
from storage.tables_quiz import QuizQuestionRow
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory

BERLIN = ZoneInfo("Europe/Berlin")  # the pack's dates (an offer's "published") are Berlin dates
Row = EventRow | VacancyRow | CompanyRow
TABLES: dict[Kind, type[Row]] = {"events": EventRow, "vacancies": VacancyRow, "companies": CompanyRow}
COLUMNS = {kind: columns for kind, _, columns in KINDS}
AUDIT_TEXT_MAX = 200  # long texts (descriptions) are shortened in the audit log


class NotFound(LookupError):
    """No such event, offer or company in this cluster (another cluster's counts as none)."""


class EditRejected(ValueError):
    """The input does not make a valid pack entry; nothing was written."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field or '-'}: {e.code}" for e in errors))

    @property
    def by_field(self) -> dict[str, list[str]]:
        """Form field ("" for the whole entry) -> reason codes (prompts: content_edit.error.<code>)."""
        out: dict[str, list[str]] = {}
        for error in self.errors:
            codes = out.setdefault(error.field, [])
            if error.code not in codes:
                codes.append(error.code)
        return out


class EditConflict(RuntimeError):
    """Someone changed the entry since the form was opened (its version differs); nothing was written."""


class FaqExists(RuntimeError):
    """The team question already has its FAQ entry (a second submit, or a colleague's): nothing was written."""

    def __init__(self, slug: str) -> None:
        self.slug = slug
        super().__init__(f"faq:{slug}")


class NotAnswered(RuntimeError):
    """Only an answered team question can become a FAQ entry."""


FAQ_FIELDS = frozenset({"question", "variants", "answer_du", "answer_sie", "audience", "sources"})  # the form's


@dataclass(frozen=True)
class EditResult:
    kind: Kind
    slug: str
    action: str  # as in the audit log: event.move, offer.create, ...
    changed: tuple[str, ...]  # pack fields that changed; empty: nothing to do (and nothing recorded)
    announced: int = 0  # messages queued to people who asked to be reminded of the event
    alerted: int = 0  # saved searches told about the new offer


@dataclass(frozen=True)
class ContentItem:
    """An event, offer or company as the cockpit lists and edits it."""

    kind: Kind
    slug: str
    data: dict[str, Any]  # the pack entry (JSON values: times as ISO text with offset)
    origin: str  # pack | cockpit
    edited: tuple[str, ...]  # pack fields the cockpit changed (origin pack)
    archived: bool
    version: str  # pass back to an edit to refuse it if someone else changed the entry meanwhile


@dataclass(frozen=True)
class EventRsvps:
    slug: str
    title: str
    starts: datetime
    cancelled: bool
    archived: bool
    summary: RsvpSummary


def _version(row: Row) -> str:
    """What the entry says now, as a short hash: any change by anyone (cockpit or pack load) gives a new
    version, whatever the clock says (two edits within one clock tick included)."""
    state = json.dumps([row.data, row.overrides, row.archived, row.origin], sort_keys=True, default=str)
    return f"{row.id}:{hashlib.sha256(state.encode()).hexdigest()[:16]}"


def _item(kind: Kind, row: Row) -> ContentItem:
    return ContentItem(kind=kind, slug=row.slug, data=dict(row.data), origin=row.origin,
                       edited=tuple(sorted(k for k in row.overrides if k != ARCHIVED)), archived=row.archived,
                       version=_version(row))


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > AUDIT_TEXT_MAX:
        return value[:AUDIT_TEXT_MAX - 1] + "…"
    return value


def _suffix(kind: Kind, changes: Mapping[str, Any]) -> str:
    """The date part of a new slug: the event's month ("2027-03"), the offer's start year ("2027")."""
    value = changes.get("starts" if kind == "events" else "start")
    text = value.isoformat() if isinstance(value, (date, datetime)) else str(value or "")
    match = re.match(r"(\d{4})-(\d{2})", text)
    if match is None:
        return ""
    return f"{match.group(1)}-{match.group(2)}" if kind == "events" else match.group(1)


class ContentEditor:
    """The cockpit's edits of one cluster's content. `actor` is who does it ("telegram:<chat id>")."""

    def __init__(self, uow_factory: SqlUnitOfWorkFactory, clock: Clock,
                 postcodes: PostcodeDirectory | None = None) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._postcodes = postcodes or default_directory()

    # ---- events ----------------------------------------------------------------------------------

    async def create_event(self, actor: str, cluster: str, fields: Mapping[str, Any]) -> EditResult:
        return await self._save(actor, cluster, "events", None, fields, "event.create", EDITABLE["events"])

    async def edit_event(self, actor: str, cluster: str, slug: str, fields: Mapping[str, Any],
                         version: str | None = None) -> EditResult:
        """Change any of EDITABLE["events"]; a new time, town or cancellation is told to attendees."""
        return await self._save(actor, cluster, "events", slug, fields, "event.edit", EDITABLE["events"],
                                version=version)

    async def move_event(self, actor: str, cluster: str, slug: str, fields: Mapping[str, Any],
                         version: str | None = None) -> EditResult:
        """New start/end time or place (starts, ends, place, plz, address): attendees are told of any of
        them, a new address in the same town too (unlike a plain edit, which may be a typo fix)."""
        return await self._save(actor, cluster, "events", slug, fields, "event.move", frozenset(MOVE_FIELDS),
                                version=version, announce=True)

    async def cancel_event(self, actor: str, cluster: str, slug: str) -> EditResult:
        return await self._save(actor, cluster, "events", slug, {"cancelled": True}, "event.cancel",
                                frozenset({"cancelled"}))

    async def archive_event(self, actor: str, cluster: str, slug: str) -> EditResult:
        """Off every list. An event still to come is cancelled first (attendees are told): archiving
        must not leave people waiting for an event nobody sees any more."""
        async with self._uow_factory() as uow:
            row = await self._owned(uow.session, "events", cluster, slug)
            upcoming = row.ends_at is not None and row.ends_at > self._clock.now() and not row.data.get("cancelled")
        changes = {"cancelled": True} if upcoming else {}
        return await self._save(actor, cluster, "events", slug, changes, "event.archive",
                                frozenset({"cancelled"}), archived=True)

    async def restore_event(self, actor: str, cluster: str, slug: str) -> EditResult:
        return await self._save(actor, cluster, "events", slug, {}, "event.restore", frozenset(), archived=False)

    async def rsvps(self, cluster: str, slug: str) -> EventRsvps:
        """Who asked to be reminded of one of the cluster's events, as numbers (RsvpSummary says why)."""
        async with self._uow_factory() as uow:
            row = await self._owned(uow.session, "events", cluster, slug, archived_too=True)
            assert isinstance(row, EventRow) and row.starts_at is not None
            found = await uow.session.execute(
                select(UserRow.role, UserRow.age_band, EventRsvpRow.offsets)
                .join(EventRsvpRow, EventRsvpRow.user_id == UserRow.id)
                .where(EventRsvpRow.event == slug, col(UserRow.active).is_(True)))
            people = [RsvpPerson(role=role, age_band=band, offsets=tuple(offsets or ()))
                      for role, band, offsets in found.tuples().all()]
            return EventRsvps(slug=slug, title=row.title, starts=row.starts_at,
                              cancelled=bool(row.data.get("cancelled")), archived=row.archived,
                              summary=RsvpSummary.of(people))

    @staticmethod
    async def rsvp_counts(session: AsyncSession, cluster: str) -> dict[str, int]:
        """People (still active) who RSVP'd, per event of the cluster: one query for the events list."""
        found = await session.execute(
            select(EventRsvpRow.event, func.count())
            .join(UserRow, EventRsvpRow.user_id == UserRow.id)
            .join(EventRow, EventRow.slug == EventRsvpRow.event)
            .where(EventRow.cluster == cluster, col(UserRow.active).is_(True))
            .group_by(EventRsvpRow.event))
        return {event: count for event, count in found.tuples().all()}

    # ---- offers ----------------------------------------------------------------------------------

    async def create_offer(self, actor: str, cluster: str, fields: Mapping[str, Any]) -> EditResult:
        """A new offer of one of the cluster's companies (`company`); published today unless given;
        at the company's PLZ unless given. Saved searches it matches are told."""
        return await self._save(actor, cluster, "vacancies", None, fields, "offer.create", EDITABLE["vacancies"])

    async def edit_offer(self, actor: str, cluster: str, slug: str, fields: Mapping[str, Any],
                         version: str | None = None) -> EditResult:
        return await self._save(actor, cluster, "vacancies", slug, fields, "offer.edit", EDITABLE["vacancies"],
                                version=version)

    async def archive_offer(self, actor: str, cluster: str, slug: str) -> EditResult:
        return await self._save(actor, cluster, "vacancies", slug, {}, "offer.archive", frozenset(), archived=True)

    async def restore_offer(self, actor: str, cluster: str, slug: str) -> EditResult:
        """Back on the lists; like an offer a load brings back, it counts as new for saved searches."""
        return await self._save(actor, cluster, "vacancies", slug, {}, "offer.restore", frozenset(), archived=False)

    # ---- companies -------------------------------------------------------------------------------

    async def edit_company(self, actor: str, cluster: str, slug: str, fields: Mapping[str, Any],
                           version: str | None = None) -> EditResult:
        return await self._save(actor, cluster, "companies", slug, fields, "company.edit", EDITABLE["companies"],
                                version=version)

    # ---- FAQ entries from the team's answers --------------------------------------------------------

    async def create_faq(self, actor: str, cluster: str, question_id: int, fields: Mapping[str, Any]) -> str:
        """A FAQ entry of the cluster (`clusters: [cluster]`: only its users find it) made of an answered
        team question (flows/domain/question.py): checked by the pack's loader like every cockpit edit
        (EditRejected), saved, its page written into the search index (the bot finds it at once), the
        question's `faq_slug` set, the audit log written, in one transaction. Returns the new slug.
        FaqExists if the question has a live entry already; NotAnswered if it is not answered;
        NotFound for an unknown question or another cluster's."""
        changes = _allowed_changes(fields, FAQ_FIELDS)
        now = self._clock.now()
        async with self._uow_factory() as uow:
            session = uow.session
            question = await uow.questions.get(question_id)
            if question is None or question.cluster != cluster or question.team == TeamState.NONE:
                raise NotFound(f"question:{question_id}")
            if question.team != TeamState.ANSWERED:
                raise NotAnswered(f"question:{question_id}")
            if question.faq_slug and (await session.execute(select(FaqRow.id).where(
                    FaqRow.slug == question.faq_slug, col(FaqRow.archived).is_(False)))).first() is not None:
                raise FaqExists(question.faq_slug)
            taken = set((await session.execute(select(FaqRow.slug))).scalars().all())
            slug = slug_for(str(changes.get("question") or question.text), "", taken.__contains__)
            entry = apply_changes({"slug": slug}, changes)
            entry["clusters"] = [cluster]
            pack = await self._check_faq(session, entry)
            valid = pack.faq_by_slug[slug]
            values = {"data": valid.model_dump(mode="json"), **COLUMNS["faq"](valid, _Source(pack, self._postcodes))}
            session.add(FaqRow(slug=slug, updated_at=now, archived=False, origin=COCKPIT, overrides={}, **values))
            await session.flush()
            question.faq_slug = slug
            await uow.questions.save(question)
            data = values["data"]
            await uow.cockpit.record(now, actor, cluster, "faq.create", f"faq:{slug}",
                                     {"question": question_id, "fields": sorted(data),
                                      "to": {f: _short(data.get(f)) for f in sorted(data)}})
            await search.rebuild_ref(session, now, "faq", slug)
            await uow.commit()
            return slug

    async def _check_faq(self, session: AsyncSession, entry: dict[str, Any]) -> Pack:
        """The loader's verdict on the FAQ with the new entry (after the live ones); problems the
        content had before are left out, as in _check."""
        files, _ = await self._files(session, "events", None, "")  # no event refers to a FAQ entry
        live = [r.data for r in await live_rows(session, FaqRow)]
        try:
            return validate_pack({**files, "faq.yaml": [*live, entry]}, self._postcodes)
        except PackError as error:
            try:
                validate_pack({**files, "faq.yaml": live}, self._postcodes)
                known = []
            except PackError as earlier:
                known = earlier.problems
            errors = field_errors(error.problems, "faq.yaml", len(live), known)
            raise EditRejected(errors or [FieldError("", "invalid", "; ".join(map(str, error.problems[:3])))]) \
                from None

    # ---- reads for the cockpit's pages -----------------------------------------------------------

    async def items(self, cluster: str, kind: Kind, archived: bool = False) -> list[ContentItem]:
        """The cluster's events (by start), offers (of its companies) or companies (by name)."""
        async with self._uow_factory() as uow:
            table = TABLES[kind]
            query = select(table).where(col(table.archived).is_(archived))
            if kind == "vacancies":
                query = query.join(CompanyRow, CompanyRow.slug == VacancyRow.company) \
                    .where(CompanyRow.cluster == cluster, VacancyRow.origin != IMPORTED) \
                    .order_by(VacancyRow.start, VacancyRow.slug)
            elif kind == "events":
                query = query.where(EventRow.cluster == cluster).order_by(EventRow.starts_at, EventRow.slug)
            else:
                query = query.where(CompanyRow.cluster == cluster).order_by(CompanyRow.name, CompanyRow.slug)
            return [_item(kind, row) for row in (await uow.session.execute(query)).scalars().all()]

    async def item(self, cluster: str, kind: Kind, slug: str) -> ContentItem:
        async with self._uow_factory() as uow:
            return _item(kind, await self._owned(uow.session, kind, cluster, slug, archived_too=True))

    async def professions(self) -> list[tuple[str, str]]:
        """(slug, name) of every profession, for the offer and event forms."""
        async with self._uow_factory() as uow:
            rows = await uow.session.execute(select(ProfessionRow.slug, ProfessionRow.name)
                                             .where(col(ProfessionRow.archived).is_(False))
                                             .order_by(ProfessionRow.name))
            return [(slug, name) for slug, name in rows.tuples().all()]

    # ---- the one way to change content -----------------------------------------------------------

    async def _owned(self, session: AsyncSession, kind: Kind, cluster: str, slug: str,
                     archived_too: bool = False) -> Row:
        table = TABLES[kind]
        query = select(table).where(table.slug == slug)
        if kind == "vacancies":
            query = query.join(CompanyRow, CompanyRow.slug == VacancyRow.company).where(
                CompanyRow.cluster == cluster, VacancyRow.origin != IMPORTED)  # the import's, not the cockpit's
        else:
            query = query.where(table.cluster == cluster)
        row = (await session.execute(query)).scalars().first()
        if not isinstance(row, (EventRow, VacancyRow, CompanyRow)) or (row.archived and not archived_too):
            raise NotFound(f"{SUBJECTS[kind]}:{slug}")
        return row

    async def _foreign(self, session: AsyncSession, kind: Kind, cluster: str, old: Mapping[str, Any],
                       changes: Mapping[str, Any]) -> list[FieldError]:
        """Companies of another cluster are unknown here: an offer's company, and companies newly named
        at an event (one the pack already lists there may stay)."""
        wanted: set[str] = set()
        field = "company" if kind == "vacancies" else "companies"
        if kind == "vacancies" and isinstance(changes.get("company"), str):
            wanted = {changes["company"]}
        elif kind == "events" and isinstance(changes.get("companies"), list):
            wanted = {c for c in changes["companies"] if isinstance(c, str)} - set(old.get("companies") or [])
        if not wanted:
            return []
        ours = set((await session.execute(select(CompanyRow.slug).where(
            CompanyRow.slug.in_(wanted), CompanyRow.cluster == cluster,
            col(CompanyRow.archived).is_(False)))).scalars().all())
        return [FieldError(field, "unknown_ref", f'unknown company "{slug}"') for slug in sorted(wanted - ours)]

    async def _files(self, session: AsyncSession, kind: Kind, entry: dict[str, Any] | None,
                     slug: str) -> tuple[dict[str, list[Any]], int]:
        """The pack files the loader needs to check one entry (the others' references into it cannot
        change, as slugs never do), with `entry` in place of the stored one (None: without it); and
        the entry's position in its file."""
        files: dict[str, list[Any]] = {
            "clusters.yaml": [r.data for r in await live_rows(session, ClusterRow)],
            "professions.yaml": [r.data for r in await live_rows(session, ProfessionRow)],
            "companies.yaml": [r.data for r in await live_rows(session, CompanyRow)],
            "vacancies.yaml": [], "events.yaml": [],
            "quiz.yaml": [r.data for r in await live_rows(session, QuizQuestionRow)],
        }
        file = FILES[kind]
        if kind == "companies":  # the company's offers must still fit it (the professions it lists)
            offers = await session.execute(select(VacancyRow.data).where(
                VacancyRow.company == slug, col(VacancyRow.archived).is_(False)).order_by(VacancyRow.id))
            files["vacancies.yaml"] = list(offers.scalars().all())
        others = [e for e in files[file] if e.get("slug") != slug]
        index = next((i for i, e in enumerate(files[file]) if e.get("slug") == slug), len(others))
        files[file] = others[:index] + ([entry] if entry is not None else []) + others[index:]
        return files, index

    async def _check(self, session: AsyncSession, kind: Kind, entry: dict[str, Any], old: dict[str, Any]) -> Pack:
        """The loader's verdict on the content with the edit; its problems as form errors, leaving out
        problems the content had before the edit (an operator's matter, not the form's)."""
        key = str(entry["slug"])
        files, index = await self._files(session, kind, entry, key)
        try:
            return validate_pack(files, self._postcodes)
        except PackError as error:
            before, _ = await self._files(session, kind, old or None, key)
            try:
                validate_pack(before, self._postcodes)
                known = []
            except PackError as earlier:
                known = earlier.problems
            errors = field_errors(error.problems, FILES[kind], index, known)
            if not errors:
                errors = [FieldError("", "invalid", "; ".join(map(str, error.problems[:3])))]
            raise EditRejected(errors) from None

    async def _save(self, actor: str, cluster: str, kind: Kind, slug: str | None, fields: Mapping[str, Any],
                    action: str, allowed: frozenset[str], version: str | None = None, announce: bool = False,
                    archived: bool | None = None) -> EditResult:
        changes = _allowed_changes(fields, allowed)
        now = self._clock.now()
        async with self._uow_factory() as uow:
            session = uow.session
            table = TABLES[kind]
            row = None if slug is None else await self._owned(session, kind, cluster, slug,
                                                              archived_too=archived is False)
            if row is not None and version is not None and version != _version(row):
                raise EditConflict(f"{SUBJECTS[kind]}:{row.slug}")
            refused = await self._foreign(session, kind, cluster, row.data if row else {}, changes)
            if refused:
                raise EditRejected(refused)
            old: dict[str, Any] = dict(row.data) if row is not None else {}
            if row is None:
                taken = set((await session.execute(select(table.slug))).scalars().all())
                title = changes.get("title") or changes.get("name") or ""
                new_slug = slug_for(str(title), _suffix(kind, changes), taken.__contains__)
                base: dict[str, Any] = {"slug": new_slug}
                if kind == "events":
                    base["cluster"] = cluster
                if kind == "vacancies":
                    base["published"] = now.astimezone(BERLIN).date().isoformat()
                entry = apply_changes(base, changes)
            else:
                entry = apply_changes(old, changes)
            key = str(entry["slug"])
            pack = await self._check(session, kind, entry, old)
            valid = {e.slug: e for e in getattr(pack, kind)}[key]
            values = {"data": valid.model_dump(mode="json"),
                      **COLUMNS[kind](valid, _Source(pack, self._postcodes))}
            changed = changed_fields(old, values["data"]) if row is not None else sorted(values["data"])
            unarchive = archived is False and row is not None and row.archived
            if row is not None and not changed and (archived is None or archived == row.archived):
                return EditResult(kind, row.slug, action, ())
            announced = alerted = 0
            if row is None:
                row = table(slug=key, updated_at=now, archived=False, origin=COCKPIT, overrides={}, **values)
                session.add(row)
                await session.flush()
            else:
                stays_off = isinstance(row, EventRow) and row.cancelled and bool(values["cancelled"])
                moved = isinstance(row, EventRow) and not stays_off \
                    and (event_moved(row, values) or (announce and bool(changed)))
                old_view = event_view(row) if isinstance(row, EventRow) else None
                if moved and isinstance(row, EventRow):
                    values["sequence"] = row.sequence + 1
                for name, value in values.items():
                    setattr(row, name, value)
                if archived is not None:
                    row.archived = archived
                if row.origin == PACK:
                    overrides = {**row.overrides,
                                 **{f: values["data"].get(f) for f in override_fields(kind, changed)}}
                    if archived is not None:
                        overrides[ARCHIVED] = archived
                    row.overrides = overrides
                row.updated_at = now
                await session.flush()
                if moved and isinstance(row, EventRow) and old_view is not None:
                    announced = await announce_change(uow, old_view, event_view(row), now)
            if kind == "vacancies" and (slug is None or unarchive):
                alerted = await alert_saved_searches(uow, [key], self._postcodes, now)
            await self._record(uow, now, actor, cluster, action, kind, key, old, values["data"], changed,
                               announced, alerted, archived)
            await search.rebuild_ref(session, now, kind, key)  # its page in the free questions' index
            await uow.commit()
            return EditResult(kind, key, action, tuple(changed), announced, alerted)

    @staticmethod
    async def _record(uow: SqlUnitOfWork, now: datetime, actor: str, cluster: str, action: str, kind: Kind,
                      slug: str, old: dict[str, Any], new: dict[str, Any], changed: list[str], announced: int,
                      alerted: int, archived: bool | None) -> None:
        detail: dict[str, Any] = {"fields": changed, "to": {f: _short(new.get(f)) for f in changed}}
        if old:
            detail["from"] = {f: _short(old.get(f)) for f in changed}
        if archived is not None:
            detail["archived"] = archived
        if announced:
            detail["announced"] = announced
        if alerted:
            detail["alerted"] = alerted
        await uow.cockpit.record(now, actor, cluster, action, f"{SUBJECTS[kind]}:{slug}", detail)


def _allowed_changes(fields: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    """The form's fields, cleaned; EditRejected if it sets a field the cockpit may not change."""
    changes = {str(k): clean(v) for k, v in fields.items()}
    refused = [FieldError(k, "not_editable") for k in changes if k not in allowed]
    if refused:
        raise EditRejected(refused)
    return changes
