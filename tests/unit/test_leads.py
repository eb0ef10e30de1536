"""Interessiert mich: consent, parents for under-16s, several companies, company contacts, withdrawal."""
from __future__ import annotations

from datetime import UTC, datetime

from content import default_directory
from flows.conversations.leads import create_invite
from flows.delivery.outbox import OutboxMessage, OutboxStatus
from flows.domain.lead import LeadStatus
from tests.unit.fakes import VACANCIES, FakeUnitOfWork, SteppableClock, Store, send_everything_due
from tests.unit.harness import Harness

OFFER = next(v for v in VACANCIES if v.company == "zittauer-gebirgsbau")


async def _young(store: Store, age: str, chat_id: int = 42, clock: SteppableClock | None = None) -> Harness:
    h = Harness(store=store, chat_id=chat_id, places=default_directory(),
                clock=clock or SteppableClock(datetime(2027, 2, 1, 10, tzinfo=UTC)))
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press(f"ob:age:{age}")
    await h.text("Löbau")
    await h.press(next(d for d in h.button_data if d.startswith("ob:place_c")))
    await h.press("ob:school:pupil")
    await h.press("ob:class:10")
    return h


async def _hand_over(h: Harness, extra: bool = True) -> None:
    assert await h.forge(f"ld:v:{OFFER.slug}") == ["leads.choose_recipients"]
    if extra and "ld:t:0" in h.button_data:
        await h.press("ld:t:0")
    assert await h.press("ld:n") == ["leads.ask_name"]
    assert await h.text("<b>") == ["leads.name_invalid", "leads.ask_name"]
    assert await h.text("Tom") == ["leads.ask_contact"]
    assert h.reply("leads.ask_contact").contact_button == "btn.leads.share_phone"
    assert await h.text("keine nummer") == ["leads.contact_invalid", "leads.ask_contact"]
    assert await h.text("0171 2345678") == ["leads.contact_saved", "leads.ask_preference"]
    assert h.reply("leads.contact_saved").remove_keyboard
    await h.press("ld:pref:phone")
    await h.press("ld:time:afternoon")
    assert await h.press("ld:skip") == ["leads.consent"]


async def _agent(store: Store, clock: SteppableClock, chat_id: int, plz: str) -> Harness:
    """A cluster agent (by configured id) who chose their cluster through their home town."""
    agent = Harness(store=store, chat_id=chat_id, clock=clock, agent=True)
    await agent.command("start")
    await agent.press("ob:role:other")
    await agent.text(plz)
    await agent.press("ob:place_confirm:yes")
    return agent


def _messages(store: Store, key: str) -> list[OutboxMessage]:
    return [m for m in store.outbox.values() if m.reply.key == key and m.status is OutboxStatus.PENDING]


async def test_seventeen_year_old_hands_over_to_two_companies_with_own_consent() -> None:
    store = Store()
    h = await _young(store, "16_17")
    await _hand_over(h)
    consent = h.reply("leads.consent")
    assert len(consent.values["recipients"]) == 2 and not consent.values["minor"]
    shared = consent.values["shared"]
    assert shared["first_name"] == "Tom" and shared["phone"] == "+491712345678" and shared["place"] == "Löbau"
    assert not any("quiz" in k or "score" in k for k in shared)  # interest results are never shared
    assert await h.press("ld:ok") == ["leads.done", "menu.main"]
    leads = list(store.leads.values())
    assert len(leads) == 2 and all(lead.status is LeadStatus.DELIVERED for lead in leads)
    [record] = store.consents[h.user_id]
    assert (record.given_by, record.purpose, sorted(record.recipients)) == ("self", "lead", sorted(lead.company for lead in leads))
    assert all(m.reply.values["first_name"] == "Tom" for m in _messages(store, "leads.company_new"))


async def test_pressing_twice_gives_one_lead_per_company_and_offer() -> None:
    store = Store()
    h = await _young(store, "18plus")
    await _hand_over(h, extra=False)
    await h.press("ld:ok")
    assert await h.forge(f"ld:v:{OFFER.slug}") == ["leads.already", "menu.main"]  # said at the first tap
    assert len(store.leads) == 1


async def test_under_sixteen_waits_for_a_parent_who_confirms_by_a_single_use_link() -> None:
    store = Store()
    child = await _young(store, "u16")
    await _hand_over(child)
    assert child.reply("leads.consent").values["minor"]
    assert await child.press("ld:ok") == ["leads.parent_link", "menu.main"]
    payload = child.reply("leads.parent_link").values["payload"]
    assert payload.startswith("pc-") and len(payload) <= 64 and "Tom" not in payload
    assert all(lead.status is LeadStatus.WAITING_PARENT for lead in store.leads.values())
    assert _messages(store, "leads.company_new") == []  # nothing leaves before a parent agrees
    parent = Harness(store=store, chat_id=77, places=default_directory(), clock=child.clock)
    token = payload[3:]
    assert await parent.command("start", payload) == ["leads.parent_declare"]  # who are you, first
    assert parent.reply("leads.parent_declare").values["first_name"] == "Tom"
    assert await parent.press(f"ld:pr:{token}:p") == ["leads.parent_review"]
    assert parent.reply("leads.parent_review").values["shared"]["first_name"] == "Tom"
    assert await parent.press(f"ld:pa:{token}:p") == ["leads.parent_thanks"]
    assert all(lead.status is LeadStatus.DELIVERED for lead in store.leads.values())
    [record] = store.consents[child.user_id]
    assert record.given_by == "parent"
    assert [m.recipient.chat_id for m in _messages(store, "leads.child_approved")] == [42]
    assert parent.profile.role == "parent"
    second = Harness(store=store, chat_id=78, places=default_directory(), clock=child.clock)
    assert (await second.command("start", payload))[0] == "leads.parent_link_invalid"  # single use


async def test_parent_declines_and_nothing_is_handed_over() -> None:
    store = Store()
    child = await _young(store, "u16")
    await _hand_over(child, extra=False)
    await child.press("ld:ok")
    token = child.reply("leads.parent_link").values["payload"][3:]
    parent = Harness(store=store, chat_id=77, places=default_directory(), clock=child.clock)
    await parent.command("start", f"pc-{token}")
    await parent.press(f"ld:pr:{token}:g")
    assert await parent.press(f"ld:pd:{token}:g") == ["leads.parent_declined"]
    assert [lead.status for lead in store.leads.values()] == [LeadStatus.DECLINED]
    assert _messages(store, "leads.company_new") == [] and _messages(store, "leads.child_declined")
    assert store.consents.get(child.user_id, []) == []


async def test_expired_parent_link_is_refused() -> None:
    store = Store()
    child = await _young(store, "u16")
    await _hand_over(child, extra=False)
    await child.press("ld:ok")
    token = child.reply("leads.parent_link").values["payload"][3:]
    child.clock.advance(days=8)
    parent = Harness(store=store, chat_id=77, places=default_directory(), clock=child.clock)
    assert (await parent.command("start", f"pc-{token}"))[0] == "leads.parent_link_invalid"


async def test_company_contact_gets_the_lead_and_reports_status_others_cannot() -> None:
    store = Store()
    clock = SteppableClock(datetime(2027, 2, 1, 10, tzinfo=UTC))
    async with FakeUnitOfWork(store) as uow:
        payload = await create_invite(uow, OFFER.company, clock.now())
        other = await create_invite(uow, "saalefunke-automation", clock.now())
        assert await create_invite(uow, "gibt-es-nicht", clock.now()) is None
        await uow.commit()
    contact = Harness(store=store, chat_id=500, clock=clock)
    assert await contact.command("start", payload) == ["leads.contact_linked"]
    assert await Harness(store=store, chat_id=501, clock=clock).command("start", payload) == ["leads.invite_invalid"]
    stranger_contact = Harness(store=store, chat_id=502, clock=clock)
    await stranger_contact.command("start", other)
    young = await _young(store, "18plus", clock=clock)
    await _hand_over(young, extra=False)
    await young.press("ld:ok")
    [message] = [m for m in _messages(store, "leads.company_new") if m.recipient.channel == "telegram"]
    assert message.recipient.chat_id == 500 and not message.minor
    lead_id = message.reply.values["lead_id"]
    assert (await stranger_contact.forge(f"ld:cs:{lead_id}:contacted"))[0] == "fallback.stale_button"
    assert (await Harness(store=store, chat_id=999, clock=clock).forge(f"ld:cs:{lead_id}:contacted"))[0] \
        in ("fallback.stale_button", "onboarding.welcome")
    assert await contact.forge(f"ld:cs:{lead_id}:contacted") == ["leads.status_saved"]
    assert store.leads[lead_id].status is LeadStatus.CONTACTED
    assert [m.recipient.chat_id for m in _messages(store, "leads.news_contacted")] == [young.user.chat_id]


async def test_withdrawal_tells_companies_and_erasure_withdraws_everything() -> None:
    store = Store()
    clock = SteppableClock(datetime(2027, 2, 1, 10, tzinfo=UTC))
    async with FakeUnitOfWork(store) as uow:
        payload = await create_invite(uow, OFFER.company, clock.now())
        await uow.commit()
    await Harness(store=store, chat_id=500, clock=clock).command("start", payload)
    young = await _young(store, "18plus", clock=clock)
    await _hand_over(young)
    await young.press("ld:ok")
    assert await young.command("meinedaten") == ["privacy.export"]
    assert "ld:mine" in young.button_data  # withdrawal is one tap away from the export
    assert await young.press("ld:mine") == ["leads.mine"]
    main = next(lead for lead in store.leads.values() if lead.company == OFFER.company)
    assert main.id is not None
    assert await young.press(f"ld:w:{main.id}") == ["leads.withdraw_confirm"]  # asked first
    assert store.leads[main.id].status is not LeadStatus.WITHDRAWN
    assert await young.press(f"ld:wy:{main.id}") == ["leads.withdrawn", "menu.main"]
    assert store.leads[main.id].status is LeadStatus.WITHDRAWN
    assert [m.recipient.chat_id for m in _messages(store, "leads.company_withdrawn")
            if m.recipient.channel == "telegram"] == [500]
    await young.command("loeschen")
    await young.press("pv:delete:yes")
    assert store.leads == {}  # the rest was withdrawn (companies told), then erased with the profile
    assert len([m for m in _messages(store, "leads.company_withdrawn")]) >= 2


async def test_only_agents_create_company_invitations() -> None:
    store = Store()
    h = await _agent(store, SteppableClock(), 900, "02826")  # Die Zukunftsmacher, the company's cluster
    assert await h.command("einladung", "zittauer-gebirgsbau") == ["leads.invite_created"]
    assert h.reply("leads.invite_created").values["payload"].startswith("ci-")
    assert await h.command("einladung", "gibt-es-nicht") == ["leads.invite_unknown_company"]
    other = Harness(store=store, chat_id=901)
    await other.command("start")
    assert (await other.command("einladung", "zittauer-gebirgsbau"))[0] == "fallback.unknown_command"
    assert len(store.invites) == 1


async def test_follow_up_reminds_the_company_alerts_the_agent_and_asks_the_young_person() -> None:
    from flows.domain.working_days import add_working_days
    from flows.jobs.lead_followup import follow_up

    store = Store()
    clock = SteppableClock(datetime(2027, 2, 5, 10, tzinfo=UTC))  # a Friday
    async with FakeUnitOfWork(store) as uow:
        payload = await create_invite(uow, OFFER.company, clock.now())
        await uow.commit()
    await Harness(store=store, chat_id=500, clock=clock).command("start", payload)
    agent = Harness(store=store, chat_id=900, clock=clock)
    await agent.command("start", "zukunftsmacher")  # the company's cluster
    other_agent = Harness(store=store, chat_id=901, clock=clock)
    await other_agent.command("start", "tab-mint")  # another cluster: never told about this young person
    agents = frozenset({("telegram", 900), ("telegram", 901)})
    young = await _young(store, "18plus", clock=clock)
    await _hand_over(young, extra=False)
    await young.press("ld:ok")
    await send_everything_due(store, clock)  # the company got it: the working days count from now

    def factory() -> FakeUnitOfWork:
        return FakeUnitOfWork(store)

    assert add_working_days(clock.now(), 2) == datetime(2027, 2, 9, 10, tzinfo=UTC)  # over the weekend
    clock.advance(days=3)  # Monday: one working day only
    assert await follow_up(factory, clock.now(), agents) == 0
    clock.advance(days=1)  # Tuesday: two working days
    assert await follow_up(factory, clock.now(), agents) == 1
    assert await follow_up(factory, clock.now(), agents) == 1  # planned again: still one message per key
    reminders = _messages(store, "leads.company_reminder")  # one per way the company takes its leads
    assert sorted(m.recipient.channel for m in reminders) == ["email", "telegram"]
    assert all(m.reply.values["company_name"].endswith("(Beispiel)") for m in reminders)
    clock.advance(days=3)  # Friday: five working days, seven days
    await follow_up(factory, clock.now(), agents)
    assert [m.recipient.chat_id for m in _messages(store, "leads.agent_silent")] == [900]
    [question] = _messages(store, "leads.followup")
    lead_id = int(question.reply.buttons[0][0].data.split(":")[2])
    from flows.wiring import build_engine
    young.engine = build_engine(factory, default_directory(), clock, agents)  # the bot as configured with agents
    assert await young.forge(f"ld:fn:{lead_id}") == ["leads.followup_no", "menu.main"]
    assert len(_messages(store, "leads.agent_no_contact")) == 1


async def test_company_report_stops_the_follow_up() -> None:
    from flows.jobs.lead_followup import follow_up

    store = Store()
    clock = SteppableClock(datetime(2027, 2, 1, 10, tzinfo=UTC))
    async with FakeUnitOfWork(store) as uow:
        payload = await create_invite(uow, OFFER.company, clock.now())
        await uow.commit()
    contact = Harness(store=store, chat_id=500, clock=clock)
    await contact.command("start", payload)
    young = await _young(store, "18plus", clock=clock)
    await _hand_over(young, extra=False)
    await young.press("ld:ok")
    lead_id = next(iter(store.leads))
    await contact.forge(f"ld:cs:{lead_id}:interview")
    clock.advance(days=10)
    assert await follow_up(lambda: FakeUnitOfWork(store), clock.now(), frozenset()) == 0
    assert _messages(store, "leads.followup") == [] and _messages(store, "leads.company_reminder") == []


async def test_agents_see_their_clusters_leads_and_get_a_csv() -> None:
    import csv as csv_module
    import io as io_module

    from bot.tables import csv_document
    from prompts import default_catalog

    store = Store()
    clock = SteppableClock(datetime(2027, 2, 1, 10, tzinfo=UTC))
    young = await _young(store, "18plus", clock=clock)
    await _hand_over(young, extra=False)
    await young.press("ld:ok")
    agent = await _agent(store, clock, 900, "02826")  # Görlitz: Die Zukunftsmacher, the cluster of the offer
    clock.advance(days=3)
    assert await agent.command("leads") == ["leads.agent_list"]
    listing = agent.reply("leads.agent_list").values
    assert listing["count"] == 1 and listing["items"][0]["days"] == 3 and listing["items"][0]["first_name"] == "Tom"
    assert await agent.press("ld:csv:open") == ["leads.agent_csv"]
    table = agent.reply("leads.agent_csv").table
    assert table is not None
    document = csv_document(table, default_catalog(), "de", True)
    rows = list(csv_module.reader(io_module.StringIO(document.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Nr." and len(rows) == 2 and rows[1][6] == "Tom"
    assert "Telefon" not in rows[0] and "+49" not in ";".join(rows[1])  # contact details stay with the company
    stranger = Harness(store=store, chat_id=901, clock=clock)
    await stranger.command("start")
    assert (await stranger.command("leads"))[0] == "fallback.unknown_command"
    assert (await stranger.forge("ld:csv:all"))[0] == "fallback.unknown_command"


async def test_agents_see_no_name_or_place_until_the_consent_covers_it() -> None:
    """A 15-year-old's lead waits for a parent: the agent sees that it exists, not who asked (the
    same rule as the cockpit's, flows/domain/lead_pipeline.consent_covers)."""
    store = Store()
    clock = SteppableClock(datetime(2027, 2, 1, 10, tzinfo=UTC))
    young = await _young(store, "u16", clock=clock)
    await _hand_over(young, extra=False)
    await young.press("ld:ok")
    [lead] = store.leads.values()
    assert lead.status is LeadStatus.WAITING_PARENT and lead.shared.get("first_name") == "Tom"
    agent = await _agent(store, clock, 900, "02826")
    await agent.command("leads")
    [item] = agent.reply("leads.agent_list").values["items"]
    buttons = [b for r in agent.reply("leads.agent_list").buttons for b in r]
    assert item["first_name"] == "–" and all(b.values.get("first_name") in (None, "–") for b in buttons)
    await agent.press(f"ld:ad:{lead.id}:open")
    detail = agent.reply("leads.agent_detail").values
    assert detail["first_name"] is None and detail["place"] is None and detail["parent"] is True
    await agent.press("ld:af:open")
    await agent.press("ld:csv:open")
    table = agent.reply("leads.agent_csv").table
    assert table is not None and table.rows[0][6] is None and table.rows[0][7] is None


async def test_an_agent_of_another_cluster_sees_nothing() -> None:
    store = Store()
    clock = SteppableClock(datetime(2027, 2, 1, 10, tzinfo=UTC))
    young = await _young(store, "18plus", clock=clock)
    await _hand_over(young, extra=False)
    await young.press("ld:ok")
    agent = await _agent(store, clock, 902, "06108")  # Halle: TAB_MINT
    await agent.command("leads")
    assert agent.reply("leads.agent_list").values["count"] == 0
    await agent.press("ld:af:all")
    assert agent.reply("leads.agent_list").values["count"] == 0


def test_working_days_skip_nationwide_and_state_holidays() -> None:
    from flows.domain.working_days import add_working_days

    tuesday = datetime(2026, 11, 17, 9, tzinfo=UTC)  # Buß- und Bettag on Wednesday: a holiday in Saxony only
    assert add_working_days(tuesday, 2, "Sachsen") == datetime(2026, 11, 20, 9, tzinfo=UTC)
    assert add_working_days(tuesday, 2, "Sachsen-Anhalt") == datetime(2026, 11, 19, 9, tzinfo=UTC)
    before_christmas = datetime(2026, 12, 23, 9, tzinfo=UTC)  # Christmas Day and the weekend in between
    assert add_working_days(before_christmas, 2) == datetime(2026, 12, 28, 9, tzinfo=UTC)


async def test_a_saxon_company_is_not_reminded_on_buss_und_bettag() -> None:
    from flows.jobs.lead_followup import follow_up

    store = Store()
    clock = SteppableClock(datetime(2026, 11, 17, 9, tzinfo=UTC))  # Tuesday; the offer's company is in Zittau
    young = await _young(store, "18plus", clock=clock)
    await _hand_over(young, extra=False)
    await young.press("ld:ok")
    await send_everything_due(store, clock)

    def factory() -> FakeUnitOfWork:
        return FakeUnitOfWork(store)

    clock.advance(days=2)  # Thursday: one working day in Saxony (Wednesday was a holiday)
    assert await follow_up(factory, clock.now(), frozenset(), default_directory()) == 0
    assert await follow_up(factory, clock.now(), frozenset()) == 1  # without knowing the state: two days
    clock.advance(days=1)  # Friday
    assert await follow_up(factory, clock.now(), frozenset(), default_directory()) == 1


async def test_a_company_without_telegram_reports_by_the_link_in_its_e_mail() -> None:
    from flows.jobs.lead_followup import follow_up
    from prompts import default_catalog

    store = Store()
    clock = SteppableClock(datetime(2027, 2, 1, 10, tzinfo=UTC))  # a Monday
    young = await _young(store, "18plus", clock=clock)
    await _hand_over(young, extra=False)
    await young.press("ld:ok")
    [mail] = [m for m in _messages(store, "leads.company_new") if m.recipient.channel == "email"]
    await send_everything_due(store, clock)
    links = mail.reply.values["report_links"]
    catalog = default_catalog()
    values = {**mail.reply.values, "consent_at_local": "01.02.2027, 11:00"}  # the e-mail sender adds it
    body = catalog.render("email.leads.company_new.body", values, "de", True)
    assert f"Kontakt aufgenommen: https://t.me/{catalog.globals['bot']}?start={links['contacted']}" in body

    clock.advance(days=2)  # Wednesday: no report yet, the reminder carries the same links
    await follow_up(lambda: FakeUnitOfWork(store), clock.now(), frozenset())
    [reminder] = [m for m in _messages(store, "leads.company_reminder") if m.recipient.channel == "email"]
    assert reminder.reply.values["report_links"] == links

    office = Harness(store=store, chat_id=777, clock=clock)  # someone at the company, no contact of it
    assert await office.command("start", links["contacted"]) == ["leads.status_saved"]
    [lead] = store.leads.values()
    assert lead.status is LeadStatus.CONTACTED
    assert len(_messages(store, "leads.news_contacted")) == 1  # the young person hears of it
    assert await office.command("start", links["contacted"][:-1] + "x") == ["leads.report_link_invalid"]
    assert await office.command("start", "ls-0123456789abcdef0123456789abcdef-c") == ["leads.report_link_invalid"]
    clock.advance(days=3)
    assert await follow_up(lambda: FakeUnitOfWork(store), clock.now(), frozenset()) == 0  # reported: no more chasing
