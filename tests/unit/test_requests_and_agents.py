"""After the hand-over: the young person's /anfragen (numbered, withdrawal asked first, "arrived" only
when it did), the company contact's own view with every status, and the cluster agent's /leads,
lead history, invitations by choice and a CSV in words and local time."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.tables import csv_document
from content import default_directory
from flows.core.model import ConsentRecord
from flows.delivery.lead_delivery import deliver
from flows.delivery.outbox import OutboxStatus
from flows.domain.lead import CONSENT_PURPOSE, CONSENT_VERSION, Lead, LeadStatus
from prompts import Catalog, default_catalog
from tests.unit.fakes import FakeUnitOfWork, SteppableClock, Store, send_everything_due
from tests.unit.harness import Harness

NOW = datetime(2027, 2, 1, 9, tzinfo=UTC)  # 10:00 in Germany
COMPANY = "zittauer-gebirgsbau"  # Die Zukunftsmacher (Lusatia)
HALLE_COMPANY = "saalefunke-automation"  # TAB_MINT (Halle)


async def _young(store: Store, clock: SteppableClock, chat_id: int = 42) -> Harness:
    h = Harness(store=store, chat_id=chat_id, places=default_directory(), clock=clock)
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press("ob:age:18plus")
    await h.text("02826")
    await h.press("ob:place_confirm:yes")
    await h.press("ob:school:abitur")
    return h


async def _consented_lead(store: Store, young: Harness, company: str, title: str, clock: SteppableClock) -> int:
    """A lead the young person consented to, handed to delivery (the outbox), as the wizard leaves it."""
    async with FakeUnitOfWork(store) as uow:
        user_id = young.profile.id
        assert user_id is not None
        lead, _ = await uow.leads.add_once(Lead(
            user_id=user_id, company=company, target=f"company:{company}:{title}", status=LeadStatus.DELIVERED,
            shared={"first_name": "Tom", "title": title, "phone": "+4917123456789", "preference": "phone",
                    "time": "any", "place": "Görlitz"},
            created_at=clock.now(), status_at=clock.now()))
        consent = await uow.consents.add(user_id, ConsentRecord(
            purpose=CONSENT_PURPOSE, text_version=CONSENT_VERSION, given_by="self", recipients=[company],
            given_at=clock.now()))
        await deliver(uow, lead, consent, clock.now())
        await uow.commit()
    assert lead.id is not None
    return lead.id


async def _contact(store: Store, clock: SteppableClock, chat_id: int, company: str) -> Harness:
    async with FakeUnitOfWork(store) as uow:
        await uow.leads.add_contact(company, "telegram", chat_id, clock.now())
        await uow.commit()
    contact = Harness(store=store, chat_id=chat_id, clock=clock)
    await contact.command("start")
    await contact.press("ob:role:company")
    await contact.press("ob:place:skip")
    return contact


async def _agent(store: Store, clock: SteppableClock, chat_id: int, plz: str) -> Harness:
    agent = Harness(store=store, chat_id=chat_id, clock=clock, agent=True)
    await agent.command("start")
    await agent.press("ob:role:other")
    await agent.text(plz)
    await agent.press("ob:place_confirm:yes")
    return agent


# ---- the young person -------------------------------------------------------------------------------
async def test_two_requests_to_one_company_get_two_different_withdraw_buttons() -> None:
    store, clock = Store(), SteppableClock(NOW)
    young = await _young(store, clock)
    first = await _consented_lead(store, young, COMPANY, "Ausbildung Maurer:in", clock)
    second = await _consented_lead(store, young, COMPANY, "Praktikum Hochbau", clock)
    assert await young.command("anfragen") == ["leads.mine"]
    withdraw = [b for b in young.reply("leads.mine").buttons[0] + young.reply("leads.mine").buttons[1]]
    assert [b.data for b in withdraw] == [f"ld:w:{first}", f"ld:w:{second}"]
    labels = [default_catalog().render(b.key, b.values) for b in withdraw]
    assert len(set(labels)) == 2, labels
    assert [i["number"] for i in young.reply("leads.mine").values["items"]] == [1, 2]


async def test_withdrawing_asks_first_and_no_keeps_the_request() -> None:
    store, clock = Store(), SteppableClock(NOW)
    young = await _young(store, clock)
    lead_id = await _consented_lead(store, young, COMPANY, "Ausbildung Maurer:in", clock)
    await young.command("anfragen")
    assert await young.press(f"ld:w:{lead_id}") == ["leads.withdraw_confirm"]
    assert await young.press("ld:mine") == ["leads.mine"]  # "Nein, behalten"
    assert store.leads[lead_id].status is LeadStatus.DELIVERED
    await young.press(f"ld:w:{lead_id}")
    assert await young.press(f"ld:wy:{lead_id}") == ["leads.withdrawn", "menu.main"]
    assert store.leads[lead_id].status is LeadStatus.WITHDRAWN
    assert await young.forge(f"ld:wy:{lead_id}") == ["fallback.stale_button", "menu.main"]  # a replayed "ja"


async def test_nobody_withdraws_someone_elses_request() -> None:
    store, clock = Store(), SteppableClock(NOW)
    young = await _young(store, clock)
    lead_id = await _consented_lead(store, young, COMPANY, "Ausbildung Maurer:in", clock)
    other = await _young(store, clock, chat_id=43)
    assert await other.forge(f"ld:w:{lead_id}") == ["fallback.stale_button", "menu.main"]
    assert await other.forge(f"ld:wy:{lead_id}") == ["fallback.stale_button", "menu.main"]
    assert store.leads[lead_id].status is LeadStatus.DELIVERED


async def test_withdrawing_one_request_keeps_the_consent_of_the_other() -> None:
    store, clock = Store(), SteppableClock(NOW)
    young = await _young(store, clock)
    first = await _consented_lead(store, young, COMPANY, "Ausbildung Maurer:in", clock)
    second = await _consented_lead(store, young, HALLE_COMPANY, "Ausbildung Mechatroniker:in", clock)
    await young.command("anfragen")
    await young.press(f"ld:w:{first}")
    await young.press(f"ld:wy:{first}")
    withdrawn = {c.id: c.withdrawn_at is not None for c in store.consents[young.user_id]}
    assert withdrawn == {store.leads[first].consent_id: True, store.leads[second].consent_id: False}


async def test_a_request_counts_as_arrived_only_when_its_message_went_out() -> None:
    store, clock = Store(), SteppableClock(NOW)
    young = await _young(store, clock)
    lead_id = await _consented_lead(store, young, COMPANY, "Ausbildung Maurer:in", clock)
    await young.command("anfragen")
    assert [i["status"] for i in young.reply("leads.mine").values["items"]] == ["on_the_way"]
    assert store.leads[lead_id].delivered_at is None
    clock.advance(minutes=3)
    await send_everything_due(store, clock)
    new_lead = [m for m in store.outbox.values() if m.reply.key == "leads.company_new"]
    assert new_lead and all(m.status is OutboxStatus.SENT for m in new_lead)
    await young.command("anfragen")
    assert [i["status"] for i in young.reply("leads.mine").values["items"]] == ["delivered"]
    assert store.leads[lead_id].delivered_at == clock.now()


# ---- the company contact ----------------------------------------------------------------------------
async def test_a_company_contact_sees_their_leads_and_reports_hired() -> None:
    store, clock = Store(), SteppableClock(NOW)
    young = await _young(store, clock)
    lead_id = await _consented_lead(store, young, COMPANY, "Ausbildung Maurer:in", clock)
    contact = await _contact(store, clock, 700, COMPANY)
    assert await contact.command("anfragen") == ["leads.company_overview"]
    assert [i["id"] for i in contact.reply("leads.company_overview").values["items"]] == [lead_id]
    assert "co:s:" + COMPANY in contact.button_data  # their own page: offers and events
    assert await contact.press(f"ld:cd:{lead_id}") == ["leads.company_lead"]
    assert contact.reply("leads.company_lead").values["phone"] == "+4917123456789"
    assert f"ld:cs:{lead_id}:hired" in contact.button_data
    assert await contact.press(f"ld:cs:{lead_id}:hired") == ["leads.status_saved"]
    assert store.leads[lead_id].status is LeadStatus.HIRED
    assert any(m.reply.key == "leads.news_hired" and m.recipient.chat_id == 42 for m in store.outbox.values())


async def test_a_contact_of_another_company_cannot_open_the_lead() -> None:
    store, clock = Store(), SteppableClock(NOW)
    young = await _young(store, clock)
    lead_id = await _consented_lead(store, young, COMPANY, "Ausbildung Maurer:in", clock)
    stranger = await _contact(store, clock, 701, HALLE_COMPANY)
    assert await stranger.command("anfragen") == ["leads.company_overview"]
    assert stranger.reply("leads.company_overview").values["items"] == []
    assert (await stranger.forge(f"ld:cd:{lead_id}"))[0] == "fallback.stale_button"
    assert (await stranger.forge(f"ld:cs:{lead_id}:hired"))[0] == "fallback.stale_button"
    assert store.leads[lead_id].status is LeadStatus.DELIVERED


async def test_a_withdrawn_lead_shows_no_name_to_the_company() -> None:
    store, clock = Store(), SteppableClock(NOW)
    young = await _young(store, clock)
    lead_id = await _consented_lead(store, young, COMPANY, "Ausbildung Maurer:in", clock)
    await young.command("anfragen")
    await young.press(f"ld:w:{lead_id}")
    await young.press(f"ld:wy:{lead_id}")
    contact = await _contact(store, clock, 700, COMPANY)
    await contact.command("anfragen")
    [item] = contact.reply("leads.company_overview").values["items"]
    assert item["status"] == "withdrawn" and item["first_name"] is None
    assert f"ld:cd:{lead_id}" not in contact.button_data


# ---- the cluster agent ------------------------------------------------------------------------------
async def test_leads_names_the_cluster_and_opens_one_leads_history_with_a_way_back() -> None:
    store, clock = Store(), SteppableClock(NOW)
    young = await _young(store, clock)
    lead_id = await _consented_lead(store, young, COMPANY, "Ausbildung Maurer:in", clock)
    agent = await _agent(store, clock, 900, "02826")
    assert await agent.command("leads") == ["leads.agent_list"]
    assert agent.reply("leads.agent_list").values["cluster"] == "Die Zukunftsmacher"
    assert await agent.press(f"ld:ad:{lead_id}:open") == ["leads.agent_detail"]
    detail = agent.reply("leads.agent_detail").values
    assert detail["company"] and [h["status"] for h in detail["history"]] == ["on_the_way"]
    assert "phone" not in detail  # agents see no contact details
    assert await agent.press("ld:af:open") == ["leads.agent_list"]


async def test_an_agent_of_another_cluster_sees_nothing_of_the_lead() -> None:
    store, clock = Store(), SteppableClock(NOW)
    young = await _young(store, clock)
    lead_id = await _consented_lead(store, young, COMPANY, "Ausbildung Maurer:in", clock)
    halle = await _agent(store, clock, 901, "06108")  # TAB_MINT
    assert (await halle.forge(f"ld:ad:{lead_id}:open"))[0] == "fallback.stale_button"
    assert halle.reply("fallback.stale_button").values.get("company") is None


async def test_einladung_without_a_name_offers_the_clusters_companies() -> None:
    store, clock = Store(), SteppableClock(NOW)
    agent = await _agent(store, clock, 900, "02826")
    assert await agent.command("einladung") == ["leads.invite_choose"]
    offered = [d.removeprefix("ld:inv:") for d in agent.button_data if d.startswith("ld:inv:")]
    async with FakeUnitOfWork(store) as uow:
        clusters = {c.slug: c.cluster for c in await uow.content.companies()}
    assert COMPANY in offered and {clusters[s] for s in offered} == {clusters[COMPANY]}
    assert await agent.press(f"ld:inv:{COMPANY}") == ["leads.invite_created"]
    assert await agent.forge(f"ld:inv:{HALLE_COMPANY}") == ["leads.invite_other_cluster"]
    stranger = Harness(store=store, chat_id=902, clock=clock)
    await stranger.command("start")
    assert await stranger.forge(f"ld:inv:{COMPANY}") == ["fallback.unknown_command", "menu.main"]


async def test_the_csv_speaks_german_and_local_time() -> None:
    store, clock = Store(), SteppableClock(NOW)
    young = await _young(store, clock)
    await _consented_lead(store, young, COMPANY, "Ausbildung Maurer:in", clock)
    agent = await _agent(store, clock, 900, "02826")
    await agent.command("leads")
    await agent.press("ld:csv:open")
    table = agent.reply("leads.agent_csv").table
    assert table is not None
    berlin = Catalog()  # a catalog of its own: the shared one takes the zone of whichever app ran last
    berlin.zone = ZoneInfo("Europe/Berlin")
    text = csv_document(table, berlin, "de", True).content.decode("utf-8-sig")
    header, row = text.splitlines()[:2]
    assert header.startswith("Nr.;Betrieb;Stand;Angefragt am")
    assert ";unterwegs zum Betrieb;01.02.2027, 10:00;" in row  # 09:00 UTC is 10:00 in Germany in winter


def test_a_name_that_looks_like_a_formula_stays_text_in_the_csv() -> None:
    from flows.core.model import Table
    table = Table(filename="x.csv", columns=["label.csv.first_name"], rows=[["=HYPERLINK(\"x\")"]])
    text = csv_document(table, default_catalog(), "de", True).content.decode("utf-8-sig")
    cell = text.splitlines()[1]
    assert "'=HYPERLINK" in cell and not cell.lstrip('"').startswith("=")


async def test_a_company_contact_has_their_own_menu() -> None:
    store, clock = Store(), SteppableClock(NOW)
    contact = await _contact(store, clock, 700, COMPANY)
    assert await contact.command("menu") == ["menu.main"]
    assert "ld:mine" in contact.button_data and "qz:start" not in contact.button_data  # requests, no quiz
    assert await contact.press("ld:mine") == ["leads.company_overview"]
    unlinked = Harness(store=store, chat_id=703, clock=clock)
    await unlinked.command("start")
    await unlinked.press("ob:role:company")
    await unlinked.press("ob:place:skip")
    assert await unlinked.command("anfragen") == ["leads.company_not_linked", "menu.main"]
