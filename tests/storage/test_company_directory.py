"""The company directory reads delivery addresses from the loaded content pack."""
from __future__ import annotations

import dataclasses

from content import DEMO_DIR, default_directory, load_pack
from flows.delivery.company_delivery import EMAIL, WEBHOOK, CompanyDelivery
from storage.company_delivery import SqlCompanyDirectory
from storage.content_sync import sync_pack
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock

PACK = load_pack(DEMO_DIR, default_directory())


async def test_addresses_of_a_company_by_row_id(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    directory = SqlCompanyDirectory(uow_factory)
    with_hook = await directory.id_of("saalefunke-automation")
    assert with_hook is not None
    assert await directory.delivery(with_hook) == CompanyDelivery(
        slug="saalefunke-automation", name="Saalefunke Automation (Beispiel)",
        email="ausbildung@saalefunke-automation.example",
        webhook_url="http://127.0.0.1:9/azubi-lotse/saalefunke-automation")
    mail_only = await directory.delivery(await directory.id_of("heidesensor-systemtechnik") or 0)
    assert mail_only is not None and mail_only.channels == [EMAIL]
    both = await directory.delivery(with_hook)
    assert both is not None and both.channels == [EMAIL, WEBHOOK]
    assert await directory.delivery(999_999) is None
    assert await directory.id_of("gibt-es-nicht") is None


async def test_an_archived_company_can_still_be_told_to_delete_data(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    directory = SqlCompanyDirectory(uow_factory)
    company_id = await directory.id_of("saalefunke-automation")
    without = [c for c in PACK.companies if c.slug != "saalefunke-automation"]
    vacancies = [v for v in PACK.vacancies if v.company != "saalefunke-automation"]
    smaller = dataclasses.replace(PACK, companies=without, vacancies=vacancies)
    report = await sync_pack(uow_factory, smaller, clock)
    assert report.archived["companies"] == 1
    found = await directory.delivery(company_id or 0)
    assert found is not None and found.email == "ausbildung@saalefunke-automation.example"
