"""Issue 16: operators' GTFS feeds read into the transit network, checked, stored and read back."""
from __future__ import annotations

import json
import zipfile
from datetime import date
from pathlib import Path

import pytest

from flows.domain.transit_network import Transfer, TransitNetwork
from tests.fakes.gtfs_feed import Row, generate_feed, write_feed
from transit import FeedError, NetworkFileError, gtfs, load_feeds, load_network, save_network
from transit.gtfs import parse_time, walking_seconds

# A, B, C on a north-south line about 1.1 km apart; D 150 m north of C; E and F 100 m apart (a type-3
# "no transfer" from E to F); station ST with two platforms P1 (named) and P2 (unnamed: takes ST's name).
STOPS: list[Row] = [
    ("A", "Aue", 51.50, 14.30), ("B", "Bach", 51.51, 14.30), ("C", "Cottbus Markt", 51.52, 14.30),
    ("D", "Cottbus Post", 51.52135, 14.30), ("E", "Eiche", 51.40, 14.10), ("F", "Feld", 51.4009, 14.10),
    {"stop_id": "ST", "stop_name": "Spremberg Bahnhof", "location_type": "1", "stop_lat": 51.60, "stop_lon": 14.40},
    {"stop_id": "P1", "stop_name": "Spremberg Bahnhof Gleis 1", "stop_lat": 51.6001, "stop_lon": 14.40,
     "location_type": "0", "parent_station": "ST"},
    {"stop_id": "P2", "stop_name": "", "stop_lat": 51.6003, "stop_lon": 14.40, "parent_station": "ST"},
]
ROUTES: list[Row] = [("R1", "160", 3), {"route_id": "R2", "route_short_name": "", "route_long_name": "Regio Lausitz",
                                        "route_type": 2}]
TRIPS: list[Row] = [("R1", "WD", "T1"), ("R1", "SA", "T2"), ("R2", "X", "T3")]
STOP_TIMES: list[Row] = [
    ("T1", "A", "07:00:00", None), ("T1", "B", "7:10:00", "07:11:00"), ("T1", "C", "07:20:00", None),
    ("T2", "C", "23:50:00", None), ("T2", "B", "24:05:00", None), ("T2", "A", "25:10:00", None),
    ("T3", "P1", "08:00:00", None), ("T3", "D", "08:30:00", None),
]
CALENDAR: list[Row] = [("WD", "1111100", date(2026, 1, 1), date(2026, 12, 31)),
                       ("SA", "0000010", "20260101", "20261231")]
CALENDAR_DATES: list[Row] = [("WD", "20260501", 2), ("SA", "20260501", 1), ("X", "20260704", 1)]
TRANSFERS: list[Row] = [("A", "B", 2, 600), ("ST", "ST", 2, 180), ("E", "F", 3, "")]


def small_feed(path: Path, **changes: object) -> Path:
    parts: dict[str, object] = {"stops": STOPS, "routes": ROUTES, "trips": TRIPS, "stop_times": STOP_TIMES,
                                "calendar": CALENDAR, "calendar_dates": CALENDAR_DATES, "transfers": TRANSFERS}
    parts.update(changes)
    return write_feed(path, **parts)  # type: ignore[arg-type]


def index(network: TransitNetwork, gtfs_id: str) -> int:
    return [s.gtfs_id for s in network.stops].index(gtfs_id)


def trip_rows(network: TransitNetwork, trip: int) -> list[tuple[str, int, int]]:
    st = network.stop_times
    return [(network.stops[st.stop[i]].gtfs_id, st.arrival[i], st.departure[i])
            for i in range(len(st)) if st.trip[i] == trip]


def problem(tmp_path: Path, **changes: object) -> str:
    with pytest.raises(FeedError) as caught:
        load_feeds([small_feed(tmp_path / "lausitz.zip", **changes)])
    return str(caught.value)


def test_a_small_feed_loads_its_stops_trips_and_times(tmp_path: Path) -> None:
    network = load_feeds([small_feed(tmp_path / "lausitz.zip")])
    assert [s.gtfs_id for s in network.stops] == [f"lausitz:{s}" for s in "A B C D E F P1 P2".split()]
    assert network.stops[index(network, "lausitz:P2")].name == "Spremberg Bahnhof"  # the station names it
    assert (network.stops[0].lat, network.stops[0].lon) == (51.5, 14.3)
    assert [(t.route_name, t.route_type) for t in network.trips] == [("160", 3), ("160", 3), ("Regio Lausitz", 2)]
    assert trip_rows(network, 0) == [("lausitz:A", 25200, 25200), ("lausitz:B", 25800, 25860),
                                     ("lausitz:C", 26400, 26400)]
    assert trip_rows(network, 1) == [("lausitz:C", 85800, 85800), ("lausitz:B", 86700, 86700),
                                     ("lausitz:A", 90600, 90600)]  # 24:05 and 25:10: after midnight
    assert list(network.stop_times.trip) == [0, 0, 0, 1, 1, 1, 2, 2]  # trip by trip


def test_services_run_on_their_weekdays_with_the_holiday_exceptions(tmp_path: Path) -> None:
    network = load_feeds([small_feed(tmp_path / "lausitz.zip")])
    services = {s.gtfs_id: s for s in network.services}
    weekday, saturday = services["lausitz:WD"], services["lausitz:SA"]
    assert weekday.runs_on(date(2026, 4, 30)) and not weekday.runs_on(date(2026, 5, 2))
    assert not weekday.runs_on(date(2026, 5, 1))  # Labour Day (a Friday): the Saturday service instead
    assert saturday.runs_on(date(2026, 5, 1)) and saturday.runs_on(date(2026, 5, 2))
    assert not saturday.runs_on(date(2026, 5, 3)) and not weekday.runs_on(date(2027, 1, 4))  # Sunday; expired
    only_dates = services["lausitz:X"]  # in calendar_dates.txt only
    assert only_dates.runs_on(date(2026, 7, 4)) and not only_dates.runs_on(date(2026, 7, 11))
    assert network.services[network.trips[0].service] is weekday


def test_transfers_as_given_and_walking_between_near_stops(tmp_path: Path) -> None:
    network = load_feeds([small_feed(tmp_path / "lausitz.zip")])
    at = {s: index(network, f"lausitz:{s}") for s in "A B C D E F P1 P2".split()}
    seconds = {(t.from_stop, t.to_stop): t.seconds for t in network.transfers}
    assert seconds[at["A"], at["B"]] == 600 and (at["B"], at["A"]) not in seconds  # given, one way; 1.1 km apart
    assert seconds[at["C"], at["D"]] == seconds[at["D"], at["C"]] == 180  # 150 m × 1.3 at 4.5 km/h: 156 s → 3 min
    assert seconds[at["P1"], at["P2"]] == seconds[at["P2"], at["P1"]] == 180  # station to station: its platforms
    assert seconds[at["P1"], at["P1"]] == 180
    assert (at["E"], at["F"]) not in seconds and seconds[at["F"], at["E"]] == 120  # type 3 one way; 100 m: 104 s → 2 min
    assert network.transfers == sorted(network.transfers, key=lambda t: (t.from_stop, t.to_stop))
    assert walking_seconds(0) == 60 and walking_seconds(300) == 360


def test_two_feeds_with_the_same_ids_do_not_collide(tmp_path: Path) -> None:
    north = small_feed(tmp_path / "north.zip")
    south = small_feed(tmp_path / "south.zip")
    network = load_feeds([north, south])
    ids = [s.gtfs_id for s in network.stops]
    assert len(ids) == len(set(ids)) == 16 and "north:A" in ids and "south:A" in ids
    assert len(network.trips) == 6 and len(network.services) == 6
    south_trip = network.trips[3]
    assert network.services[south_trip.service].gtfs_id == "south:WD"
    assert trip_rows(network, 3)[0][0] == "south:A"
    assert [f.name for f in network.feeds] == ["north", "south"]
    with pytest.raises(FeedError, match="same name 'north'"):
        load_feeds([north, north])


def test_stop_times_out_of_order_and_without_intermediate_times(tmp_path: Path) -> None:
    rows: list[Row] = [
        {"trip_id": "T1", "stop_id": "C", "arrival_time": "07:20:00", "departure_time": "07:20:00", "stop_sequence": 30},
        {"trip_id": "T2", "stop_id": "A", "arrival_time": "08:00:00", "departure_time": "08:00:00", "stop_sequence": 1},
        {"trip_id": "T1", "stop_id": "A", "arrival_time": "07:00:00", "departure_time": "07:00:00", "stop_sequence": 10},
        {"trip_id": "T2", "stop_id": "B", "arrival_time": "", "departure_time": "", "stop_sequence": 2},
        {"trip_id": "T2", "stop_id": "D", "arrival_time": "", "departure_time": "", "stop_sequence": 3},
        {"trip_id": "T2", "stop_id": "C", "arrival_time": "08:09:00", "departure_time": "08:09:00", "stop_sequence": 4},
        {"trip_id": "T1", "stop_id": "B", "arrival_time": "07:10:00", "departure_time": "07:10:00", "stop_sequence": 20},
        {"trip_id": "T3", "stop_id": "P1", "arrival_time": "08:00:00", "departure_time": "", "stop_sequence": 1},
        {"trip_id": "T3", "stop_id": "D", "arrival_time": "", "departure_time": "08:30:00", "stop_sequence": 2},
    ]
    network = load_feeds([small_feed(tmp_path / "lausitz.zip", stop_times=rows)])
    by_route = {network.stops[network.stop_times.stop[i]].gtfs_id for i in range(len(network.stop_times))}
    assert by_route == {f"lausitz:{s}" for s in "A B C D P1".split()}
    trips = {tuple(r[0] for r in trip_rows(network, t)): trip_rows(network, t) for t in range(3)}
    assert [r[1] for r in trips["lausitz:A", "lausitz:B", "lausitz:C"]] == [25200, 25800, 26400]
    t2 = trips["lausitz:A", "lausitz:B", "lausitz:D", "lausitz:C"]
    assert [(r[1], r[2]) for r in t2] == [(28800, 28800), (28980, 28980), (29160, 29160), (29340, 29340)]
    assert [(r[1], r[2]) for r in trips["lausitz:P1", "lausitz:D"]] == [(28800, 28800), (30600, 30600)]


def test_feed_information_and_licence(tmp_path: Path) -> None:
    info = {"feed_publisher_name": "VBB Verkehrsverbund Berlin-Brandenburg", "feed_publisher_url": "https://vbb.de",
            "feed_lang": "de", "feed_version": "2026-11", "feed_start_date": "20261101", "feed_end_date": "20271212"}
    path = small_feed(tmp_path / "vbb.zip", feed_info=info, raw={"LICENSE": "\nCC BY 4.0\n\nThe full text …"})
    feed = load_feeds([path]).feeds[0]
    assert (feed.name, feed.publisher, feed.url, feed.version) == ("vbb", info["feed_publisher_name"],
                                                                    "https://vbb.de", "2026-11")
    assert (feed.valid_from, feed.valid_to, feed.licence) == (date(2026, 11, 1), date(2027, 12, 12), "CC BY 4.0")
    assert feed.agencies == ("Testverkehr Lausitz",)
    assert load_feeds([path], licences={"vbb": "DL-DE/BY-2-0"}).feeds[0].licence == "DL-DE/BY-2-0"
    plain = load_feeds([small_feed(tmp_path / "plain.zip")]).feeds[0]
    assert (plain.publisher, plain.licence, plain.version) == ("Testverkehr Lausitz", None, None)
    assert (plain.valid_from, plain.valid_to) == (date(2026, 1, 1), date(2026, 12, 31))  # from the calendar


def test_a_byte_order_mark_and_a_folder_inside_the_zip_are_fine(tmp_path: Path) -> None:
    path = small_feed(tmp_path / "bom.zip")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp_path / "nested.zip", "w") as out:
        for name in src.namelist():
            out.writestr(f"gtfs/{name}", ("\ufeff" if name == "stops.txt" else "").encode() + src.read(name))
    network = load_feeds([tmp_path / "nested.zip"])
    assert network.stops[0].gtfs_id == "nested:A" and len(network.trips) == 3


@pytest.mark.parametrize(("changes", "expected"), [
    ({"omit": {"stop_times.txt"}}, "lausitz.zip: stop_times.txt is missing"),
    ({"omit": {"calendar.txt", "calendar_dates.txt"}}, "neither calendar.txt nor calendar_dates.txt"),
    ({"raw": {"trips.txt": "route_id,trip_id\nR1,T1\n"}}, "lausitz.zip/trips.txt:1: required column(s) missing: "
                                                          "service_id"),
    ({"raw": {"stops.txt": ""}}, "lausitz.zip/stops.txt: empty file"),
    ({"stop_times": [*STOP_TIMES[:4], ("T2", "B", "24:5:00", None), *STOP_TIMES[5:]]},
     "lausitz.zip/stop_times.txt:6: trip 'T2': arrival_time '24:5:00' is not H:MM:SS"),
    ({"stop_times": [*STOP_TIMES, ("T9", "A", "07:00:00", None)]},
     "lausitz.zip/stop_times.txt:10: unknown trip_id 'T9' (not in trips.txt)"),
    ({"stop_times": [*STOP_TIMES[:7], ("T3", "Z", "08:40:00", None)]},
     "lausitz.zip/stop_times.txt:9: trip 'T3': unknown stop_id 'Z'"),
    ({"stop_times": [*STOP_TIMES[:7], ("T3", "ST", "08:40:00", None)]},
     "stop_times.txt:9: trip 'T3': stop_id 'ST' is a station"),
    ({"stop_times": [*STOP_TIMES[:2], ("T1", "C", "07:05:00", None), *STOP_TIMES[3:]]},
     "lausitz.zip/stop_times.txt:4: trip 'T1': arrives 07:05:00, before it left the previous stop (07:11:00)"),
    ({"stop_times": [*STOP_TIMES[:6], ("T3", "P1", "08:00:00", None)]},
     "lausitz.zip/stop_times.txt:8: trip 'T3' has only one stop time"),
    ({"trips": [*TRIPS, ("R9", "WD", "T4")]}, "lausitz.zip/trips.txt:5: trip 'T4': unknown route_id 'R9'"),
    ({"trips": [*TRIPS, ("R1", "SU", "T4")]}, "lausitz.zip/trips.txt:5: trip 'T4': unknown service_id 'SU'"),
    ({"trips": [*TRIPS, ("R1", "WD", "T4")]}, "lausitz.zip/trips.txt:5: trip 'T4' has no stop times"),
    ({"stops": [*STOPS, {"stop_id": "G", "stop_name": "Ginster"}]},
     "lausitz.zip/stops.txt:11: stop 'G' has no coordinates"),
    ({"calendar": [("WD", "1111100", "2026-01-01", "20261231")]}, "calendar.txt:2: service 'WD': start_date"),
    ({"transfers": [("A", "Q", 2, 60)]}, "transfers.txt:2: unknown stop_id 'Q'"),
])
def test_a_broken_feed_names_the_file_the_line_and_the_fault(tmp_path: Path, changes: dict[str, object],
                                                               expected: str) -> None:
    assert expected in problem(tmp_path, **changes)


def test_not_a_zip_and_no_file(tmp_path: Path) -> None:
    (tmp_path / "feed.zip").write_text("<html>404 Not Found</html>")
    with pytest.raises(FeedError, match=r"feed.zip: not a GTFS zip file"):
        load_feeds([tmp_path / "feed.zip"])
    with pytest.raises(FeedError, match=r"absent.zip: no such file"):
        load_feeds([tmp_path / "absent.zip"])


def test_problems_are_collected_and_capped(tmp_path: Path) -> None:
    rows = [*STOP_TIMES, *((f"T{n}", "A", "07:00:00", None) for n in range(100, 130))]
    with pytest.raises(FeedError) as caught:
        load_feeds([small_feed(tmp_path / "lausitz.zip", stop_times=rows)])
    assert caught.value.count == 30 and len(caught.value.problems) == 20
    text = str(caught.value)
    assert text.startswith("GTFS feed rejected, 30 problems:") and text.endswith("… and 10 more")
    assert "stop_times.txt:10: unknown trip_id 'T100'" in text


def test_a_rejected_route_does_not_drown_the_report_in_follow_up_errors(tmp_path: Path) -> None:
    routes: list[Row] = [("R1", "160", "bus"), ROUTES[1]]
    with pytest.raises(FeedError) as caught:
        load_feeds([small_feed(tmp_path / "lausitz.zip", routes=routes)])
    assert caught.value.problems == ["lausitz.zip/routes.txt:2: route 'R1': route_type 'bus' is not a number"]


def test_times() -> None:
    assert parse_time("07:05:09") == 25509 and parse_time("7:05:09") == 25509 and parse_time(" 25:10:00") == 90600
    assert [parse_time(t) for t in ("7:5:00", "07:60:00", "07:00", "x", "-1:00:00")] == [None] * 5


def test_progress_is_reported_per_file_and_every_so_many_rows(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int, int]] = []
    load_feeds([small_feed(tmp_path / "lausitz.zip")], progress=lambda *call: calls.append(call))
    assert ("lausitz.zip/stop_times.txt", 8, 8) in calls and ("lausitz.zip/stops.txt", 9, 9) in calls
    assert calls[-1][0] == "transfers"
    monkeypatch.setattr(gtfs, "PROGRESS_EVERY", 3)
    calls.clear()
    load_feeds([small_feed(tmp_path / "lausitz.zip")], progress=lambda *call: calls.append(call))
    assert [c for c in calls if c[0].endswith("stop_times.txt")] == [
        ("lausitz.zip/stop_times.txt", 3, 8), ("lausitz.zip/stop_times.txt", 6, 8), ("lausitz.zip/stop_times.txt", 8, 8)]


def test_the_network_file_round_trip(tmp_path: Path) -> None:
    network = load_feeds([small_feed(tmp_path / "north.zip", feed_info={"feed_publisher_name": "N",
                                                                        "feed_publisher_url": "https://n.example",
                                                                        "feed_lang": "de"}),
                          small_feed(tmp_path / "south.zip")], licences={"south": "CC BY 4.0"})
    target = tmp_path / "data" / "transit.network"
    save_network(network, target)
    assert load_network(target) == network
    assert sorted(p.name for p in target.parent.iterdir()) == ["transit.network"]  # no temporary file left
    network.transfers.append(Transfer(0, 1, 999))
    save_network(network, target)  # replaces the file
    assert load_network(target).transfers[-1] == Transfer(0, 1, 999)


def test_a_network_file_of_another_version_or_not_ours_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "transit.network"
    save_network(load_feeds([small_feed(tmp_path / "lausitz.zip")]), target)
    with zipfile.ZipFile(target) as src:
        members = {name: src.read(name) for name in src.namelist()}
    header = json.loads(members["header.json"])
    header["version"] = 99
    members["header.json"] = json.dumps(header).encode()
    with zipfile.ZipFile(tmp_path / "old.network", "w") as out:
        for name, data in members.items():
            out.writestr(name, data)
    with pytest.raises(NetworkFileError, match="format version 99, this version of the bot reads version 1"):
        load_network(tmp_path / "old.network")
    with pytest.raises(NetworkFileError, match="not a stored transit network"):
        load_network(tmp_path / "lausitz.zip")
    (tmp_path / "junk.network").write_bytes(b"junk")
    with pytest.raises(NetworkFileError, match="damaged or not a stored transit network"):
        load_network(tmp_path / "junk.network")


def test_a_generated_regional_feed_loads(tmp_path: Path) -> None:
    made = generate_feed(tmp_path / "region.zip", stops=500, trips=2000, seed=3)
    network = load_feeds([made.path])
    assert (len(network.stops), len(network.trips), len(network.stop_times)) == (500, 2000, made.stop_times)
    assert {t.route_type for t in network.trips} == {2, 3}
    lengths = [0] * len(network.trips)
    for trip in network.stop_times.trip:
        lengths[trip] += 1
    assert max(lengths) <= 25 and sum(n >= 8 for n in lengths) > 0.9 * len(lengths)
    assert min(network.stop_times.departure) >= 4 * 3600 + 30 * 60
    assert {s.gtfs_id.split(":")[1] for s in network.services} == {"WD", "SA", "DAILY"}
    assert network.transfers  # towns' stops lie close together
    again = generate_feed(tmp_path / "again.zip", stops=500, trips=2000, seed=3)
    assert load_feeds([again.path]).stop_times == network.stop_times  # deterministic


def test_every_feeds_problems_come_in_one_report(tmp_path: Path) -> None:
    (tmp_path / "first.zip").write_text("not a zip")
    second = small_feed(tmp_path / "second.zip", trips=[*TRIPS, ("R9", "WD", "T4")])
    with pytest.raises(FeedError) as caught:
        load_feeds([tmp_path / "first.zip", second])
    assert caught.value.count == 2
    assert "first.zip: not a GTFS zip file" in str(caught.value)
    assert "second.zip/trips.txt:5: trip 'T4': unknown route_id 'R9'" in str(caught.value)


def test_a_damaged_zip_member_is_a_feed_error(tmp_path: Path) -> None:
    path = small_feed(tmp_path / "lausitz.zip")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("stop_times.txt")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode())
    for k in range(start + 2, start + info.compress_size - 2):
        data[k] ^= 0x55
    path.write_bytes(bytes(data))
    with pytest.raises(FeedError, match="lausitz.zip/stop_times.txt"):
        load_feeds([path])
