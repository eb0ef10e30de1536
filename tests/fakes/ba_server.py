"""A fake of the Bundesagentur für Arbeit's job search (Jobsuche) on 127.0.0.1, for the real client.

Written from the published description (bundesAPI/jobsuche-api and the 2026 move to v6), not from
our client: ``GET /pc/v4/jobs`` answers in the v4 shape (``stellenangebote``, ``refnr``, ``titel``,
``arbeitgeber``, ``arbeitsort`` with ``koordinaten.lat/lon``, ``maxErgebnisse`` as a string, the list
left out when nothing matches), ``GET /pc/v6/jobs`` in the v6 shape (``ergebnisliste``,
``referenznummer``, ``stellenangebotsTitel``, ``firma``, ``hauptberuf``/``alleBerufe``,
``stellenlokationen[].adresse`` and ``koordinaten.breite/laenge``, ``maxErgebnisse`` as a number).
Both also answer under the real path prefix ``/jobboerse/jobsuche-service``. Without the header
``X-API-Key: jobboerse-jobsuche``: 401.

Search: ``angebotsart`` (4 Ausbildung, 34 Praktikum) picks the kind; ``was`` matches when its
casefolded text (without "/in") is part of the profession or the title; ``wo`` + ``umkreis`` keep the
listings within that many km (haversine) of the town in ``server.towns`` (an unknown town: nothing,
as at the BA); ``berufsfeld`` keeps listings of that field. Order: by ref. Paging: ``page`` from 1,
``size`` capped at 100, page*size > 10,000 → 400.

Faults, one per request from the queue ``server.script`` (then normal): ``rate_limited(...)``,
``server_error(...)``, ``malformed()``, ``slow(...)``, ``renamed()``, ``rejected(...)``. The mode
``server.endless = True`` plays a page that never ends: every page number (no cap) answers the same
full page of 100 with maxErgebnisse 1,000,000. Every request is recorded in ``server.requests``.
Runs in the test's loop (``async with``) or in a thread (``with``).
"""
from __future__ import annotations

import asyncio
import math
import random
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal, Self

from aiohttp import web

from tests.fakes.threaded import LocalHttpServer

API_KEY = "jobboerse-jobsuche"
PREFIX = "/jobboerse/jobsuche-service"
MAX_SIZE = 100
MAX_RESULTS = 10_000  # page*size beyond this: 400
EARTH_RADIUS_KM = 6371.0088
Json = dict[str, Any]
Kind = Literal["ausbildung", "praktikum"]
KINDS: dict[str, Kind] = {"4": "ausbildung", "34": "praktikum"}

DEFAULT_TOWNS: dict[str, tuple[float, float]] = {
    "Cottbus": (51.7563, 14.3329), "Halle (Saale)": (51.4969, 11.9688), "Leipzig": (51.3397, 12.3731),
    "Görlitz": (51.1526, 14.9873), "Hoyerswerda": (51.4380, 14.2350), "Weißwasser": (51.5050, 14.6386),
    "Spremberg": (51.5717, 14.3794), "Senftenberg": (51.5252, 14.0016), "Zeitz": (51.0478, 12.1383),
    "Bautzen": (51.1814, 14.4238), "Merseburg": (51.3544, 11.9928), "Borna": (51.1244, 12.4967),
}


@dataclass
class FakeListing:
    """One offer the fake knows, in neutral terms; rendered in the v4 or v6 shape per request."""

    ref: str
    title: str
    employer: str
    beruf: str
    kind: Kind
    plz: str | int | None  # an int is sent as a JSON number (the leading zero lost, as the BA does)
    place: str | None
    lat: float
    lon: float
    start: date | None = None
    published: date | None = None
    external_url: str | None = None
    raw_extra: dict[str, Any] = field(default_factory=dict)  # merged into the JSON item
    raw_drop: tuple[str, ...] = ()  # keys removed from the JSON item
    berufsfeld: str | None = None
    region: str = "Sachsen"

    def v4(self) -> Json:
        location: Json = {"plz": self.plz, "ort": self.place, "region": self.region, "land": "Deutschland",
                          "koordinaten": {"lat": self.lat, "lon": self.lon}}
        item: Json = {
            "beruf": self.beruf, "titel": self.title, "refnr": self.ref,
            "arbeitsort": {k: v for k, v in location.items() if v is not None},
            "arbeitgeber": self.employer,
            "aktuelleVeroeffentlichungsdatum": _iso(self.published),
            "eintrittsdatum": _iso(self.start),
            "modifikationsTimestamp": f"{_iso(self.published)}T10:11:12.123" if self.published else None,
            "externeUrl": self.external_url,
        }
        return self._finish(item)

    def v6(self) -> Json:
        address: Json = {"plz": self.plz, "ort": self.place, "region": self.region, "land": "Deutschland"}
        item: Json = {
            "referenznummer": self.ref, "stellenangebotsTitel": self.title, "firma": self.employer,
            "hauptberuf": self.beruf, "alleBerufe": [self.beruf], "berufsfeld": self.berufsfeld,
            "eintrittsdatum": _iso(self.start),
            "datumErsteVeroeffentlichung": _iso(self.published),
            "aenderungsdatum": f"{_iso(self.published)}T10:11:12.123" if self.published else None,
            "stellenlokationen": [{"adresse": {k: v for k, v in address.items() if v is not None},
                                   "koordinaten": {"breite": self.lat, "laenge": self.lon}}],
            "externeURL": self.external_url,
        }
        return self._finish(item)

    def _finish(self, item: Json) -> Json:
        item = {k: v for k, v in item.items() if v is not None}
        item.update(self.raw_extra)
        for key in self.raw_drop:
            item.pop(key, None)
        return item


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


@dataclass(frozen=True)
class BaRequest:
    """One request as the server got it."""

    path: str
    params: dict[str, str]
    headers: dict[str, str]

    @property
    def page(self) -> int | None:
        return _int(self.params.get("page"))

    @property
    def size(self) -> int | None:
        return _int(self.params.get("size"))


@dataclass(frozen=True)
class Behaviour:
    """What the fake does with one request instead of (or before) answering normally."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    raw: str | None = None  # a body that is not JSON at all
    body: Json | None = None  # a JSON body of its own
    renamed: bool = False  # the normal answer, but the list under an unknown key

    @property
    def normal(self) -> bool:
        return self.status == 200 and self.raw is None and self.body is None and not self.renamed


def rate_limited(retry_after: float | str | None = 1.0) -> Behaviour:
    """429; Retry-After in seconds (or a ready header value such as an HTTP date), None: no header."""
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["Retry-After"] = retry_after if isinstance(retry_after, str) else (
            str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after))
    return Behaviour(status=429, headers=headers, body={"code": 429, "message": "Too Many Requests"})


def server_error(status: int = 503) -> Behaviour:
    return Behaviour(status=status, raw="<html><body><h1>503 Service Unavailable</h1></body></html>")


def rejected(status: int = 400) -> Behaviour:
    return Behaviour(status=status, body={"code": status, "message": "EINGABEPARAMETER_FEHLERHAFT"})


def malformed() -> Behaviour:
    """200 with a maintenance page instead of JSON."""
    return Behaviour(raw="<html><head><title>Wartungsarbeiten</title></head><body>Die Jobsuche ist "
                         "vorübergehend nicht erreichbar.</body></html>")


def slow(seconds: float) -> Behaviour:
    """Wait, then answer normally."""
    return Behaviour(delay=seconds)


def renamed() -> Behaviour:
    """The interface changed again: the list under "jobs", the total under "treffer"."""
    return Behaviour(renamed=True)


class FakeJobBoard(LocalHttpServer):
    def __init__(self, listings: list[FakeListing] | None = None,
                 towns: dict[str, tuple[float, float]] | None = None, api_key: str = API_KEY) -> None:
        self.listings: list[FakeListing] = list(listings or [])
        self.towns: dict[str, tuple[float, float]] = dict(DEFAULT_TOWNS if towns is None else towns)
        self.api_key = api_key
        self.script: list[Behaviour] = []
        self.requests: list[BaRequest] = []
        self.endless = False
        self._lock = threading.Lock()
        self._closing = asyncio.Event()

    @property
    def url_v4(self) -> str:
        return f"http://127.0.0.1:{self.port}/pc/v4/jobs"

    @property
    def url_v6(self) -> str:
        return f"http://127.0.0.1:{self.port}/pc/v6/jobs"

    def then(self, *behaviours: Behaviour) -> Self:
        """Queue behaviours for the next requests, in order."""
        with self._lock:
            self.script.extend(behaviours)
        return self

    def matching(self, params: dict[str, str]) -> list[FakeListing]:
        """The listings a search finds, by ref (what the server pages through)."""
        kind = KINDS.get(params.get("angebotsart", "").strip())
        was = params.get("was", "").casefold().replace("/in", "").strip()
        field_wanted = params.get("berufsfeld", "").casefold().strip()
        wo = params.get("wo", "").strip()
        centre: tuple[float, float] | None = None
        if wo:
            centre = self.towns.get(wo) or next(
                (xy for name, xy in self.towns.items() if name.casefold() == wo.casefold()), None)
            if centre is None:
                return []
        radius = _int(params.get("umkreis")) or 25
        with self._lock:
            listings = list(self.listings)
        found = []
        for listing in listings:
            if kind is not None and listing.kind != kind:
                continue
            if was and was not in listing.beruf.casefold().replace("/in", "") \
                    and was not in listing.title.casefold().replace("/in", ""):
                continue
            if field_wanted and (listing.berufsfeld or "").casefold() != field_wanted:
                continue
            if centre is not None and _distance_km(centre[0], centre[1], listing.lat, listing.lon) > radius:
                continue
            found.append(listing)
        return sorted(found, key=lambda listing: listing.ref)

    async def _jobs(self, request: web.Request) -> web.StreamResponse:
        shape = "v6" if "/v6/" in request.path else "v4"
        params = {key: request.query[key] for key in request.query}
        with self._lock:
            self.requests.append(BaRequest(request.path, params, dict(request.headers)))
        if request.headers.get("X-API-Key") != self.api_key:
            return web.json_response({"code": 401, "message": "Unauthorized"}, status=401)
        with self._lock:
            behaviour = self.script.pop(0) if self.script else Behaviour()
        if behaviour.delay:
            try:
                await asyncio.wait_for(self._closing.wait(), behaviour.delay)
            except TimeoutError:
                pass
        if behaviour.raw is not None:
            return web.Response(status=behaviour.status, text=behaviour.raw, content_type="text/html",
                                headers=behaviour.headers)
        if behaviour.body is not None:
            return web.json_response(behaviour.body, status=behaviour.status, headers=behaviour.headers)
        page, size = _int(params.get("page", "1")), _int(params.get("size", "25"))
        if page is None or size is None or page < 1 or size < 1 or _bad_kind(params):
            return _bad_request()
        size = min(size, MAX_SIZE)
        if self.endless:
            return web.json_response(self._envelope(shape, self._endless_items(shape), 1_000_000, page, size))
        if page * size > MAX_RESULTS:
            return _bad_request()
        found = self.matching(params)
        items = [getattr(listing, shape)() for listing in found[(page - 1) * size: page * size]]
        body = self._envelope(shape, items, len(found), page, size)
        if behaviour.renamed:
            body = {"jobs": items, "treffer": len(found), "seite": page}
        return web.json_response(body)

    def _endless_items(self, shape: str) -> list[Json]:
        return [getattr(FakeListing(
            ref=f"10000-{1_900_000_000 + i}-S", title=f"Ausbildung ohne Ende {i}", employer=f"Endlos GmbH {i}",
            beruf="Dachdecker/in", kind="ausbildung", plz="03046", place="Cottbus", lat=51.7563, lon=14.3329,
            start=date(2027, 8, 1), published=date(2026, 11, 20)), shape)() for i in range(MAX_SIZE)]

    @staticmethod
    def _envelope(shape: str, items: list[Json], total: int, page: int, size: int) -> Json:
        facets = {"arbeitsort": {"counts": {}, "maxCount": 0}, "beruf": {"counts": {}, "maxCount": 0}}
        if shape == "v6":
            return {"ergebnisliste": items, "maxErgebnisse": total, "page": page, "size": size, "facetten": facets}
        body: Json = {"maxErgebnisse": str(total), "page": str(page), "size": str(size), "facetten": facets}
        if total:
            body = {"stellenangebote": items, **body}  # the v4 interface leaves the list out when nothing matches
        return body

    def application(self) -> web.Application:
        app = web.Application()
        for prefix in ("", PREFIX):
            app.router.add_get(f"{prefix}/pc/v4/jobs", self._jobs)
            app.router.add_get(f"{prefix}/pc/v6/jobs", self._jobs)
        return app

    async def start(self) -> Self:
        self._closing = asyncio.Event()  # of the loop the server runs in
        return await super().start()

    async def stop(self) -> None:
        self._closing.set()  # slow answers end now
        await super().stop()


def _bad_kind(params: dict[str, str]) -> bool:
    """An angebotsart this fake does not know (it knows 4 and 34; none: every kind)."""
    value = params.get("angebotsart", "").strip()
    return bool(value) and value not in KINDS


def _bad_request() -> web.Response:
    return web.json_response({"code": 400, "message": "EINGABEPARAMETER_FEHLERHAFT"}, status=400)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


# ---- generated listings (benchmark) ------------------------------------------------------------------
_NAMES = ["Krause", "Schulze", "Lehmann", "Kowalski", "Richter", "Noack", "Kschischang", "Domaschke", "Bräuer",
          "Wünsche", "Hentschel", "Mrosk", "Lehnigk", "Zschornack", "Budich", "Pannasch", "Kaiser", "Starick"]
_TRADES = ["Bau", "Metallbau", "Elektro", "Haustechnik", "Holzbau", "Kfz-Service", "Logistik", "Pflege",
           "Gastronomie", "Energietechnik", "Dach & Wand", "Landtechnik", "Gartenbau", "Druck & Medien"]
_FORMS = ["GmbH", "GmbH & Co. KG", "e.K.", "KG", "AG", "OHG", "und Söhne", "Inh. M. Roick"]
_AUSBILDUNG_TITLES = ["Ausbildung {b} (m/w/d) {y}", "Ausbildung zum/zur {b} ab {y}", "{b} – Ausbildung {y}",
                      "Azubi {b} (m/w/d)", "Ausbildungsplatz {b} in {t}", "Duales Studium mit {b} {y}"]
_PRAKTIKUM_TITLES = ["Praktikum {b} (m/w/d)", "Schülerpraktikum {b} in {t}", "Ferienpraktikum {b} {y}",
                     "Schnupperpraktikum: {b}"]


def generate_listings(n: int, *, seed: int, towns: dict[str, tuple[float, float, str]],
                      professions: list[str]) -> list[FakeListing]:
    """`n` offers, the same for the same seed: varied employers and titles, both kinds (about one in five a
    Praktikum), places scattered within ~30 km of the towns given (name → (lat, lon, plz)), refs unique."""
    if not towns or not professions:
        raise ValueError("generate_listings needs towns and professions")
    rng = random.Random(seed)
    town_names = sorted(towns)
    employers = [f"{rng.choice(_NAMES)} {rng.choice(_TRADES)} {rng.choice(_FORMS)}"
                 for _ in range(max(1, n // 8))]
    listings: list[FakeListing] = []
    for i in range(n):
        town = town_names[i % len(town_names)]
        lat, lon, plz = towns[town]
        bearing = rng.uniform(0, 2 * math.pi)
        km = 30 * math.sqrt(rng.random())
        dlat = math.degrees(km * math.cos(bearing) / EARTH_RADIUS_KM)
        dlon = math.degrees(km * math.sin(bearing) / (EARTH_RADIUS_KM * math.cos(math.radians(lat))))
        beruf = professions[rng.randrange(len(professions))]
        kind: Kind = "praktikum" if rng.random() < 0.2 else "ausbildung"
        year = rng.choice([2026, 2027])
        pattern = rng.choice(_PRAKTIKUM_TITLES if kind == "praktikum" else _AUSBILDUNG_TITLES)
        employer = employers[rng.randrange(len(employers))]
        ref = f"{10000 + i % 97}-{1_100_000_000 + i}-S"
        listings.append(FakeListing(
            ref=ref, title=pattern.format(b=beruf, y=year, t=town), employer=employer, beruf=beruf, kind=kind,
            plz=plz, place=town, lat=round(lat + dlat, 6), lon=round(lon + dlon, 6),
            start=date(year, rng.choice([8, 9]), 1) if kind == "ausbildung" else None,
            published=date(2026, 9, 1) + timedelta(days=rng.randrange(120)),
            external_url=f"https://karriere.example.de/{i}" if rng.random() < 0.3 else None))
    return listings
