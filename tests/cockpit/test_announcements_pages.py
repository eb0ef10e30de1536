"""Issue 12, point 4: announcements in the cockpit go through the same service as the bot's
/broadcast: composing, the live count, the preview, scheduling in local time, approval by a second
agent, cancelling – and nothing of another cluster's."""
from __future__ import annotations

from datetime import UTC, datetime

from flows.core.model import ConsentRecord, Profile
from flows.domain.broadcast import CONSENT_VERSION, BroadcastStatus, Topic, consent_purpose
from tests.cockpit.conftest import OTHER_AGENT, SECOND_AGENT, CockpitUnderTest

FORM = {"topic": "events", "roles": "teen", "text_du": "Hey {vorname}, komm zur <Messe> & bring Freunde mit!",
        "near_plz": "02708", "radius_km": "30"}


async def _created(cockpit: CockpitUnderTest, form: dict[str, str] | None = None) -> tuple[int, str]:
    browser = await cockpit.signed_in()
    response = await browser.post("/ankuendigungen/neu", form or FORM)
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    return int(location.split("/")[2].split("?")[0]), location


async def test_an_agent_composes_and_sees_it_as_a_phone_would_show_it(cockpit: CockpitUnderTest) -> None:
    broadcast_id, location = await _created(cockpit)
    assert location.endswith("?hinweis=saved")
    async with cockpit.app.uow_factory() as uow:
        broadcast = await uow.broadcasts.get(broadcast_id)
        audit = await uow.cockpit.audit("zukunftsmacher")
    assert broadcast is not None and broadcast.cluster == "zukunftsmacher"
    assert broadcast.audience.roles == ["teen"] and broadcast.audience.near_plz == "02708"
    assert broadcast.audience.radius_km == 30
    assert [a.by for a in broadcast.history] == ["telegram:900", "telegram:900"]  # created, edited
    assert [(a.action, a.subject) for a in audit][:1] == [("announcement_saved", f"announcement:{broadcast_id}")]
    browser = cockpit.browsers[-1]
    page = await (await browser.get(f"/ankuendigungen/{broadcast_id}")).text()
    # The preview is the bot's own message, with the example first name, and the agent's text escaped.
    assert "Hey Alex, komm zur &lt;Messe&gt; &amp; bring Freunde mit!" in page
    assert "<Messe>" not in page
    assert "Erreicht jetzt" in page


async def _opted_in_teens(cockpit: CockpitUnderTest, chats: range, plz: str = "02708") -> None:
    now = cockpit.clock.now()
    async with cockpit.app.uow_factory() as uow:
        for chat in chats:
            profile = await uow.users.save(Profile(channel="telegram", chat_id=chat, role="teen", age_band="18plus",
                                                   plz=plz, place="Löbau", cluster="zukunftsmacher", onboarded=True,
                                                   created_at=now, last_seen_at=now))
            assert profile.id is not None
            await uow.consents.add(profile.id, ConsentRecord(purpose=consent_purpose(Topic.EVENTS),
                                                             text_version=CONSENT_VERSION, given_by="self",
                                                             given_at=now))
        await uow.commit()


async def test_the_live_count_masks_small_numbers(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    body = await (await browser.post("/ankuendigungen/zaehlen", FORM)).json()
    assert body == {"ok": True, "text": "0 Personen, davon 0 minderjährig (0 unter 16 mit Zustimmung der Eltern)",
                    "shown": {"total": "0", "minors": "0", "under_16": "0", "capped": "0"}}
    await _opted_in_teens(cockpit, range(5000, 5003))
    body = await (await browser.post("/ankuendigungen/zaehlen", FORM)).json()
    assert body["shown"]["total"] == "< 5" and body["text"].startswith("< 5 Personen")
    assert "3" not in body["text"]  # the raw number is not sent to the page at all
    await _opted_in_teens(cockpit, range(5003, 5008))
    body = await (await browser.post("/ankuendigungen/zaehlen", FORM)).json()
    assert body["shown"]["total"] == "8"
    far = await (await browser.post("/ankuendigungen/zaehlen", {**FORM, "near_plz": "06108"})).json()
    assert far["shown"]["total"] == "0"  # Halle is far from Löbau
    bad = await (await browser.post("/ankuendigungen/zaehlen", {**FORM, "near_plz": "12"})).json()
    assert bad["ok"] is False and "unvollständig" in bad["text"]


async def test_bad_input_is_shown_at_the_field_and_nothing_is_saved(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    response = await browser.post("/ankuendigungen/neu", {**FORM, "near_plz": "0270", "roles": "", "radius_km": "999"})
    assert response.status == 422
    page = await response.text()
    assert "Eine Postleitzahl hat 5 Ziffern." in page and "Bitte mindestens eine Gruppe wählen." in page
    assert "Hey {vorname}, komm zur &lt;Messe&gt;" in page  # what was typed is kept
    link = await browser.post("/ankuendigungen/neu", {**FORM, "button_link": "http://insecure.example",
                                                      "button_label": "Mehr"})
    assert link.status == 422 and "Links beginnen mit https://." in await link.text()
    async with cockpit.app.uow_factory() as uow:
        assert await uow.broadcasts.for_cluster("zukunftsmacher") == []


async def test_scheduling_takes_local_time_and_checks_the_texts(cockpit: CockpitUnderTest) -> None:
    broadcast_id, _ = await _created(cockpit)
    browser = cockpit.browsers[-1]
    await browser.get(f"/ankuendigungen/{broadcast_id}")
    # Winter: 10:00 in Berlin is 09:00 UTC. The demo clock stands at 2027-03-01 09:00 UTC.
    done = await browser.post(f"/ankuendigungen/{broadcast_id}/planen", {"when": "2027-03-05T10:00"})
    assert done.headers["Location"].endswith("?hinweis=scheduled")
    async with cockpit.app.uow_factory() as uow:
        broadcast = await uow.broadcasts.get(broadcast_id)
    assert broadcast is not None and broadcast.status is BroadcastStatus.SCHEDULED
    assert broadcast.scheduled_at == datetime(2027, 3, 5, 9, 0, tzinfo=UTC)
    past = await browser.post(f"/ankuendigungen/{broadcast_id}/planen", {"when": "2027-02-01T10:00"})
    assert past.headers["Location"].endswith("?hinweis=in_past")
    gap = await browser.post(f"/ankuendigungen/{broadcast_id}/planen", {"when": "2027-03-28T02:30"})
    assert gap.headers["Location"].endswith("?hinweis=bad_time")  # the hour skipped by summer time
    # Parents in the audience need the Sie text: refused until it is there.
    both = await browser.post(f"/ankuendigungen/{broadcast_id}", [*FORM.items(), ("roles", "parent")])
    assert both.status == 303
    refused = await browser.post(f"/ankuendigungen/{broadcast_id}/planen", {"now": "1"})
    assert refused.headers["Location"].endswith("?hinweis=texts")
    page = await (await browser.get(f"/ankuendigungen/{broadcast_id}")).text()
    assert "Text für Eltern (Sie) fehlt." in page


async def test_another_cluster_sees_and_changes_nothing(cockpit: CockpitUnderTest) -> None:
    broadcast_id, _ = await _created(cockpit)
    other = await cockpit.signed_in(OTHER_AGENT)
    listing = await (await other.get("/ankuendigungen")).text()
    assert f"Nr. {broadcast_id}" not in listing
    assert (await other.get(f"/ankuendigungen/{broadcast_id}")).status == 404
    for action in ("planen", "abbrechen", "freigeben", "testen"):
        assert (await other.post(f"/ankuendigungen/{broadcast_id}/{action}", {"now": "1"})).status == 404
    assert (await other.post(f"/ankuendigungen/{broadcast_id}", FORM)).status == 404
    async with cockpit.app.uow_factory() as uow:
        broadcast = await uow.broadcasts.get(broadcast_id)
    assert broadcast is not None and broadcast.status is BroadcastStatus.DRAFT
    assert {a.by for a in broadcast.history} == {"telegram:900"}


async def test_a_second_agent_approves_and_the_author_cannot(cockpit: CockpitUnderTest) -> None:
    cockpit.app.settings.broadcast_approval_minors = -1  # every announcement needs a second pair of eyes
    broadcast_id, _ = await _created(cockpit)
    author = cockpit.browsers[-1]
    await author.get(f"/ankuendigungen/{broadcast_id}")
    waiting = await author.post(f"/ankuendigungen/{broadcast_id}/planen", {"now": "1"})
    assert waiting.headers["Location"].endswith("?hinweis=awaiting_approval")
    own = await author.post(f"/ankuendigungen/{broadcast_id}/freigeben")
    assert own.headers["Location"].endswith("?hinweis=own_broadcast")
    second = await cockpit.signed_in(SECOND_AGENT)
    page = await (await second.get(f"/ankuendigungen/{broadcast_id}")).text()
    assert "Freigeben" in page
    approved = await second.post(f"/ankuendigungen/{broadcast_id}/freigeben")
    assert approved.headers["Location"].endswith("?hinweis=approved")
    cancelled = await second.post(f"/ankuendigungen/{broadcast_id}/abbrechen")
    assert cancelled.headers["Location"].endswith("?hinweis=cancelled")
    async with cockpit.app.uow_factory() as uow:
        broadcast = await uow.broadcasts.get(broadcast_id)
    assert broadcast is not None and broadcast.status is BroadcastStatus.CANCELLED
    assert broadcast.approved_by == "telegram:901"
