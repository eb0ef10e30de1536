"""The search over the bot's knowledge (issue 13): one page per FAQ entry, profession, cluster, company,
upcoming event and offer in `search_docs`, its words analysed by flows/domain/search_text.py.

`rebuild` writes the pages from the content tables (upsert by kind and ref, delete what is gone,
archived, cancelled or over); it runs at the end of every content load (storage/content_sync.py) and,
for one page, after each edit in the web cockpit (`rebuild_ref`, storage/content_edits.py).

`search` finds the candidates in the database – SQLite: the FTS5 table `search_fts` (bm25);
PostgreSQL: the stored to_tsvector('simple', terms) under a GIN index (ts_rank) – and ranks them in Python
(search_text.rank), so both databases rank alike. The query is built only from analysed terms
(letters and digits), each quoted: typed text never reaches the full-text syntax or the SQL.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from flows.domain.search_text import Query, Ranking, Vocabulary, analyse, content_words, excerpt, parse_query
from storage.tables import ClusterRow, CompanyRow, EventRow, FaqRow, ProfessionRow, SearchDocRow, VacancyRow
from storage.types import UTCDateTime

BERLIN = ZoneInfo("Europe/Berlin")
KINDS = ("faq", "profession", "cluster", "company", "event", "offer")
CANDIDATES = 60  # knowledge pages the database hands to the ranking
OFFER_CANDIDATES = 20  # and offers
COMMON_SHARE = 0.2  # a term on more pages than this share (and COMMON_MIN) does not choose candidates
COMMON_MIN = 1000
VOCABULARY_TTL = 60.0  # seconds: another process's content load reaches this one's vocabulary after this
OFFERS_RANKED = 2000  # offers matching every concept: ranked by the database up to this many, else newest first
MARK_PAGE, MARK_OFFER = "0page", "0offer"  # first term of a knowledge page's and of an offer's terms
EXCERPT = 700  # characters of a page shown to the model
CHUNK = 2000  # rows per bulk statement

# The labels the pages are written with (German, as the pack): index text for the search and the model.
MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
          "November", "Dezember")
WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
ORDINALS = ("ersten", "zweiten", "dritten", "vierten", "fünften")
FIELDS = {"mechatronik": "Mechatronik", "metall-elektro": "Metall und Elektro", "bau-handwerk": "Bau und Handwerk",
          "pflege-hauswirtschaft": "Pflege und Hauswirtschaft"}
FORMATS = {"messe": "Ausbildungsmesse", "schau-rein": "Schau rein! – Woche der offenen Unternehmen",
           "girls-boys-day": "Girls'Day / Boys'Day", "tag-der-offenen-tuer": "Tag der offenen Tür",
           "spaetschicht": "Spätschicht (Betriebsbesuch am Abend)", "workshop": "Workshop",
           "unternehmen-machen-schule": "Unternehmen machen Schule", "mint-mobil": "MINT-Mobil",
           "elternabend": "Elternabend"}
AUDIENCES = {"teens": "für Jugendliche", "parents": "für Eltern", "both": "für Jugendliche und Eltern"}
OFFER_KINDS = {"ausbildung": "Ausbildung", "praktikum": "Praktikum"}
SCHOOL_LEVELS = {"none": "kein Schulabschluss nötig", "hauptschule": "Hauptschulabschluss",
                 "mittlere_reife": "mittlerer Schulabschluss (Mittlere Reife)", "abitur": "Abitur"}
ROLES = {"teen": "teens", "parent": "parents"}  # a user's role -> the audience of pages


@dataclass(frozen=True)
class Hit:
    """A page that matches a question, best first. `id` is "<kind>:<ref>" (what the model cites)."""

    id: str
    kind: str
    ref: str
    title: str
    body: str  # the page's sentences that match the question best (at most EXCERPT characters)
    score: float
    cluster: str | None = None


@dataclass(frozen=True)
class Page:
    """A page as written into search_docs; `extra` is indexed but not shown (FAQ question variants)."""

    kind: str
    ref: str
    cluster: str | None
    audience: str | None
    title: str
    body: str
    extra: str = ""

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.body}\n{self.extra}"


@dataclass
class RebuildReport:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)  # pages now in the index per kind


# ---- writing the pages -----------------------------------------------------------------------------
def _join(items: Iterable[str | None], sep: str = ", ") -> str:
    return sep.join(i for i in items if i)


def _lines(*parts: str | None) -> str:
    return "\n".join(p.strip() for p in parts if p and p.strip())


def _euro(amount: int) -> str:
    return f"{amount:,} €".replace(",", ".")


def _years(months: int) -> str:
    return f"{months / 12:g}".replace(".", ",")


def _day(value: date) -> str:
    return f"{value.day}. {MONTHS[value.month - 1]} {value.year}"


def _words_of(value: Any) -> str:
    return str(value) if isinstance(value, str) else ""


def profession_page(data: Mapping[str, Any], cluster_names: Mapping[str, str]) -> Page:
    name = str(data.get("name", ""))
    teen: Mapping[str, Any] = data.get("teen") or {}
    parent: Mapping[str, Any] = data.get("parent") or {}
    pay: Mapping[str, Any] = data.get("pay") or {}
    months = int(data.get("duration_months") or 0)
    monthly = [int(x) for x in pay.get("monthly_eur") or []]
    if monthly:
        amounts = ", ".join(f"im {ORDINALS[i]} Ausbildungsjahr (Lehrjahr) {_euro(eur)}"
                            for i, eur in enumerate(monthly[:len(ORDINALS)]))
        basis = "gesetzliche Mindestvergütung nach § 17 BBiG" if pay.get("basis") == "bbig-mindestverguetung" \
            else "Tarif"
        pay_line = (f"Ausbildungsvergütung bei Ausbildungsbeginn {pay.get('start_year', '')}: {amounts} "
                    f"brutto im Monat ({basis}). {_words_of(pay.get('note'))}")
    else:
        pay_line = f"Ausbildungsvergütung: {_words_of(pay.get('note'))}"
    towns = [str(t.get("name")) for t in data.get("berufsschule") or [] if isinstance(t, Mapping)]
    clusters = [cluster_names.get(str(c), "") for c in data.get("clusters") or []]
    body = _lines(
        f"{name}: {_words_of(teen.get('summary'))}", _words_of(teen.get("what_you_do")),
        _words_of(teen.get("where_you_learn")), _words_of(parent.get("summary")),
        f"Dauer der Ausbildung: {_years(months)} Jahre ({months} Monate)." if months else None,
        pay_line,
        f"Schulabschluss: {_words_of(data.get('school_expectation'))}",
        f"Zugangsvoraussetzung: {data['legal_requirement']}" if data.get("legal_requirement") else None,
        f"Berufsschule: {_join(towns)}." if towns else None, _words_of(parent.get("berufsschule_travel")),
        _words_of(parent.get("prospects")), _words_of(parent.get("how_to_support")),
        f"Berufsfeld: {FIELDS.get(str(data.get('field')), '')}.",
        f"Cluster: {_join(clusters)}." if any(clusters) else None)
    return Page("profession", str(data["slug"]), None, None, name, body)


def cluster_page(data: Mapping[str, Any], profession_names: Sequence[str]) -> Page:
    name = str(data.get("name", ""))
    towns = [str(t.get("name")) for t in data.get("region_towns") or [] if isinstance(t, Mapping)]
    body = _lines(
        f"{name} – Ausbildungscluster 4.0: {_words_of(data.get('region_name'))}.",
        _words_of(data.get("description_teen")), _words_of(data.get("description_parent")),
        f"Träger: {_join([_words_of(data.get('lead_organisation')), _words_of(data.get('lead_address'))])}.",
        f"Bundesländer: {_join(data.get('states') or [])}. Landkreise: {_join(data.get('districts') or [])}.",
        f"Orte: {_join(towns)}." if towns else None,
        f"Berufsfelder: {_join(FIELDS.get(str(f), '') for f in data.get('target_fields') or [])}.",
        f"Berufe: {_join(profession_names)}." if profession_names else None,
        f"Website: {data['website']}" if data.get("website") else None)
    return Page("cluster", str(data["slug"]), str(data["slug"]), None, name, body)


def company_page(data: Mapping[str, Any], cluster: str, cluster_name: str,
                 profession_names: Mapping[str, str]) -> Page:
    name = str(data.get("name", ""))
    professions = [profession_names.get(str(p), "") for p in data.get("professions") or []]
    body = _lines(
        f"{name} in {_words_of(data.get('place'))} ({_words_of(data.get('plz'))}).",
        _words_of(data.get("description")),
        f"Bildet aus: {_join(professions)}." if any(professions) else None,
        f"Größe: {data['size']}." if data.get("size") else None,
        f"Cluster: {cluster_name}." if cluster_name else None)
    return Page("company", str(data["slug"]), cluster, None, name, body)


def event_page(data: Mapping[str, Any], cluster: str, starts: datetime, ends: datetime | None,
               profession_names: Mapping[str, str], company_names: Mapping[str, str]) -> Page:
    title = str(data.get("title", ""))
    local = starts.astimezone(BERLIN)
    until = f"–{ends.astimezone(BERLIN):%H:%M}" if ends else ""
    audience = str(data.get("audience") or "both")
    where = _join([_words_of(data.get("place")), _words_of(data.get("address"))])
    professions = [profession_names.get(str(p), "") for p in data.get("professions") or []]
    companies = [company_names.get(str(c), "") for c in data.get("companies") or []]
    body = _lines(
        f"{FORMATS.get(str(data.get('format')), 'Termin')} am {WEEKDAYS[local.weekday()]}, {_day(local.date())}, "
        f"{local:%H:%M}{until} Uhr in {where}.",
        f"Termin {AUDIENCES.get(audience, '')}." + (" Nur für Schüler:innen." if data.get("pupils_only") else ""),
        _words_of(data.get("description")),
        f"Berufe: {_join(professions)}." if any(professions) else None,
        f"Betriebe: {_join(companies)}." if any(companies) else None,
        f"Anmeldung: {data['registration_url']}" if data.get("registration_url") else None)
    return Page("event", str(data["slug"]), cluster, audience, title, body)


def offer_page(slug: str, data: Mapping[str, Any], kind: str, title: str, start: date | None,
               profession_name: str, company: Mapping[str, Any] | None, cluster: str | None) -> Page:
    company_name = str(company.get("name", "")) if company else str(data.get("employer") or "")
    place = _words_of(data.get("place")) or (_words_of(company.get("place")) if company else "")
    school = data.get("berufsschule")
    places = int(data.get("places") or 1)
    body = _lines(
        f"{OFFER_KINDS.get(kind, kind)} als {profession_name} bei {company_name} in {place}.",
        f"Beginn: {_day(start)}." if start else None,
        f"{places} Plätze." if places > 1 else None,
        _words_of(data.get("description")),
        f"Erwarteter Schulabschluss: {SCHOOL_LEVELS[data['school_expectation']]}."
        if data.get("school_expectation") in SCHOOL_LEVELS else None,
        f"Berufsschule: {school.get('name')}." if isinstance(school, Mapping) else None,
        "Nur für Schüler:innen (Schülerpraktikum)." if data.get("pupils_only") else None)
    return Page("offer", slug, cluster, None, title, body)


def faq_page(slug: str, question: str, audience: str | None, data: Mapping[str, Any],
             profession_names: Mapping[str, str]) -> Page:
    """A FAQ entry of any shape the pack gives it: question, variants, answer (or answer_du and
    answer_sie), sources, the professions and clusters it is about (one cluster: only that cluster's
    users find it; several or none: everybody, as a page has one cluster at most)."""
    answer = _words_of(data.get("answer")) or _words_of(data.get("answer_sie")) or _words_of(data.get("answer_du"))
    variants = [str(v) for v in data.get("variants") or data.get("questions") or [] if isinstance(v, str)]
    other = _words_of(data.get("answer_du")) if answer != _words_of(data.get("answer_du")) else ""
    sources = [str(s.get("title") or "") if isinstance(s, Mapping) else str(s) for s in data.get("sources") or []]
    professions = [profession_names.get(str(p), "") for p in data.get("professions") or []]
    clusters = data.get("clusters") or ([data["cluster"]] if data.get("cluster") else [])
    cluster = str(clusters[0]) if isinstance(clusters, list) and len(clusters) == 1 else None
    return Page("faq", slug, cluster, audience, question or str(data.get("question", "")), _lines(answer),
                extra=_lines(*variants, other, *sources, *professions,
                             *(str(k) for k in data.get("keywords") or [])))


# ---- reading the content ---------------------------------------------------------------------------
@dataclass
class _Content:
    cluster_names: dict[str, str]
    profession_names: dict[str, str]
    companies: dict[str, tuple[str, dict[str, Any]]]  # slug -> (cluster, data)


async def _content(session: AsyncSession) -> _Content:
    clusters = {slug: name for slug, name in (await session.execute(
        select(ClusterRow.slug, ClusterRow.name).where(col(ClusterRow.archived).is_(False)))).tuples().all()}
    professions = {slug: name for slug, name in (await session.execute(
        select(ProfessionRow.slug, ProfessionRow.name))).tuples().all()}
    companies = {slug: (cluster, data) for slug, cluster, data in (await session.execute(
        select(CompanyRow.slug, CompanyRow.cluster, CompanyRow.data))).tuples().all()}
    return _Content(clusters, professions, companies)


async def _pages(session: AsyncSession, now: datetime, kinds: Collection[str],
                 refs: Mapping[str, Collection[str]] | None = None) -> list[Page]:
    """The pages of the content as it is now; `refs` limits a kind to some slugs."""
    content = await _content(session)

    def only(table: Any, kind: str) -> Any:
        query = select(table).where(col(table.archived).is_(False))
        if refs is not None and kind in refs:
            query = query.where(col(table.slug).in_(list(refs[kind])))
        return query

    pages: list[Page] = []
    if "faq" in kinds:
        for faq in (await session.execute(only(FaqRow, "faq"))).scalars().all():
            pages.append(faq_page(faq.slug, faq.question, faq.audience, faq.data, content.profession_names))
    if "profession" in kinds:
        for prof in (await session.execute(only(ProfessionRow, "profession"))).scalars().all():
            pages.append(profession_page(prof.data, content.cluster_names))
    if "cluster" in kinds:
        members: dict[str, list[str]] = {}
        for data in (await session.execute(select(ProfessionRow.data).where(
                col(ProfessionRow.archived).is_(False)).order_by(ProfessionRow.id))).scalars().all():
            for c in data.get("clusters") or []:
                members.setdefault(str(c), []).append(str(data.get("name", "")))
        for cl in (await session.execute(only(ClusterRow, "cluster"))).scalars().all():
            pages.append(cluster_page(cl.data, members.get(cl.slug, [])))
    if "company" in kinds:
        for co in (await session.execute(only(CompanyRow, "company"))).scalars().all():
            pages.append(company_page(co.data, co.cluster, content.cluster_names.get(co.cluster, ""),
                                      content.profession_names))
    if "event" in kinds:
        query = only(EventRow, "event").where(col(EventRow.cancelled).is_(False), col(EventRow.ends_at) > now)
        company_names = {slug: str(data.get("name", "")) for slug, (_, data) in content.companies.items()}
        for ev in (await session.execute(query)).scalars().all():
            assert ev.starts_at is not None
            pages.append(event_page(ev.data, ev.cluster, ev.starts_at, ev.ends_at, content.profession_names,
                                    company_names))
    if "offer" in kinds:
        query = select(VacancyRow.slug, VacancyRow.data, VacancyRow.kind, VacancyRow.title, VacancyRow.start,
                       VacancyRow.profession, VacancyRow.company).where(col(VacancyRow.archived).is_(False))
        if refs is not None and "offer" in refs:
            query = query.where(col(VacancyRow.slug).in_(list(refs["offer"])))
        for slug, data, kind, title, start, profession, company in (await session.execute(query)).tuples().all():
            cluster, company_data = content.companies.get(company, (None, None))
            pages.append(offer_page(slug, data, kind, title, start, content.profession_names.get(profession, ""),
                                    company_data, cluster))
    return pages


# ---- the index -------------------------------------------------------------------------------------
def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _database(session: AsyncSession) -> str:
    return session.get_bind().url.render_as_string(hide_password=True)


@dataclass
class _Index:
    """What a search needs of the index before it asks it: the vocabulary (counted over the knowledge
    pages) and each term's number of pages in the whole index (offers included)."""

    loaded_at: float
    vocabulary: Vocabulary
    pages: dict[str, int]
    size: int
    titles: dict[str, frozenset[str]] = field(default_factory=dict)

    def offer_pages(self, term: str) -> int:
        """Offers with the term (the index's pages with it, less the knowledge pages)."""
        return self.pages.get(term, 0) - self.vocabulary.df.get(term, 0)

    def title_terms(self, title: str) -> frozenset[str]:
        terms = self.titles.get(title)
        if terms is None:
            if len(self.titles) > 50_000:
                self.titles.clear()
            terms = self.titles[title] = frozenset(analyse(title, self.vocabulary))
        return terms


_INDEXES: dict[str, _Index] = {}


def forget_vocabulary(session: AsyncSession) -> None:
    """The index changed: the next search reads its vocabulary anew."""
    _INDEXES.pop(_database(session), None)


async def vocabulary(session: AsyncSession) -> Vocabulary:
    return (await _index(session)).vocabulary


async def _index(session: AsyncSession) -> _Index:
    """The index's terms (cached per database for VOCABULARY_TTL seconds, and until this process
    changes the index)."""
    key = _database(session)
    cached = _INDEXES.get(key)
    if cached is not None and time.monotonic() - cached.loaded_at < VOCABULARY_TTL:
        return cached
    size = int((await session.execute(select(func.count()).select_from(SearchDocRow))).scalar_one())
    if _dialect(session) == "postgresql":
        rows = (await session.execute(text(
            "SELECT word, ndoc FROM ts_stat('SELECT terms_tsv FROM search_docs')"
        ))).tuples().all()
    else:
        await session.execute(text(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_fts_vocab USING fts5vocab(main, search_fts, row)"))
        rows = (await session.execute(text("SELECT term, doc FROM temp.search_fts_vocab"))).tuples().all()
    pages = {str(term): int(n) for term, n in rows if term not in (MARK_PAGE, MARK_OFFER)}
    df: Counter[str] = Counter()
    docs = total = 0
    for (terms,) in (await session.execute(
            select(SearchDocRow.terms).where(SearchDocRow.kind != "offer"))).tuples().all():
        split = _page_terms(terms)
        df.update(set(split))
        docs += 1
        total += len(split)
    index = _Index(time.monotonic(), Vocabulary(df, docs, total, known=pages), pages, size)
    if len(_INDEXES) > 16:
        _INDEXES.clear()
    _INDEXES[key] = index
    return index


def _terms(page: Page, page_words: Sequence[str], vocab: Vocabulary) -> str:
    """The analysed words of a page, after a mark of what it is: SQLite's full-text index can then
    choose knowledge pages or offers by itself (a query "… AND 0page"), far faster than a filter
    on the pages' kind once 50,000 offers share its words."""
    return " ".join([MARK_OFFER if page.kind == "offer" else MARK_PAGE, *vocab.terms(page_words)])


def _page_terms(terms: str) -> list[str]:
    """A page's terms without the mark."""
    words = terms.split()
    return words[1:] if words and words[0] in (MARK_PAGE, MARK_OFFER) else words


async def _write(session: AsyncSession, pages: Sequence[tuple[Page, list[str]]], vocab: Vocabulary,
                 now: datetime, scope: Any, report: RebuildReport) -> None:
    """Make search_docs within `scope` (a where clause) say exactly `pages` (each with its words)."""
    existing = {(kind, ref): (doc_id, (cluster, audience, title, body, terms))
                for doc_id, kind, ref, cluster, audience, title, body, terms in (await session.execute(
                    select(SearchDocRow.id, SearchDocRow.kind, SearchDocRow.ref, SearchDocRow.cluster,
                           SearchDocRow.audience, SearchDocRow.title, SearchDocRow.body, SearchDocRow.terms)
                    .where(scope))).tuples().all()}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for page, page_words in pages:
        values = (page.cluster, page.audience, page.title[:300], page.body, _terms(page, page_words, vocab))
        old = existing.pop((page.kind, page.ref), None)
        if old is None:
            inserts.append({"kind": page.kind, "ref": page.ref, "cluster": values[0], "audience": values[1],
                            "title": values[2], "body": values[3], "terms": values[4], "updated_at": now})
        elif old[1] != values:
            updates.append({"id": old[0], "cluster": values[0], "audience": values[1], "title": values[2],
                            "body": values[3], "terms": values[4], "updated_at": now})
        else:
            report.unchanged += 1
    gone = [doc_id for doc_id, _ in existing.values()]
    for start in range(0, len(gone), 500):
        await session.execute(delete(SearchDocRow).where(col(SearchDocRow.id).in_(gone[start:start + 500])))
    for start in range(0, len(updates), CHUNK):
        await session.execute(update(SearchDocRow), updates[start:start + CHUNK])
    for start in range(0, len(inserts), CHUNK):
        await session.execute(insert(SearchDocRow), inserts[start:start + CHUNK])
    report.created += len(inserts)
    report.updated += len(updates)
    report.deleted += len(gone)
    if inserts or updates or gone:
        forget_vocabulary(session)


async def rebuild(session: AsyncSession, now: datetime, kinds: Collection[str] = KINDS) -> RebuildReport:
    """Write every page of the given kinds from the content tables as they are in this transaction
    (the caller commits). Idempotent: pages that say the same are left alone."""
    started = time.perf_counter()
    report = RebuildReport()
    pages = [(page, content_words(page.text)) for page in await _pages(session, now, kinds)]
    vocab = Vocabulary.of_words(w for _, w in pages) if set(kinds) >= set(KINDS) else \
        _with_pages(await vocabulary(session), pages)
    await _write(session, pages, vocab, now, col(SearchDocRow.kind).in_(list(kinds)), report)
    for page, _ in pages:
        report.by_kind[page.kind] = report.by_kind.get(page.kind, 0) + 1
    if _dialect(session) == "postgresql":
        # Fresh statistics for the planner after a load (thousands of offers at once): without them it
        # scans the whole table for a rare word until autovacuum gets round to it.
        await session.execute(text("ANALYZE search_docs"))
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _with_pages(vocab: Vocabulary, pages: Sequence[tuple[Page, list[str]]]) -> Vocabulary:
    """The index's vocabulary with the words of some pages about to be written."""
    more = Vocabulary.of_words(w for _, w in pages)
    df = dict(vocab.df)
    for term, n in more.df.items():
        df[term] = df.get(term, 0) + n
    return Vocabulary(df, vocab.docs + more.docs, vocab.total_terms + more.total_terms, known=vocab.known)


REFS_PER_CHUNK = 5000  # well below SQLite's limit of bound parameters (32,766)
CONTENT_KINDS = {"events": "event", "vacancies": "offer", "companies": "company", "professions": "profession",
                 "clusters": "cluster", "faq": "faq"}


async def rebuild_refs(session: AsyncSession, now: datetime, kind: str, refs: Collection[str]) -> RebuildReport:
    """After many entries of one kind changed (an offer import): their pages again, or none for those
    archived, in chunks (a query's bound parameters are limited)."""
    started = time.perf_counter()
    kind = CONTENT_KINDS.get(kind, kind)
    report = RebuildReport()
    ordered = sorted(set(refs))
    for at in range(0, len(ordered), REFS_PER_CHUNK):
        chunk = {kind: set(ordered[at:at + REFS_PER_CHUNK])}
        pages = [(page, content_words(page.text)) for page in await _pages(session, now, [kind], chunk)]
        scope = (col(SearchDocRow.kind) == kind) & col(SearchDocRow.ref).in_(list(chunk[kind]))
        await _write(session, pages, _with_pages(await vocabulary(session), pages), now, scope, report)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


async def rebuild_ref(session: AsyncSession, now: datetime, kind: str, ref: str) -> RebuildReport:
    """After one content entry changed (a cockpit edit): its page again, or none if it is archived,
    cancelled or over. `kind` is a page kind ("offer") or a content table's ("vacancies"). A company's
    offers and events are written again too (they name the company)."""
    started = time.perf_counter()
    kind = CONTENT_KINDS.get(kind, kind)
    refs: dict[str, set[str]] = {kind: {ref}}
    if kind == "company":
        refs["offer"] = set((await session.execute(
            select(VacancyRow.slug).where(VacancyRow.company == ref))).scalars().all())
        refs["event"] = {slug for slug, data in (await session.execute(select(EventRow.slug, EventRow.data)))
                         .tuples().all() if ref in (data.get("companies") or [])}
    report = RebuildReport()
    pages = [(page, content_words(page.text)) for page in await _pages(session, now, list(refs), refs)]
    vocab = _with_pages(await vocabulary(session), pages)
    for page_kind, slugs in refs.items():
        if slugs:
            scope = (col(SearchDocRow.kind) == page_kind) & col(SearchDocRow.ref).in_(list(slugs))
            await _write(session, [p for p in pages if p[0].kind == page_kind], vocab, now, scope, report)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


# ---- searching -------------------------------------------------------------------------------------
def _safe(term: str) -> bool:
    """A term that can go into a full-text query as it is: ASCII letters and digits (the analysis
    folds German to that; words of other scripts cannot match the pages anyway)."""
    return term.isascii() and term.isalnum()


def _knowledge_terms(query: Query, index: _Index) -> list[str]:
    """The query's terms on knowledge pages, without those on so many pages of the whole index that the
    database would score most of it (when rarer terms are there to choose by)."""
    known = [t for t in query.terms if index.vocabulary.df.get(t) and _safe(t)]  # best first
    limit = max(COMMON_MIN, index.size * COMMON_SHARE)
    rare = [t for t in known if index.pages.get(t, 0) <= limit]
    return rare or sorted(known, key=lambda t: index.pages.get(t, 0))[:1]


def _offer_concepts(query: Query, index: _Index) -> list[list[str]]:
    """Per concept of the query, its terms found in offers (concepts no offer mentions left out)."""
    out = []
    for concept in query.concepts:
        terms = [t for t in (*concept.terms, *concept.together) if index.offer_pages(t) and _safe(t)]
        if terms:
            out.append(list(dict.fromkeys(terms)))
    return out


@dataclass(frozen=True)
class _Select:
    """One candidate query: the full-text condition, how to order, how many."""

    condition: str  # FTS5 MATCH text (SQLite) or tsquery text (PostgreSQL)
    offers: bool
    ranked: bool  # by the database's relevance; else the newest first (all match all concepts)
    limit: int
    fallback: bool = False  # offers to use only if the offers matching every concept are none


def _part_sql(n: int, select_: _Select, postgres: bool, cluster: bool, now: bool, unless: int | None = None) -> str:
    """One part of the candidates' statement, its parameters suffixed with `n`. `unless` (PostgreSQL): the
    part runs only if part `unless` (a common table expression `p<unless>`) found nothing."""
    columns = f"{n} AS part, d.id, d.kind, d.ref, d.cluster, d.audience, d.title, d.body, d.terms"
    where = ""
    if cluster:
        where += " AND (d.cluster IS NULL OR d.cluster = :cluster)"
    if now and not select_.offers:
        where += (" AND NOT (d.kind = 'event' AND EXISTS (SELECT 1 FROM events AS e "
                  "WHERE e.slug = d.ref AND e.ends_at <= :now))")
    if postgres:
        if unless is not None:
            # Run once, before the scan: thousands of offers with a rarer word are not ranked in vain.
            where += f" AND NOT EXISTS (SELECT 1 FROM p{unless})"
        # terms_tsv: to_tsvector('simple', terms), stored by the database (migration 0013) under a GIN index.
        order = f"ts_rank(d.terms_tsv, q{n}) DESC, d.id" if select_.ranked else "d.id DESC"
        return (f"SELECT {columns} FROM search_docs AS d, to_tsquery('simple', :q{n}) AS q{n} "
                f"WHERE d.terms_tsv @@ q{n}{where} ORDER BY {order} LIMIT {select_.limit}")
    order = "bm25(search_fts), d.id" if select_.ranked else "search_fts.rowid DESC"
    return (f"SELECT * FROM (SELECT {columns} FROM search_fts JOIN search_docs AS d ON d.id = search_fts.rowid "
            f"WHERE search_fts MATCH :q{n}{where} ORDER BY {order} LIMIT {select_.limit})")


def _statement_sql(selects: Sequence[_Select], postgres: bool, cluster: bool, now: bool) -> str:
    """All parts in one statement. PostgreSQL: each part a common table expression, and the fallback
    offers only when the offers matching every concept are none (SQLite computes the fallback anyway,
    cheaply with FTS5's own index, and the caller drops it)."""
    if not postgres:
        return " UNION ALL ".join(_part_sql(n, s, postgres, cluster, now) for n, s in enumerate(selects))
    every = next((n for n, s in enumerate(selects) if s.offers and not s.fallback), None)
    parts = [f"p{n} AS ({_part_sql(n, s, postgres, cluster, now, every if s.fallback else None)})"
             for n, s in enumerate(selects)]
    return f"WITH {', '.join(parts)} " + " UNION ALL ".join(f"SELECT * FROM p{n}" for n in range(len(selects)))


def _or(terms: Sequence[str], postgres: bool) -> str:
    """Any of the terms (all `_safe`: quoting is all the escaping an FTS5 query needs)."""
    assert terms and all(_safe(t) for t in terms)
    return " | ".join(terms) if postgres else " OR ".join(f'"{t}"' for t in terms)


def _both(condition: str, mark: str, postgres: bool) -> str:
    """Only pages with the mark: knowledge pages or offers (the full-text index chooses, no filter)."""
    return f"{condition} & {mark}" if postgres else f'{condition} AND "{mark}"'


def _selects(query: Query, index: _Index, postgres: bool) -> list[_Select]:
    """The knowledge pages to rank, and the offers: those matching every concept an offer can match
    (the newest first when there are very many), else those matching a rarer word of the question."""
    selects = []
    knowledge = _knowledge_terms(query, index)
    if knowledge:
        selects.append(_Select(_both(f"({_or(knowledge, postgres)})", MARK_PAGE, postgres), False, True,
                               CANDIDATES))
    concepts = _offer_concepts(query, index)
    if concepts:
        parts = [f"({_or(terms, postgres)})" for terms in concepts]
        fewest = min(sum(index.offer_pages(t) for t in terms) for terms in concepts)
        every = " & ".join(parts) if postgres else " AND ".join(parts)
        selects.append(_Select(_both(every, MARK_OFFER, postgres), True, fewest <= OFFERS_RANKED, OFFER_CANDIDATES))
        rare = [t for t in query.terms if 0 < index.offer_pages(t) <= OFFERS_RANKED and _safe(t)]
        if len(concepts) > 1 and rare:
            selects.append(_Select(_both(f"({_or(rare, postgres)})", MARK_OFFER, postgres), True, True,
                                   OFFER_CANDIDATES, fallback=True))
    return selects


async def _candidates(session: AsyncSession, query: Query, index: _Index, cluster: str | None,
                      now: datetime | None) -> list[Any]:
    """The best pages by the database's own ranking, in one statement: the knowledge pages and, apart,
    the offers (so that thousands of short offers cannot crowd the knowledge pages out)."""
    postgres = _dialect(session) == "postgresql"
    selects = _selects(query, index, postgres)
    if not selects:
        return []
    params: dict[str, Any] = {f"q{n}": s.condition for n, s in enumerate(selects)}
    if cluster is not None:
        params["cluster"] = cluster
    if now is not None:
        params["now"] = now
    sql = _statement_sql(selects, postgres, cluster is not None, now is not None)
    statement = text(sql)
    if now is not None and "now" in sql:
        statement = statement.bindparams(bindparam("now", type_=UTCDateTime()))
    else:
        params.pop("now", None)
    rows = (await session.execute(statement, params)).tuples().all()
    every = {n for n, s in enumerate(selects) if s.offers and not s.fallback}
    found_every = any(row[0] in every for row in rows)
    return [row[1:] for row in rows if not (selects[row[0]].fallback and found_every)]


async def search(session: AsyncSession, query: str, *, limit: int = 5, cluster: str | None = None,
                 audience: str | None = None, now: datetime | None = None) -> list[Hit]:
    """The pages that answer a question best. `cluster`: only pages of that cluster or of none;
    `audience` ("teens" or "parents", or a role "teen"/"parent"): pages for the other audience rank
    a little lower; `now`: events that are over are left out (the index drops them at the next load)."""
    if limit <= 0:
        return []
    index = await _index(session)
    vocab = index.vocabulary
    parsed = parse_query(query, vocab)
    if not parsed:
        return []
    rows = await _candidates(session, parsed, index, cluster, now)
    wanted = ROLES.get(audience or "", audience)
    ranking = Ranking(parsed, vocab)
    scored = []
    seen: set[int] = set()
    for doc_id, kind, ref, doc_cluster, doc_audience, title, body, doc_terms in rows:
        if doc_id in seen:
            continue
        seen.add(doc_id)
        fits = wanted not in ("teens", "parents") or doc_audience in (None, "both", wanted)
        score = ranking.score(_page_terms(doc_terms), index.title_terms(title), kind, fits)
        if score > 0 and math.isfinite(score):
            scored.append((score, doc_id, kind, ref, doc_cluster, title, body))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [Hit(id=f"{kind}:{ref}", kind=kind, ref=ref, title=title,
                body=excerpt(body, parsed, EXCERPT, lambda s: analyse(s, vocab)), score=round(score, 4),
                cluster=doc_cluster)
            for score, _, kind, ref, doc_cluster, title, body in scored[:limit]]
