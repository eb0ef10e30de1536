"""The real BA job-search client (bot/ba_client.py, httpx) against a fake Jobsuche server on 127.0.0.1
(tests/fakes/ba_server.py): both field shapes, paging, pacing, retries and every way a page can fail.
Waits are recorded through the injected sleep and clock, never measured in wall time."""
from __future__ import annotations

import logging
import math
import socket
from collections.abc import AsyncIterator, Callable
from datetime import date

import httpx
import pytest

from bot.ba_client import DEFAULT_URL, BaJobBoard
from flows.domain.ba_listing import BaQuery, BaShapeError, BaUnavailable, JobBoard
from tests.fakes.ba_server import (
    FakeJobBoard,
    FakeListing,
    generate_listings,
    malformed,
    rate_limited,
    rejected,
    renamed,
    server_error,
    slow,
)

ROOFER = BaQuery(kind="ausbildung", was="Dachdecker/in", wo="Halle (Saale)", umkreis=25)
HALLE = (51.4969, 11.9688)


class Clock:
    """A monotonic clock that only moves when the client sleeps (or a test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def listing(ref: str, **changes: object) -> FakeListing:
    values: dict[str, object] = {
        "ref": ref, "title": f"Ausbildung Dachdecker/in {ref}", "employer": "Dachbau Krause GmbH",
        "beruf": "Dachdecker/in", "kind": "ausbildung", "plz": "06108", "place": "Halle (Saale)",
        "lat": HALLE[0] + 0.01, "lon": HALLE[1], "start": date(2027, 8, 1), "published": date(2026, 11, 20)}
    values.update(changes)
    return FakeListing(**values)  # type: ignore[arg-type]


@pytest.fixture
async def server() -> AsyncIterator[FakeJobBoard]:
    async with FakeJobBoard() as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


Make = Callable[..., BaJobBoard]


@pytest.fixture
async def make(server: FakeJobBoard, clock: Clock) -> AsyncIterator[Make]:
    made: list[BaJobBoard] = []

    def build(url: str | None = None, **options: object) -> BaJobBoard:
        settings: dict[str, object] = {"timeout": 5.0, "pace_seconds": 0.5, "retries": 4, "backoff_seconds": 2.0,
                                       "max_wait_seconds": 120.0}
        settings.update(options)
        board = BaJobBoard(url or server.url_v6, sleep=clock.sleep, monotonic=clock.monotonic,
                           **settings)  # type: ignore[arg-type]
        made.append(board)
        return board

    yield build
    for board in made:
        await board.aclose()


def backoffs(clock: Clock, pace: float = 0.5) -> list[float]:
    """The waits that were not pacing."""
    return [s for s in clock.sleeps if not math.isclose(s, pace)]


# ---- both shapes, headers, paging ------------------------------------------------------------------
async def test_both_shapes_give_the_same_listings(server: FakeJobBoard, make: Make) -> None:
    server.listings = [listing("10000-0000000002-S", plz=6108, external_url="https://karriere.example.de/2"),
                       listing("10000-0000000001-S", title="<b>Ausbildung</b> Dachdecker/in &amp; mehr")]
    v4_page = await make(server.url_v4).page(ROOFER, 1)
    v6_page = await make(server.url_v6).page(ROOFER, 1)
    assert (v4_page.shape, v6_page.shape) == ("v4", "v6")
    assert v4_page.total == v6_page.total == 2
    assert v4_page.listings == v6_page.listings
    first, second = v6_page.listings
    assert (first.ref, first.title) == ("10000-0000000001-S", "Ausbildung Dachdecker/in & mehr")
    assert (second.plz, second.external_url) == ("06108", "https://karriere.example.de/2")
    assert second.professions == ("Dachdecker/in",) and second.start == date(2027, 8, 1)
    assert second.url == "https://www.arbeitsagentur.de/jobsuche/jobdetail/10000-0000000002-S"


async def test_headers_and_paging_parameters_are_sent(server: FakeJobBoard, make: Make) -> None:
    server.listings = [listing(f"R-{i:03d}") for i in range(230)]
    board = make()
    pages = [await board.page(ROOFER, number) for number in (1, 2, 3)]
    assert [len(page.listings) for page in pages] == [100, 100, 30]
    assert {page.total for page in pages} == {230}
    refs = [item.ref for page in pages for item in page.listings]
    assert refs == sorted(refs) and len(set(refs)) == 230
    assert board.requests_made == 3
    request = server.requests[0]
    assert request.path == "/pc/v6/jobs"
    assert request.params == {"angebotsart": "4", "was": "Dachdecker/in", "wo": "Halle (Saale)", "umkreis": "25",
                              "page": "1", "size": "100", "pav": "false"}
    assert [r.page for r in server.requests] == [1, 2, 3]
    assert request.headers["X-API-Key"] == "jobboerse-jobsuche"
    assert request.headers["Accept"] == "application/json"
    assert "Azubi-Lotse" in request.headers["User-Agent"]
    assert DEFAULT_URL == "https://rest.arbeitsagentur.de/jobboerse/jobsuche-service/pc/v6/jobs"


async def test_the_client_is_a_job_board(make: Make) -> None:
    board: JobBoard = make()
    assert (await board.page(ROOFER, 1, 10)).listings == []


async def test_no_offers_is_an_empty_page_in_both_shapes(server: FakeJobBoard, make: Make) -> None:
    for url in (server.url_v4, server.url_v6):
        page = await make(url).page(ROOFER.model_copy(update={"wo": "Atlantis"}), 1)
        assert (page.listings, page.total, page.defects) == ([], 0, [])


async def test_bad_listings_come_back_as_defects(server: FakeJobBoard, make: Make) -> None:
    server.listings = [listing("R-1"), listing("R-2", raw_drop=("firma", "arbeitgeber")),
                       listing("R-3", raw_extra={"stellenangebotsTitel": "<script>x()</script>"}),
                       listing("R-4", raw_extra={"referenznummer": "../etc/passwd"})]
    page = await make().page(ROOFER, 1)
    assert [item.ref for item in page.listings] == ["R-1"]
    assert sorted(page.defects, key=str) == [("R-2", "missing_employer"), ("R-3", "missing_title"), (None, "bad_ref")]


# ---- pacing ----------------------------------------------------------------------------------------
async def test_requests_are_paced(server: FakeJobBoard, make: Make, clock: Clock) -> None:
    board = make(pace_seconds=0.5)
    starts: list[float] = []
    for number in (1, 2, 3):
        starts.append(clock.now)
        await board.page(ROOFER, number)
    assert clock.sleeps == [0.5, 0.5]  # the first request waits for nothing
    clock.now += 0.3  # time the importer spent elsewhere counts
    await board.page(ROOFER, 4)
    assert clock.sleeps[-1] == pytest.approx(0.2)
    clock.now += 5
    await board.page(ROOFER, 5)
    assert len(clock.sleeps) == 3 and len(server.requests) == 5


# ---- 429 and 5xx -----------------------------------------------------------------------------------
async def test_429_waits_what_retry_after_says(server: FakeJobBoard, make: Make, clock: Clock) -> None:
    server.listings = [listing("R-1")]
    server.then(rate_limited(7))
    page = await make().page(ROOFER, 1)
    assert [item.ref for item in page.listings] == ["R-1"]
    assert clock.sleeps == [7.0] and len(server.requests) == 2  # 7 s cover the pacing too


async def test_retry_after_is_capped_and_read_as_a_date(server: FakeJobBoard, make: Make, clock: Clock) -> None:
    server.then(rate_limited(3600), rate_limited("Fri, 31 Dec 9999 23:59:59 GMT"),
                rate_limited("Wed, 21 Oct 2015 07:28:00 GMT"))
    await make(max_wait_seconds=60).page(ROOFER, 1)
    assert clock.sleeps[:2] == [60.0, 60.0]  # capped
    assert clock.sleeps[2] == pytest.approx(0.5)  # a date in the past: no wait but the pacing
    assert len(server.requests) == 4


async def test_429_without_retry_after_backs_off(server: FakeJobBoard, make: Make, clock: Clock) -> None:
    server.then(rate_limited(None), rate_limited("soon"))
    await make(backoff_seconds=2.0).page(ROOFER, 1)
    first, second = backoffs(clock)
    assert 1.0 <= first <= 2.0 and 2.0 <= second <= 4.0


async def test_429_for_good_is_rate_limited(server: FakeJobBoard, make: Make, clock: Clock) -> None:
    server.then(*[rate_limited(1) for _ in range(3)])
    with pytest.raises(BaUnavailable) as raised:
        await make(retries=2).page(ROOFER, 1)
    assert (raised.value.reason, raised.value.status) == ("rate_limited", 429)
    assert len(server.requests) == 3 and clock.sleeps == [1.0, 1.0]


async def test_503_then_success(server: FakeJobBoard, make: Make, clock: Clock) -> None:
    server.listings = [listing("R-1")]
    server.then(server_error(503), server_error(502))
    board = make(backoff_seconds=2.0)
    page = await board.page(ROOFER, 1)
    assert [item.ref for item in page.listings] == ["R-1"]
    first, second = clock.sleeps
    assert 1.0 <= first <= 2.0 and 2.0 <= second <= 4.0  # exponential, jittered
    assert board.requests_made == 3 == len(server.requests)


async def test_server_errors_until_the_retries_are_used_up(server: FakeJobBoard, make: Make, clock: Clock) -> None:
    server.then(*[server_error(503) for _ in range(6)])
    with pytest.raises(BaUnavailable) as raised:
        await make(retries=4, backoff_seconds=1.0, max_wait_seconds=5.0).page(ROOFER, 1)
    assert (raised.value.reason, raised.value.status) == ("server_error", 503)
    assert len(server.requests) == 5
    assert len(clock.sleeps) == 4
    for attempt, waited in enumerate(clock.sleeps, start=1):
        ceiling = min(5.0, 2 ** (attempt - 1))
        assert ceiling / 2 <= waited <= ceiling
    assert server.script  # the sixth fault was never asked for


# ---- refusals --------------------------------------------------------------------------------------
async def test_400_past_the_page_cap_is_rejected_at_once(server: FakeJobBoard, make: Make, clock: Clock) -> None:
    server.listings = [listing("R-1")]
    board = make()
    with pytest.raises(BaUnavailable) as raised:
        await board.page(ROOFER, 101, 100)
    assert (raised.value.reason, raised.value.status) == ("rejected", 400)
    assert len(server.requests) == 1 and clock.sleeps == []
    assert (await board.page(ROOFER, 400, 25)).listings == []  # 10,000 exactly is still allowed


@pytest.mark.parametrize("status", [401, 403, 404, 410])
async def test_other_client_errors_are_rejected_without_retry(server: FakeJobBoard, make: Make, clock: Clock,
                                                              status: int) -> None:
    server.then(rejected(status))
    with pytest.raises(BaUnavailable) as raised:
        await make().page(ROOFER, 1)
    assert (raised.value.reason, raised.value.status) == ("rejected", status)
    assert len(server.requests) == 1 and clock.sleeps == []


async def test_a_wrong_key_is_refused_by_the_server(make: Make) -> None:
    async with FakeJobBoard(api_key="something-else") as other:
        with pytest.raises(BaUnavailable) as raised:
            await make(other.url_v6).page(ROOFER, 1)
    assert (raised.value.reason, raised.value.status) == ("rejected", 401)


# ---- odd bodies ------------------------------------------------------------------------------------
async def test_a_body_that_is_not_json_is_asked_for_once_more(server: FakeJobBoard, make: Make,
                                                             clock: Clock) -> None:
    server.listings = [listing("R-1")]
    server.then(malformed())
    page = await make().page(ROOFER, 1)
    assert [item.ref for item in page.listings] == ["R-1"]
    assert len(server.requests) == 2 and backoffs(clock) == []


async def test_a_body_that_is_never_json_is_malformed(server: FakeJobBoard, make: Make) -> None:
    server.then(malformed(), malformed(), malformed())
    with pytest.raises(BaUnavailable) as raised:
        await make().page(ROOFER, 1)
    assert (raised.value.reason, raised.value.status) == ("malformed", 200)
    assert "Wartung" not in str(raised.value)  # the body is not repeated
    assert len(server.requests) == 2


async def test_a_renamed_list_raises_the_shape_error(server: FakeJobBoard, make: Make) -> None:
    server.listings = [listing("R-1")]
    server.then(renamed())
    with pytest.raises(BaShapeError) as raised:
        await make().page(ROOFER, 1)
    assert "'jobs'" in str(raised.value) and "R-1" not in str(raised.value)
    assert len(server.requests) == 1


async def test_a_page_that_never_ends(server: FakeJobBoard, make: Make) -> None:
    server.endless = True
    board = make()
    first, far = await board.page(ROOFER, 1), await board.page(ROOFER, 5000)
    assert len(first.listings) == 100 and first.total == 1_000_000
    assert first.listings == far.listings  # the same page again: the importer must stop on its own


# ---- timeouts and lost connections -----------------------------------------------------------------
async def test_a_slow_server_times_out_then_answers(server: FakeJobBoard, make: Make, clock: Clock) -> None:
    server.listings = [listing("R-1")]
    server.then(slow(5))
    page = await make(timeout=0.2, backoff_seconds=1.0).page(ROOFER, 1)
    assert [item.ref for item in page.listings] == ["R-1"]
    assert len(server.requests) == 2 and len(clock.sleeps) == 1 and 0.5 <= clock.sleeps[0] <= 1.0


async def test_a_server_slow_every_time_is_a_timeout(server: FakeJobBoard, make: Make, clock: Clock) -> None:
    server.then(slow(5), slow(5))
    with pytest.raises(BaUnavailable) as raised:
        await make(timeout=0.2, retries=1).page(ROOFER, 1)
    assert (raised.value.reason, raised.value.status) == ("timeout", None)
    assert len(server.requests) == 2


async def test_nobody_listening_is_a_connection_failure(make: Make, clock: Clock) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    board = make(f"http://127.0.0.1:{port}/pc/v6/jobs", retries=2, backoff_seconds=1.0)
    with pytest.raises(BaUnavailable) as raised:
        await board.page(ROOFER, 1)
    assert raised.value.reason == "connection"
    assert len(clock.sleeps) == 2 and board.requests_made == 3


async def test_logs_are_short_and_name_no_query(server: FakeJobBoard, make: Make,
                                                caplog: pytest.LogCaptureFixture) -> None:
    board = make()
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="bot.ba_client")
    server.then(server_error(503), rate_limited(1), malformed())
    await board.page(ROOFER, 1)
    ours = [record for record in caplog.records if not record.name.startswith("aiohttp")]  # not the fake's
    text = "\n".join(record.getMessage() for record in ours)
    assert "503" in text and "rate_limited" in text and "malformed" in text
    assert "Dachdecker" not in text and "Halle" not in text and "Wartung" not in text
    assert ours and all(len(record.getMessage()) < 200 for record in ours)


# ---- the fake itself -------------------------------------------------------------------------------
async def test_the_fake_searches_by_kind_profession_and_distance(server: FakeJobBoard, make: Make) -> None:
    server.listings = [
        listing("A-1"),
        listing("A-2", kind="praktikum", title="Praktikum Dachdecker/in"),
        listing("A-3", beruf="Maurer/in", title="Maurer/in gesucht"),
        listing("A-4", beruf="Maurer/in", title="Ausbildung zum Dachdecker (m/w/d)"),  # found by its title
        listing("A-5", lat=HALLE[0] + 0.4, lon=HALLE[1]),  # about 44 km away
    ]
    board = make()
    assert [item.ref for item in (await board.page(ROOFER, 1)).listings] == ["A-1", "A-4"]
    wide = ROOFER.model_copy(update={"umkreis": 50})
    assert [item.ref for item in (await board.page(wide, 1)).listings] == ["A-1", "A-4", "A-5"]
    internship = ROOFER.model_copy(update={"kind": "praktikum"})
    assert [item.ref for item in (await board.page(internship, 1)).listings] == ["A-2"]
    assert (await board.page(ROOFER.model_copy(update={"wo": "Nirgendwo"}), 1)).total == 0


def test_the_fake_runs_in_a_thread_for_other_processes() -> None:
    with FakeJobBoard([listing("T-1")]) as server:
        response = httpx.get(server.url_v4, params=ROOFER.params(1), headers={"X-API-Key": "jobboerse-jobsuche"})
        assert response.status_code == 200
        assert response.json()["maxErgebnisse"] == "1"
        assert response.json()["stellenangebote"][0]["refnr"] == "T-1"
        real_path = server.url_v6.replace("/pc/", "/jobboerse/jobsuche-service/pc/")
        assert httpx.get(real_path, params=ROOFER.params(1)).status_code == 401
        assert [r.path for r in server.requests] == ["/pc/v4/jobs", "/jobboerse/jobsuche-service/pc/v6/jobs"]


def test_generated_listings_are_deterministic_and_near_their_towns() -> None:
    towns = {"Cottbus": (51.7563, 14.3329, "03046"), "Halle (Saale)": (51.4969, 11.9688, "06108")}
    professions = ["Dachdecker/in", "Elektroniker/in", "Koch/Köchin"]
    first = generate_listings(2000, seed=7, towns=towns, professions=professions)
    assert first == generate_listings(2000, seed=7, towns=towns, professions=professions)
    assert first != generate_listings(2000, seed=8, towns=towns, professions=professions)
    assert len({item.ref for item in first}) == 2000
    assert {item.kind for item in first} == {"ausbildung", "praktikum"}
    assert len({item.employer for item in first}) > 50 and len({item.title for item in first}) > 20
    assert {item.beruf for item in first} == set(professions)
    server = FakeJobBoard(first, towns={name: (lat, lon) for name, (lat, lon, _) in towns.items()})
    for item in first:
        assert item.place in towns and item.plz == towns[item.place][2]
    near = server.matching({"wo": "Cottbus", "umkreis": "31"}) + server.matching({"wo": "Halle (Saale)",
                                                                                   "umkreis": "31"})
    assert len(near) == 2000
