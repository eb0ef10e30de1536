"""The cockpit's leads pipeline: order (silent companies first), the silent rule of the follow-up job,
age buckets, the funnel's groups, history, and when an agent may see a lead's contact details."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from content import default_directory
from flows.core.model import Profile
from flows.domain.lead import CONSENT_PURPOSE, CONSENT_VERSION, Lead, LeadStatus
from flows.domain.lead_pipeline import (
    FUNNEL,
    SILENT_AFTER_WORKING_DAYS,
    AgeBucket,
    LeadConsent,
    LeadContact,
    PipelineLead,
    age_bucket,
    by_age,
    by_status,
    contact_allowed,
    history_of,
    is_silent,
    order,
    pipeline_lead,
    silent_companies,
    silent_working_days,
    status_by_age,
    visible_contact,
)
from flows.domain.working_days import add_working_days
from tests.unit.fakes import FakeUnitOfWork, Store

MONDAY = datetime(2026, 11, 16, 10, tzinfo=UTC)  # the week of Buß- und Bettag (Wednesday 18th, Saxony only)
SHARED = {"asker": "teen", "first_name": "Tom", "phone": "+491712345678", "email": None, "place": "Löbau",
          "plz": "02708", "about": "offer", "title": "Ausbildung Maurer:in", "message": "Hallo"}


def _consent(company: str = "zittauer-gebirgsbau", **changes: Any) -> LeadConsent:
    values: dict[str, Any] = {"id": 7, "purpose": CONSENT_PURPOSE, "given_by": "self", "text_version": CONSENT_VERSION,
                              "given_at": MONDAY, "recipients": (company,)}
    return LeadConsent(**{**values, **changes})


def _lead(lead_id: int = 1, status: LeadStatus = LeadStatus.DELIVERED, created: datetime = MONDAY,
          delivered: datetime | None = MONDAY, now: datetime | None = None, company: str = "zittauer-gebirgsbau",
          consent: LeadConsent | None = None, state: str | None = None, with_contact: bool = True,
          shared: dict[str, Any] | None = None, history: list[dict[str, str]] | None = None) -> PipelineLead:
    return pipeline_lead(id=lead_id, company=company, company_name=company.replace("-", " ").title(),
                         target="vacancy:maurer-zittau", status=status, shared=SHARED if shared is None else shared,
                         created_at=created, delivered_at=delivered, status_at=delivered or created,
                         history=history or [], now=now or MONDAY + timedelta(days=1), state=state,
                         consent=consent, with_contact=with_contact)


# ---- the silent rule -----------------------------------------------------------------------------
def test_silent_after_five_working_days_counting_the_states_holidays() -> None:
    # Saxony: Wednesday 18 November (Buß- und Bettag) is no working day, so Tuesday 24th is the fifth.
    saxon_fifth = datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert add_working_days(MONDAY, SILENT_AFTER_WORKING_DAYS, "Sachsen") == saxon_fifth
    assert not is_silent(LeadStatus.DELIVERED, MONDAY, saxon_fifth - timedelta(minutes=1), "Sachsen")
    assert is_silent(LeadStatus.DELIVERED, MONDAY, saxon_fifth, "Sachsen")
    assert silent_working_days(LeadStatus.DELIVERED, MONDAY, saxon_fifth - timedelta(minutes=1), "Sachsen") == 4
    assert silent_working_days(LeadStatus.DELIVERED, MONDAY, saxon_fifth, "Sachsen") == 5
    # Elsewhere the Wednesday counts: silent one working day (Monday 23rd) earlier.
    assert is_silent(LeadStatus.DELIVERED, MONDAY, datetime(2026, 11, 23, 10, tzinfo=UTC), "Sachsen-Anhalt")
    assert not is_silent(LeadStatus.DELIVERED, MONDAY, datetime(2026, 11, 23, 10, tzinfo=UTC), "Sachsen")


@pytest.mark.parametrize("status", [s for s in LeadStatus if s is not LeadStatus.DELIVERED])
def test_only_a_delivered_lead_waits_for_the_company(status: LeadStatus) -> None:
    later = MONDAY + timedelta(days=30)
    assert not is_silent(status, MONDAY, later) and silent_working_days(status, MONDAY, later) == 0
    assert not _lead(status=status, now=later).silent


def test_a_lead_on_the_way_is_not_silent_however_old() -> None:
    lead = _lead(delivered=None, now=MONDAY + timedelta(days=30))  # handed to delivery, never arrived
    assert lead.stage == "on_the_way" and not lead.silent and lead.silent_days == 0


def test_the_count_of_working_days_agrees_with_the_silent_rule_hour_by_hour() -> None:
    start = datetime(2026, 12, 22, 16, 30, tzinfo=UTC)  # over Christmas and New Year, and a clock change later
    for hours in range(0, 24 * 21):
        now = start + timedelta(hours=hours)
        days = silent_working_days(LeadStatus.DELIVERED, start, now, "Sachsen")
        assert add_working_days(start, days, "Sachsen") <= now < add_working_days(start, days + 1, "Sachsen")
        assert is_silent(LeadStatus.DELIVERED, start, now, "Sachsen") == (days >= SILENT_AFTER_WORKING_DAYS)


async def test_a_lead_is_silent_exactly_when_the_follow_up_job_alerts_the_agent() -> None:
    from flows.jobs.lead_followup import follow_up

    store = Store()
    async with FakeUnitOfWork(store) as uow:
        agent = await uow.users.save(Profile(channel="telegram", chat_id=900, cluster="zukunftsmacher",
                                             created_at=MONDAY))
        young = await uow.users.save(Profile(channel="telegram", chat_id=42, created_at=MONDAY))
        assert young.id is not None
        lead, _ = await uow.leads.add_once(Lead(user_id=young.id, company="zittauer-gebirgsbau", target="vacancy:x",
                                                status=LeadStatus.DELIVERED, shared=dict(SHARED), created_at=MONDAY,
                                                delivered_at=MONDAY, status_at=MONDAY))
        await uow.commit()
    places = default_directory()  # Zittau is in Saxony: Buß- und Bettag is no working day there
    admins = frozenset({(agent.channel, agent.chat_id)})
    now, flips = MONDAY, []
    while now < MONDAY + timedelta(days=12):
        await follow_up(lambda: FakeUnitOfWork(store), now, admins, places)
        alerted = any(m.reply.key == "leads.agent_silent" for m in store.outbox.values())
        silent = _lead(now=now, state="Sachsen").silent
        assert alerted == silent, now
        flips.append(silent)
        now += timedelta(hours=1)
    assert flips.index(True) == (datetime(2026, 11, 24, 10, tzinfo=UTC) - MONDAY) // timedelta(hours=1)


# ---- order and groups ----------------------------------------------------------------------------
def test_order_puts_silent_companies_first_then_open_then_closed_each_oldest_first() -> None:
    now = MONDAY + timedelta(days=20)
    silent_young = _lead(1, created=MONDAY + timedelta(days=2), delivered=MONDAY + timedelta(days=2), now=now)
    silent_old = _lead(2, created=MONDAY, delivered=MONDAY, now=now)
    open_old = _lead(3, LeadStatus.INTERVIEW, created=MONDAY - timedelta(days=9), now=now)
    fresh = _lead(4, created=now - timedelta(hours=2), delivered=now - timedelta(hours=1), now=now)
    closed_oldest = _lead(5, LeadStatus.HIRED, created=MONDAY - timedelta(days=40), now=now)
    assert [lead.id for lead in order([fresh, closed_oldest, open_old, silent_young, silent_old])] == [2, 1, 3, 4, 5]
    assert [c.company for c in silent_companies([fresh, silent_old, silent_young])] == ["zittauer-gebirgsbau"]
    [company] = silent_companies([silent_old, silent_young, fresh])
    assert company.leads == 2 and company.longest_days == silent_old.silent_days >= SILENT_AFTER_WORKING_DAYS


def test_by_status_follows_the_funnel_with_every_step() -> None:
    now = MONDAY + timedelta(days=20)
    leads = [_lead(1, LeadStatus.HIRED, now=now), _lead(2, LeadStatus.WAITING_PARENT, delivered=None, now=now),
             _lead(3, now=now), _lead(4, created=now - timedelta(days=1), delivered=now, now=now)]
    groups = by_status(leads)
    assert list(groups) == list(FUNNEL) == [
        LeadStatus.WAITING_PARENT, LeadStatus.DELIVERED, LeadStatus.CONTACTED, LeadStatus.INTERVIEW,
        LeadStatus.HIRED, LeadStatus.NO_PLACE, LeadStatus.WITHDRAWN, LeadStatus.DECLINED]
    assert [lead.id for lead in groups[LeadStatus.DELIVERED]] == [3, 4]  # the silent one first
    assert [lead.id for lead in groups[LeadStatus.HIRED]] == [1] and groups[LeadStatus.DECLINED] == []


@pytest.mark.parametrize(("days", "bucket"), [
    (0, AgeBucket.UNDER_7), (6, AgeBucket.UNDER_7), (7, AgeBucket.DAYS_7_14), (14, AgeBucket.DAYS_7_14),
    (15, AgeBucket.DAYS_15_30), (30, AgeBucket.DAYS_15_30), (31, AgeBucket.OVER_30), (400, AgeBucket.OVER_30)])
def test_age_buckets(days: int, bucket: AgeBucket) -> None:
    assert age_bucket(days) is bucket
    lead = _lead(status=LeadStatus.CONTACTED, now=MONDAY + timedelta(days=days, hours=23))
    assert lead.age_days == days and lead.age_bucket is bucket


def test_by_age_and_the_table_of_status_and_age() -> None:
    now = MONDAY + timedelta(days=20)
    leads = [_lead(1, LeadStatus.CONTACTED, created=now - timedelta(days=3), now=now),
             _lead(2, LeadStatus.CONTACTED, created=now - timedelta(days=40), now=now),
             _lead(3, created=now - timedelta(days=10), delivered=now - timedelta(days=10), now=now)]
    assert {bucket: [lead.id for lead in group] for bucket, group in by_age(leads).items()} == {
        AgeBucket.UNDER_7: [1], AgeBucket.DAYS_7_14: [3], AgeBucket.DAYS_15_30: [], AgeBucket.OVER_30: [2]}
    table = status_by_age(leads)
    assert list(table) == list(FUNNEL) and table[LeadStatus.CONTACTED][AgeBucket.OVER_30] == 1
    assert table[LeadStatus.DELIVERED] == {AgeBucket.UNDER_7: 0, AgeBucket.DAYS_7_14: 1, AgeBucket.DAYS_15_30: 0,
                                           AgeBucket.OVER_30: 0}


def test_history_as_the_chat_shows_it_with_who_where_recorded() -> None:
    handed = MONDAY + timedelta(minutes=1)
    history = [{"status": "delivered", "at": handed.isoformat()},
               {"status": "contacted", "at": (MONDAY + timedelta(days=2)).isoformat(), "by": "company"}]
    entries = history_of(history, MONDAY + timedelta(minutes=5))
    assert [(e.status, e.at, e.by) for e in entries] == [
        ("on_the_way", handed, None), ("delivered", MONDAY + timedelta(minutes=5), None),
        ("contacted", MONDAY + timedelta(days=2), "company")]
    lead = _lead(status=LeadStatus.CONTACTED, history=history, delivered=MONDAY + timedelta(minutes=5))
    assert [e.status for e in lead.history] == ["on_the_way", "delivered", "contacted"]


# ---- whose contact details an agent may see -------------------------------------------------------
@pytest.mark.parametrize("status", list(LeadStatus))
def test_contact_details_only_once_the_company_has_them_and_never_after_a_withdrawal(status: LeadStatus) -> None:
    lead = _lead(status=status, consent=_consent())
    reached = Lead(user_id=1, company="x", target="vacancy:x", status=status, created_at=MONDAY,
                   status_at=MONDAY).reached_company
    expected = status in (LeadStatus.DELIVERED, LeadStatus.CONTACTED, LeadStatus.INTERVIEW, LeadStatus.HIRED,
                          LeadStatus.NO_PLACE)
    assert expected == (reached and status not in (LeadStatus.WITHDRAWN, LeadStatus.DECLINED))  # the domain's rule
    assert contact_allowed(lead) is expected
    contact = visible_contact(lead)
    if expected:
        assert contact == LeadContact(first_name="Tom", phone="+491712345678", place="Löbau")  # no e-mail shared
    else:
        assert contact == LeadContact() and lead.contact == LeadContact()  # not even loaded


def test_no_contact_details_without_a_live_consent_for_this_company() -> None:
    later = MONDAY + timedelta(days=3)
    assert not contact_allowed(_lead(consent=None))
    assert not contact_allowed(_lead(consent=_consent(withdrawn_at=later)))
    assert visible_contact(_lead(consent=_consent(withdrawn_at=later))) == LeadContact()
    assert not contact_allowed(_lead(consent=_consent(company="another-company")))
    assert not contact_allowed(_lead(consent=_consent(purpose="announcements_events")))
    parent = _lead(consent=_consent(given_by="parent"))
    assert contact_allowed(parent)
    assert contact_allowed(parent, versions={CONSENT_VERSION}) and not contact_allowed(parent, versions={"newer"})


def test_only_shared_fields_and_only_when_asked_for() -> None:
    lead = _lead(consent=_consent(), shared={**SHARED, "phone": "", "place": None, "email": "tom@example.org"})
    assert visible_contact(lead) == LeadContact(first_name="Tom", email="tom@example.org")
    assert _lead(consent=_consent(), with_contact=False).contact == LeadContact()
    # A lead whose consent is withdrawn later keeps nothing visible, even with details loaded before.
    loaded = _lead(consent=_consent())
    withdrawn = loaded.model_copy(update={"consent": _consent(withdrawn_at=MONDAY + timedelta(days=1))})
    assert withdrawn.contact.first_name == "Tom" and visible_contact(withdrawn) == LeadContact()


def test_working_days_by_arithmetic_agree_with_counting_day_by_day() -> None:
    from datetime import date

    from flows.domain.working_days import is_working_day, working_days_in

    start = date(2026, 12, 1)
    for state in (None, "Sachsen", "Brandenburg", "Bayern"):
        for offset in range(0, 400, 7):
            first = start + timedelta(days=offset)
            for length in (-1, 0, 1, 4, 6, 13, 40, 370):
                last = first + timedelta(days=length)
                by_loop = sum(1 for i in range(length + 1) if is_working_day(first + timedelta(days=i), state))
                assert working_days_in(first, last, state) == by_loop, (first, last, state)


def test_a_consent_on_the_text_that_named_the_companies_alone_shows_agents_no_contact() -> None:
    from flows.domain.lead import CLUSTER_TEAM_VERSIONS, CONSENT_VERSION

    assert CONSENT_VERSION in CLUSTER_TEAM_VERSIONS and "lead-handover-2026-11" not in CLUSTER_TEAM_VERSIONS
    lead = _lead(status=LeadStatus.DELIVERED, consent=_consent(text_version="lead-handover-2026-11"))
    assert not contact_allowed(lead)
    assert contact_allowed(lead, versions=None)  # what the text version alone decides
    assert contact_allowed(_lead(status=LeadStatus.DELIVERED, consent=_consent()))
