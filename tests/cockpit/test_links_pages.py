"""Issue 12, point 6: tracked links with QR codes; who came through a link counts for its source."""
from __future__ import annotations

import io

from PIL import Image

from flows.core.model import Profile
from tests.cockpit.conftest import OTHER_AGENT, CockpitUnderTest


async def test_an_agent_makes_a_link_and_gets_its_qr_codes_and_print_sheet(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    created = await browser.post("/links", {"label": "Plakat Gymnasium Löbau", "kind": "poster"})
    assert created.status == 303 and created.headers["Location"].endswith("?hinweis=link_created")
    detail_path = created.headers["Location"].split("?")[0]
    page = await (await browser.get(detail_path)).text()
    assert "https://t.me/AzubiLotseTestBot?start=zukunftsmacher_plakat-gymnasium-loebau" in page
    png = await browser.get(detail_path + "/qr.png")
    assert png.content_type == "image/png" and Image.open(io.BytesIO(await png.read())).size[0] >= 200
    svg = await browser.get(detail_path + "/qr.svg")
    assert svg.content_type == "image/svg+xml" and "<title>Plakat Gymnasium Löbau</title>" in await svg.text()
    sheet = await (await browser.get(detail_path + "/druckbogen.svg")).text()
    assert "Die Zukunftsmacher" in sheet and "?start=zukunftsmacher_plakat-gymnasium-loebau" in sheet  # link wrapped
    # The same label again: its own source.
    again = await browser.post("/links", {"label": "Plakat Gymnasium Löbau", "kind": "poster"})
    assert "plakat-gymnasium-loebau-2" in await (await browser.get(again.headers["Location"].split("?")[0])).text()
    async with cockpit.app.uow_factory() as uow:
        audit = await uow.cockpit.audit("zukunftsmacher")
    assert [a.action for a in audit[:2]] == ["link_created", "link_created"]


async def test_people_who_came_through_a_link_are_counted_masked_below_five(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    created = await browser.post("/links", {"label": "Stand Zittau", "kind": "stand"})
    path = created.headers["Location"].split("?")[0]
    now = cockpit.clock.now()
    async with cockpit.app.uow_factory() as uow:
        for chat in range(8000, 8003):
            await uow.users.save(Profile(channel="telegram", chat_id=chat, cluster="zukunftsmacher",
                                         source="stand-zittau", created_at=now, last_seen_at=now))
        await uow.commit()
    listing = await (await browser.get("/links")).text()
    assert "&lt; 5" in listing
    async with cockpit.app.uow_factory() as uow:
        for chat in range(8003, 8009):
            await uow.users.save(Profile(channel="telegram", chat_id=chat, cluster="zukunftsmacher",
                                         source="stand-zittau", created_at=now, last_seen_at=now))
        await uow.commit()
    assert "<td>9</td>" in await (await browser.get(path)).text()


async def test_bad_input_and_other_clusters(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    empty = await browser.post("/links", {"label": "  ", "kind": "poster"})
    assert empty.status == 422 and "Bitte eine Bezeichnung eingeben." in await empty.text()
    strange = await browser.post("/links", {"label": "Plakat\u202eevil", "kind": "poster"})
    assert strange.status == 422
    kind = await browser.post("/links", {"label": "Plakat", "kind": "rocket"})
    assert kind.status == 422
    other_event = await browser.post("/links", {"label": "Plakat", "kind": "event",
                                                "event": "digitale-technik-halle-2027-02"})  # TAB_MINT's
    assert other_event.status == 422 and "gibt es in Ihrem Cluster nicht" in await other_event.text()
    created = await browser.post("/links", {"label": "Plakat Mensa", "kind": "poster"})
    path = created.headers["Location"].split("?")[0]
    other = await cockpit.signed_in(OTHER_AGENT)
    assert "Plakat Mensa" not in await (await other.get("/links")).text()
    for suffix in ("", "/qr.png", "/qr.svg", "/druckbogen.svg"):
        assert (await other.get(path + suffix)).status == 404
    assert (await other.post(path + "/archivieren")).status == 404
    archived = await browser.post(path + "/archivieren")
    assert archived.headers["Location"] == "/links?hinweis=link_archived"
    assert "Plakat Mensa" not in await (await browser.get("/links")).text()
