"""Button payloads: what a flow packs it reads back; what does not fit its table means nothing."""
from __future__ import annotations

import pytest

from flows.core.payloads import ALL, COMPANIES, LEADS, MAX_BYTES, ONBOARDING, PayloadError, Press
from tests.unit.harness import Harness


def test_a_packed_payload_reads_back_as_the_same_press() -> None:
    assert COMPANIES.pack("l", "tab-mint", 5) == "co:l:tab-mint:5"
    assert COMPANIES.unpack("co:l:tab-mint:5") == Press("l", ("tab-mint", "5"))
    assert LEADS.unpack(LEADS.pack("x")) == Press("x", ())


def test_a_button_from_before_the_codec_still_works() -> None:
    assert LEADS.unpack("ld:x:") == Press("x", ())  # trailing separator of the old payloads
    assert COMPANIES.unpack("co:l:tab-mint") == Press("l", ("tab-mint", ""))  # missing argument: ""


@pytest.mark.parametrize("data", [
    "co:zz:1",              # unknown action
    "co:s:a:b",             # more arguments than the action takes
    "ld:v:x",               # another flow's prefix
    None,
    "co:s:" + "a" * 70,     # longer than Telegram allows: nobody could have been shown it
])
def test_what_does_not_fit_the_table_is_no_press(data: str | None) -> None:
    assert COMPANIES.unpack(data) is None


def test_building_a_button_that_would_not_read_back_fails_loudly() -> None:
    with pytest.raises(PayloadError):
        LEADS.pack("v", "a" * MAX_BYTES)  # over 64 bytes
    with pytest.raises(PayloadError):
        LEADS.pack("v", "a:b")  # the separator inside an argument
    with pytest.raises(PayloadError):
        LEADS.pack("v")  # an argument missing
    with pytest.raises(PayloadError):
        ONBOARDING.pack("nickname", "x")  # not a question of onboarding


def test_every_flow_has_its_own_prefix() -> None:
    prefixes = [codec.prefix for codec in ALL]
    assert len(prefixes) == len(set(prefixes))


def test_number_reads_only_plain_digits() -> None:
    press = Press("n", ("12", "-1", "²", ""))
    assert [press.number(i) for i in range(5)] == [12, None, None, None, None]


async def test_a_forged_press_with_an_extra_part_is_not_understood() -> None:
    h = Harness()
    await h.command("start")
    assert await h.forge("ob:role:teen:extra") == ["fallback.stale_button", "onboarding.ask_role"]
    assert h.profile.role is None
