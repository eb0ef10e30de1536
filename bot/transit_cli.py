"""`lotse transit load FEED.zip [FEED2.zip …] [--licence FEED=TEXT]` and `lotse transit info`: the operators'
GTFS feeds read, checked and kept as one network file (TRANSIT_FILE) for the journey planner (issue 16)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bot.settings import Settings
from flows.domain.transit_network import FeedInfo

EXIT_FAILED = 1
EXIT_USAGE = 2


def transit_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "info":
        return _info(settings.transit_file)
    return _load(settings.transit_file, list(args.feeds), list(args.licence or []))


def _licences(pairs: list[str]) -> dict[str, str] | None:
    licences: dict[str, str] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip() or not text.strip():
            return None
        licences[name.strip()] = text.strip()
    return licences


def _load(target: Path, feeds: list[Path], licence_pairs: list[str]) -> int:
    from tqdm import tqdm

    from transit import FeedError, load_feeds, save_network

    licences = _licences(licence_pairs)
    if licences is None:
        print("--licence takes FEED=TEXT, e.g. --licence vbb='CC BY 4.0, VBB Verkehrsverbund Berlin-Brandenburg'",
              file=sys.stderr)
        return EXIT_USAGE
    missing = [str(f) for f in feeds if not f.is_file()]
    if missing:
        print(f"no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    bar = tqdm(total=0, unit=" Zeilen", file=sys.stderr, dynamic_ncols=True, disable=not sys.stderr.isatty())
    shown: set[str] = set()

    def progress(label: str, done: int, total: int) -> None:
        if bar.disable:  # not a terminal: a line per file
            if label not in shown and (total == 0 or done >= total):
                shown.add(label)
                print(f"{label}: {done:,} Zeilen", file=sys.stderr, flush=True)
            return
        bar.set_description_str(label[:50])
        if total and bar.total != total:
            bar.reset(total=total)
        bar.n = done
        bar.refresh()

    started = time.perf_counter()
    try:
        network = load_feeds(feeds, progress, licences=licences)
    except FeedError as error:
        bar.close()
        print(str(error), file=sys.stderr)
        print(f"nothing written; {target} is unchanged", file=sys.stderr)
        return EXIT_FAILED
    bar.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    save_network(network, target)
    print(f"{len(network.feeds)} feeds, {len(network.stops):,} stops, {len(network.trips):,} trips, "
          f"{len(network.stop_times):,} stop times, {len(network.transfers):,} transfers "
          f"in {time.perf_counter() - started:.1f} s – written to {target}")
    _feeds(network.feeds)
    return 0


def _info(target: Path) -> int:
    from transit import NetworkFileError, load_network

    try:
        network = load_network(target)
    except FileNotFoundError:
        print(f"no network loaded ({target}): lotse transit load FEED.zip")
        return EXIT_FAILED
    except NetworkFileError as error:
        print(f"{target}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{target}: {len(network.stops):,} stops, {len(network.trips):,} trips, "
          f"{len(network.stop_times):,} stop times, {len(network.transfers):,} transfers")
    _feeds(network.feeds)
    return 0


def _feeds(feeds: list[FeedInfo]) -> None:
    for feed in feeds:
        valid = f"{feed.valid_from or '?'} – {feed.valid_to or '?'}"
        print(f"  {feed.name}: {feed.publisher or 'publisher unknown'}, valid {valid}, "
              f"licence: {feed.licence or 'not stated (give it with --licence)'}")
