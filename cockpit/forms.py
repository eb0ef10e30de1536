"""Reading HTML form fields: typed values or a short error code per field (the page words it)."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiohttp.web_request import FileField
from multidict import MultiDictProxy

Form = MultiDictProxy[str | bytes | bytearray | FileField]  # what aiohttp's request.post() gives

LOCAL_INPUT_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})")  # <input type="datetime-local">


def text(form: Form, name: str, limit: int = 5000) -> str:
    value = form.get(name)
    return value.replace("\r\n", "\n").strip()[:limit] if isinstance(value, str) else ""


def choices(form: Form, name: str, allowed: tuple[str, ...]) -> list[str]:
    """Checked boxes of one name, only known values, in the order of `allowed`."""
    given = {v for v in form.getall(name, []) if isinstance(v, str)}
    return [a for a in allowed if a in given]


def whole_number(form: Form, name: str, low: int, high: int) -> int | None:
    """None if empty; raises ValueError if it is no number in low..high."""
    value = text(form, name, 12)
    if not value:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise ValueError(name)
    return int(value)


def local_moment(value: str, zone: ZoneInfo) -> datetime | None:
    """'2026-12-10T09:00' as wall time in `zone` -> aware UTC; None if it is no such moment (also an hour
    skipped when the clocks go forward)."""
    match = LOCAL_INPUT_RE.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute = (int(g) for g in match.groups())
    try:
        naive = datetime(year, month, day, hour, minute)
    except ValueError:
        return None
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return aware.astimezone(UTC)
