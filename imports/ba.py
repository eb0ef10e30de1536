"""The import of offers from the Arbeitsagentur's job search (`lotse offers import ba`, and the daily
job when BA_IMPORT_ENABLED): every planned search (flows/domain/offer_import.py) page by page.

Each page is written in its own transaction together with the run's cursor (storage/offer_imports.py),
so a run that stops half-way goes on from there and the bot's own writes never wait for the network.
The end of a run archives what complete searches no longer list, tells saved searches about new offers
and indexes them for free questions.

Bad data never stops a run and is never half-written: a bad listing is left out and counted (and
logged with its reference number); a search whose pages fail (429 or 5xx after the client's retries,
a timeout, a page past the interface's limit, a page that repeats itself) is given up and counted, and
proves nothing (its offers are not archived); a response whose list is missing (the interface was
renamed again) stops the run, archives nothing and says so.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flows.core.ports import Clock, PlaceDirectory
from flows.domain.ba_listing import PAGE_LIMIT, PAGE_SIZE, BaShapeError, BaUnavailable, JobBoard
from flows.domain.offer_import import (
    ImportContext,
    ImportedOffer,
    ImportProfession,
    PlannedSearch,
    Skip,
    complete_groups,
    plan_searches,
    to_offer,
)
from storage.offer_imports import OfferImportStore, Run

log = logging.getLogger(__name__)
RESUME_WITHIN = timedelta(hours=6)  # a run that stopped longer ago starts again from the first search
ALL = "all"


class UnknownRegion(ValueError):
    """--region names no cluster of the content pack."""


@dataclass
class Progress:
    """What the command line shows while a run goes on."""

    search: int  # 1-based
    searches: int
    label: str
    page: int
    offers: int  # offers written (or, in a dry run, found) so far


@dataclass
class ImportReport:
    searches: int = 0
    complete: int = 0
    pages: int = 0
    listings: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    alerted: int = 0
    resumed: bool = False
    dry_run: bool = False
    stopped: str | None = None  # why the run stopped before its end (the interface changed)
    problems: Counter[str] = field(default_factory=Counter)  # skipped listings and failed searches, by why

    @property
    def offers(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class Judged:
    """The listings this run has seen: the region towns' circles overlap, and a search for one profession
    may list another's. A listing that became an offer is done; one left out is judged again only by a
    search for another profession (it may be that profession's)."""

    offers: set[str] = field(default_factory=set)
    left_out: set[tuple[str, str]] = field(default_factory=set)  # (ref, profession)

    def first_time(self, ref: str, profession: str) -> bool:
        return ref not in self.offers and (ref, profession) not in self.left_out

    def note(self, ref: str, outcome: ImportedOffer | Skip, profession: str = "") -> None:
        if isinstance(outcome, Skip):
            self.left_out.add((ref, profession))
        else:
            self.offers.add(ref)


def _label(search: PlannedSearch) -> str:
    return f"{search.cluster} · {search.query.was} · {search.query.kind} · {search.query.wo}"


async def import_ba(store: OfferImportStore, board: JobBoard, clock: Clock, places: PlaceDirectory, *,
                    scope: str | None = None, dry_run: bool = False,
                    progress: Callable[[Progress], None] | None = None) -> ImportReport:
    context = await store.context()
    if scope is not None and scope not in {r.cluster for r in context.regions}:
        raise UnknownRegion(scope)
    searches = plan_searches(context, scope)
    report = ImportReport(searches=len(searches), dry_run=dry_run)
    run = Run(id=None, started_at=clock.now()) if dry_run else \
        await store.open_run(scope or ALL, clock.now(), RESUME_WITHIN)
    report.resumed = run.resumed
    report.problems.update(run.counts)
    professions = {p.slug: p for p in context.professions}
    judged = Judged()
    while run.query < len(searches):
        search = searches[run.query]
        whole = await _read_search(store, board, clock, places, context, search, professions[search.profession],
                                   run, report, judged, len(searches), progress)
        if report.stopped is not None:
            break
        if whole:
            run.complete.append(search.key)
        run.query, run.page = run.query + 1, 1
        if not dry_run:
            run.counts = {k: v for k, v in report.problems.items() if v}
            await store.save_cursor(run, clock.now())
    report.complete = len(set(run.complete))
    if not dry_run:
        run.counts = {k: v for k, v in report.problems.items() if v}
        groups = set() if report.stopped else complete_groups(searches, run.complete)
        finish = await store.finish(run, groups, places, clock.now(), failed=report.stopped is not None)
        report.archived, report.alerted = finish.archived, finish.alerted
    log.info("offer import %s: %d searches (%d complete), %d pages, %d listings, %d new, %d changed, %d unchanged, "
             "%d archived, %d saved searches told%s", "dry run" if dry_run else scope or ALL, report.searches,
             report.complete, report.pages, report.listings, report.created, report.updated, report.unchanged,
             report.archived, report.alerted, f"; left out: {dict(report.problems)}" if report.problems else "")
    return report


async def _read_search(store: OfferImportStore, board: JobBoard, clock: Clock, places: PlaceDirectory,
                       context: ImportContext, search: PlannedSearch, profession: ImportProfession, run: Run,
                       report: ImportReport, judged: Judged, total: int,
                       progress: Callable[[Progress], None] | None) -> bool:
    """All pages of one search from the run's cursor; True if read to its end."""
    seen: set[str] = set()  # the listings of this search so far: a page with nothing new repeats itself
    while True:
        if run.page > PAGE_LIMIT:
            report.problems["search_page_limit"] += 1
            log.warning("offer import: %s has more than %d pages; the rest is left out", _label(search), PAGE_LIMIT)
            return False
        try:
            page = await board.page(search.query, run.page, PAGE_SIZE)
        except BaUnavailable as error:
            report.problems[f"search_failed_{error.reason}"] += 1
            log.warning("offer import: %s page %d not read (%s); the search is given up", _label(search),
                        run.page, error.reason)
            return False
        except BaShapeError as error:
            report.problems["interface_changed"] += 1
            report.stopped = str(error)
            log.error("offer import stopped: the job search answered in an unknown shape (%s); nothing archived",
                      error)
            return False
        report.pages += 1
        for ref, defect in page.defects:
            report.problems[f"listing_{defect.value}"] += 1
            log.info("offer import: listing %s left out (%s)", ref or "without reference", defect.value)
        fresh = [listing for listing in page.listings if listing.ref not in seen]
        if page.listings and not fresh:
            report.problems["search_repeated_page"] += 1
            log.warning("offer import: %s page %d repeats earlier listings; the search is given up",
                        _label(search), run.page)
            return False
        seen.update(listing.ref for listing in fresh)
        new = [listing for listing in fresh if judged.first_time(listing.ref, profession.slug)]
        report.listings += len(new)
        offers: list[ImportedOffer] = []
        today = clock.now().date()
        for listing in new:
            outcome = to_offer(listing, search, profession, context, places, today)
            judged.note(listing.ref, outcome, profession.slug)
            if isinstance(outcome, Skip):
                report.problems[f"listing_{outcome.value}"] += 1
                if outcome is Skip.UNKNOWN_POSTCODE:
                    log.info("offer import: listing %s left out (postal code %r not known)", listing.ref,
                             listing.plz)
            else:
                offers.append(outcome)
        last = len(page.listings) + len(page.defects) < PAGE_SIZE or \
            (page.total is not None and run.page * PAGE_SIZE >= page.total)
        run.page += 1
        if report.dry_run:
            report.created += len(offers)
        else:
            run.counts = {k: v for k, v in report.problems.items() if v}
            saved = await store.write_page(run, offers, clock.now())
            report.created += saved.created
            report.updated += saved.updated
            report.unchanged += saved.unchanged
        if progress is not None:
            progress(Progress(search=run.query + 1, searches=total, label=_label(search), page=run.page - 1,
                              offers=report.offers))
        if last:
            return True
