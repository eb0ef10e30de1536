"""The network as one compact file beside the database (issue 16), read by the bot at start.

A zip (deflated) holding `header.json` (format name and version, byte order, counts, feeds, stops,
routes, services) and the integer columns as raw `array('i')` bytes, little-endian, 4 bytes each:
trips' service and route, the four stop_times columns, the three transfer columns. A file of another
format version is refused with a clear error: load the feeds again. Writing is atomic: a temporary file
in the same folder, then `os.replace`, so the bot never reads half a file.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import zipfile
from array import array
from datetime import date
from pathlib import Path
from typing import Any

from flows.domain.transit_network import (
    FeedInfo,
    Service,
    StopTimes,
    Transfer,
    TransitNetwork,
    TransitStop,
    TransitTrip,
)

FORMAT = "azubi-lotse-transit-network"
FORMAT_VERSION = 1
HEADER = "header.json"
COLUMNS = ("trips.service", "trips.route", "stop_times.trip", "stop_times.stop", "stop_times.arrival",
           "stop_times.departure", "transfers.from", "transfers.to", "transfers.seconds")


class NetworkFileError(Exception):
    """The stored network cannot be read (another format version, damaged, not ours)."""


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _undate(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _bytes(values: array[int]) -> bytes:
    if values.itemsize != 4:  # pragma: no cover - 'i' is 4 bytes on every platform Python runs on today
        raise NetworkFileError(f"array('i') has {values.itemsize} bytes per item here, the file needs 4")
    if sys.byteorder == "little":
        return values.tobytes()
    swapped = array("i", values)  # pragma: no cover - big-endian machines
    swapped.byteswap()
    return swapped.tobytes()


def _array(data: bytes, name: str) -> array[int]:
    values = array("i")
    if len(data) % 4:
        raise NetworkFileError(f"{name}: {len(data)} bytes is not a whole number of 4-byte integers")
    values.frombytes(data)
    if sys.byteorder != "little":  # pragma: no cover - big-endian machines
        values.byteswap()
    return values


def save_network(network: TransitNetwork, path: Path) -> None:
    routes: dict[tuple[str, int], int] = {}
    trip_route = array("i", (routes.setdefault((t.route_name, t.route_type), len(routes)) for t in network.trips))
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "byteorder": "little",
        "itemsize": 4,
        "feeds": [{"name": f.name, "publisher": f.publisher, "url": f.url, "licence": f.licence,
                   "version": f.version, "valid_from": _day(f.valid_from), "valid_to": _day(f.valid_to),
                   "agencies": list(f.agencies)} for f in network.feeds],
        "stops": {"ids": [s.gtfs_id for s in network.stops], "names": [s.name for s in network.stops],
                  "lat": [s.lat for s in network.stops], "lon": [s.lon for s in network.stops]},
        "routes": [[name, kind] for name, kind in routes],
        "services": [{"id": s.gtfs_id, "weekdays": "".join("1" if d else "0" for d in s.weekdays),
                      "start": _day(s.start), "end": _day(s.end),
                      "added": sorted(d.isoformat() for d in s.added),
                      "removed": sorted(d.isoformat() for d in s.removed)} for s in network.services],
        "counts": {"stops": len(network.stops), "trips": len(network.trips), "services": len(network.services),
                   "stop_times": len(network.stop_times), "transfers": len(network.transfers)},
    }
    st = network.stop_times
    columns = {
        "trips.service": array("i", (t.service for t in network.trips)),
        "trips.route": trip_route,
        "stop_times.trip": st.trip, "stop_times.stop": st.stop,
        "stop_times.arrival": st.arrival, "stop_times.departure": st.departure,
        "transfers.from": array("i", (t.from_stop for t in network.transfers)),
        "transfers.to": array("i", (t.to_stop for t in network.transfers)),
        "transfers.seconds": array("i", (t.seconds for t in network.transfers)),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as out:
                out.writestr(HEADER, json.dumps(header, ensure_ascii=False, separators=(",", ":")))
                for name in COLUMNS:
                    out.writestr(f"{name}.i32le", _bytes(columns[name]))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def load_network(path: Path) -> TransitNetwork:
    """The network stored by save_network. FileNotFoundError if there is none; NetworkFileError if the file
    is of another format version or damaged."""
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                header = json.loads(archive.read(HEADER))
            except KeyError:
                raise NetworkFileError(f"{path}: not a stored transit network (no {HEADER})") from None
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise NetworkFileError(f"{path}: not a stored transit network")
            if header.get("version") != FORMAT_VERSION:
                raise NetworkFileError(
                    f"{path}: stored in format version {header.get('version')}, this version of the bot reads "
                    f"version {FORMAT_VERSION}: load the GTFS feeds again (lotse transit load FEED.zip …)")
            columns = {name: _array(archive.read(f"{name}.i32le"), name) for name in COLUMNS}
            return _network(path, header, columns)
    except zipfile.BadZipFile as e:
        raise NetworkFileError(f"{path}: damaged or not a stored transit network ({e})") from None
    except (KeyError, ValueError, TypeError, IndexError) as e:
        raise NetworkFileError(f"{path}: damaged ({type(e).__name__}: {e})") from None


def _network(path: Path, header: dict[str, Any], columns: dict[str, array[int]]) -> TransitNetwork:
    stops_part = header["stops"]
    stops = [TransitStop(i, n, float(la), float(lo))
             for i, n, la, lo in zip(stops_part["ids"], stops_part["names"], stops_part["lat"], stops_part["lon"])]
    routes = [(str(name), int(kind)) for name, kind in header["routes"]]
    trips = [TransitTrip(service, *routes[route])
             for service, route in zip(columns["trips.service"], columns["trips.route"])]
    services = []
    for s in header["services"]:
        on = [c == "1" for c in s["weekdays"]]
        services.append(Service(s["id"], (on[0], on[1], on[2], on[3], on[4], on[5], on[6]),
                                _undate(s["start"]), _undate(s["end"]),
                                frozenset(date.fromisoformat(d) for d in s["added"]),
                                frozenset(date.fromisoformat(d) for d in s["removed"])))
    stop_times = StopTimes(columns["stop_times.trip"], columns["stop_times.stop"], columns["stop_times.arrival"],
                           columns["stop_times.departure"])
    transfers = [Transfer(a, b, s) for a, b, s in
                 zip(columns["transfers.from"], columns["transfers.to"], columns["transfers.seconds"])]
    feeds = [FeedInfo(f["name"], f["publisher"], f["url"], f["licence"], f["version"], _undate(f["valid_from"]),
                      _undate(f["valid_to"]), tuple(f.get("agencies", ()))) for f in header["feeds"]]
    counts = header["counts"]
    lengths = {"stops": len(stops), "trips": len(trips), "services": len(services),
               "stop_times": len(stop_times), "transfers": len(transfers)}
    st_lengths = {len(c) for c in (stop_times.trip, stop_times.stop, stop_times.arrival, stop_times.departure)}
    if lengths != counts or len(st_lengths) != 1 or len(columns["trips.route"]) != len(columns["trips.service"]):
        raise NetworkFileError(f"{path}: damaged: counts {counts} do not match the contents {lengths}")
    return TransitNetwork(stops, trips, services, stop_times, transfers, feeds)
