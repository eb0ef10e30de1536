"""Tracked links (QR codes) of clusters on real SQLite: sources unique per cluster, clusters kept apart,
and users counted by the source they came with."""
from __future__ import annotations

from datetime import timedelta

import pytest

from content import DEMO_DIR, default_directory, load_pack
from flows.core.model import Event, EventKind, Profile, UserRef
from flows.domain.tracked_link import LinkKind, start_url
from flows.wiring import build_engine
from storage.content_sync import sync_pack
from storage.links import SqlTrackedLinks
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock

AGENT = "telegram:100"


async def test_add_makes_readable_unique_sources_and_two_clusters_may_share_one(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    now = clock.now()
    async with uow_factory() as uow:
        links = SqlTrackedLinks(uow.session)
        first = await links.add("zukunftsmacher", "  Plakat Gymnasium Löbau ", LinkKind.POSTER, AGENT, now)
        again = await links.add("zukunftsmacher", "Plakat Gymnasium Löbau", "poster", AGENT, now + timedelta(minutes=1))
        other = await links.add("lausitz-cares", "Plakat Gymnasium Löbau", LinkKind.POSTER, "telegram:200", now,
                                target="event:karrieretag")
        await uow.commit()
    assert (first.source, again.source, other.source) == \
        ("plakat-gymnasium-loebau", "plakat-gymnasium-loebau-2", "plakat-gymnasium-loebau")
    assert first.label == "Plakat Gymnasium Löbau" and first.kind is LinkKind.POSTER and first.created_at == now
    assert first.payload == "zukunftsmacher_plakat-gymnasium-loebau"
    async with uow_factory() as uow:
        links = SqlTrackedLinks(uow.session)
        assert [link.id for link in await links.for_cluster("zukunftsmacher")] == [again.id, first.id]  # newest first
        assert await links.for_cluster("lausitz-cares") == [other]
        assert await links.get("lausitz-cares", other.id) == other
        assert other.target == "event:karrieretag" and other.created_by == "telegram:200"


async def test_another_cluster_can_neither_see_nor_archive_a_link(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    async with uow_factory() as uow:
        link = await SqlTrackedLinks(uow.session).add("zukunftsmacher", "Messestand Zittau", LinkKind.STAND, AGENT,
                                                      clock.now())
        await uow.commit()
    async with uow_factory() as uow:
        links = SqlTrackedLinks(uow.session)
        assert await links.get("lausitz-cares", link.id) is None
        assert await links.archive("lausitz-cares", link.id, clock.now()) is False
        assert await links.get("zukunftsmacher", link.id + 1) is None
        await uow.commit()
    async with uow_factory() as uow:
        stored = await SqlTrackedLinks(uow.session).get("zukunftsmacher", link.id)
        assert stored is not None and not stored.archived


async def test_archived_links_leave_the_list_keep_their_source_and_archive_once(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    async with uow_factory() as uow:
        links = SqlTrackedLinks(uow.session)
        link = await links.add("zukunftsmacher", "Schule am Park", LinkKind.SCHOOL, AGENT, clock.now())
        clock.advance(days=1)
        assert await links.archive("zukunftsmacher", link.id, clock.now()) is True
        assert await links.archive("zukunftsmacher", link.id, clock.now() + timedelta(hours=1)) is False
        await uow.commit()
    async with uow_factory() as uow:
        links = SqlTrackedLinks(uow.session)
        assert await links.for_cluster("zukunftsmacher") == []
        archived = await links.for_cluster("zukunftsmacher", include_archived=True)
        assert [a.id for a in archived] == [link.id] and archived[0].archived_at == clock.now()
        # a new link of the same label gets its own source: people who came through the old one stay theirs
        assert (await links.add("zukunftsmacher", "Schule am Park", LinkKind.SCHOOL, AGENT, clock.now())).source \
            == "schule-am-park-2"


async def test_counts_by_source_counts_the_clusters_users_and_new_links_avoid_used_sources(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    now = clock.now()
    people = [("zukunftsmacher", "plakat"), ("zukunftsmacher", "plakat"), ("zukunftsmacher", "messe"),
              ("zukunftsmacher", None), ("lausitz-cares", "plakat"), (None, "plakat")]
    async with uow_factory() as uow:
        for chat_id, (cluster, source) in enumerate(people, start=1):
            await uow.users.save(Profile(channel="telegram", chat_id=chat_id, cluster=cluster, source=source,
                                         created_at=now))
        links = SqlTrackedLinks(uow.session)
        assert await links.counts_by_source("zukunftsmacher") == {"plakat": 2, "messe": 1}
        assert await links.counts_by_source("lausitz-cares") == {"plakat": 1}
        assert await links.counts_by_source("tab-mint") == {}
        # "plakat" came from a link made elsewhere (`lotse link`): a new "Plakat" must not inherit its people
        assert (await links.add("zukunftsmacher", "Plakat", LinkKind.POSTER, AGENT, now)).source == "plakat-2"
        assert (await links.add("tab-mint", "Plakat", LinkKind.POSTER, AGENT, now)).source == "plakat"


async def test_nothing_is_stored_without_the_callers_commit(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    async with uow_factory() as uow:
        await SqlTrackedLinks(uow.session).add("zukunftsmacher", "Plakat", LinkKind.POSTER, AGENT, clock.now())
    async with uow_factory() as uow:
        assert await SqlTrackedLinks(uow.session).for_cluster("zukunftsmacher", include_archived=True) == []


@pytest.mark.parametrize(("cluster", "label", "kind", "actor", "target", "reason"), [
    ("Zukunftsmacher", "Plakat", "poster", AGENT, None, "cluster"),
    ("zukunftsmacher", "   ", "poster", AGENT, None, "empty"),
    ("zukunftsmacher", "x" * 121, "poster", AGENT, None, "too_long"),
    ("zukunftsmacher", "Plakat\x00", "poster", AGENT, None, "control_character"),
    ("zukunftsmacher", "Plakat", "flyer", AGENT, None, "flyer"),
    ("zukunftsmacher", "Plakat", "poster", "", None, "created_by"),
    ("zukunftsmacher", "Plakat", "poster", AGENT, "e" * 65, "target"),
])
async def test_add_refuses_bad_input(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, cluster: str,
                                     label: str, kind: str, actor: str, target: str | None, reason: str) -> None:
    async with uow_factory() as uow:
        with pytest.raises(ValueError, match=reason):
            await SqlTrackedLinks(uow.session).add(cluster, label, kind, actor, clock.now(), target=target)


async def test_a_source_taken_meanwhile_by_another_agent_moves_on_to_the_next(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, monkeypatch: pytest.MonkeyPatch) -> None:
    async with uow_factory() as uow:
        links = SqlTrackedLinks(uow.session)
        first = await links.add("zukunftsmacher", "Plakat", LinkKind.POSTER, AGENT, clock.now())

        async def stale(cluster: str) -> set[str]:  # read before the other agent's link was stored
            return set()

        monkeypatch.setattr(links, "_taken", stale)
        second = await links.add("zukunftsmacher", "Plakat", LinkKind.POSTER, "telegram:101", clock.now())
        await uow.commit()
    assert (first.source, second.source) == ("plakat", "plakat-2") and first.id != second.id


async def test_someone_who_opens_the_link_is_counted_for_it(uow_factory: SqlUnitOfWorkFactory,
                                                            clock: SteppableClock) -> None:
    """The whole way on SQLite: link made, its /start payload sent by two new users, counted for it."""
    await sync_pack(uow_factory, load_pack(DEMO_DIR, default_directory()), clock)
    async with uow_factory() as uow:
        link = await SqlTrackedLinks(uow.session).add("zukunftsmacher", "Plakat Gymnasium Löbau", LinkKind.POSTER,
                                                      AGENT, clock.now())
        await uow.commit()
    payload = start_url("azubi_lotse_bot", link.cluster, link.source).partition("?start=")[2]
    engine = build_engine(uow_factory, default_directory(), clock)
    for chat_id in (1, 2):
        event = Event(user=UserRef(channel="telegram", chat_id=chat_id), kind=EventKind.COMMAND, text="start",
                      payload=payload, update_id=chat_id)
        await engine.handle(event)
    async with uow_factory() as uow:
        assert await SqlTrackedLinks(uow.session).counts_by_source("zukunftsmacher") == {link.source: 2}
        person = await uow.users.get("telegram", 1)
        assert person is not None and (person.cluster, person.source) == ("zukunftsmacher", link.source)
