"""Public transport (issue 16): operators' GTFS feeds read into a `TransitNetwork` (gtfs.py) and kept as a
compact file beside the database (store.py). Standard library only: csv and zipfile, no pandas."""
from __future__ import annotations

from .gtfs import FeedError, load_feeds
from .store import FORMAT_VERSION, NetworkFileError, load_network, save_network

__all__ = ["FORMAT_VERSION", "FeedError", "NetworkFileError", "load_feeds", "load_network", "save_network"]
