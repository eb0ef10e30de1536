"""Content pack (clusters, professions, companies, vacancies, events) and postal-code directory."""
from __future__ import annotations

from pathlib import Path

from content.loader import Pack, PackError, Problem, load_pack
from content.postcodes import PostcodeDirectory, default_directory
from content.schema import Cluster, Company, Event, Profession, Vacancy

DEMO_DIR: Path = Path(__file__).resolve().parent / "demo"

__all__ = [
    "DEMO_DIR",
    "Cluster",
    "Company",
    "Event",
    "Pack",
    "PackError",
    "PostcodeDirectory",
    "Problem",
    "Profession",
    "Vacancy",
    "default_directory",
    "load_pack",
]
