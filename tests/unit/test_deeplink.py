from __future__ import annotations

import pytest

from flows.domain.deeplink import DeepLink, make_payload, parse_payload


@pytest.mark.parametrize("payload,expected", [
    ("zukunftsmacher", DeepLink("zukunftsmacher", None)),
    ("tab-mint_mint-mobil-leuna", DeepLink("tab-mint", "mint-mobil-leuna")),
    ("_plakat-goerlitz", DeepLink(None, "plakat-goerlitz")),
    ("Lausitz-Cares_Stand", DeepLink("lausitz-cares", "stand")),
    ("", DeepLink()), (None, DeepLink()), ("a" * 65, DeepLink()), ("<script>", DeepLink()),
    ("x_--", DeepLink("x", None)),
])
def test_payloads_are_parsed_or_ignored(payload: str | None, expected: DeepLink) -> None:
    assert parse_payload(payload) == expected


def test_make_payload_round_trips_and_refuses_what_telegram_refuses() -> None:
    assert parse_payload(make_payload("zukunftsmacher", "loebau-stand")) == DeepLink("zukunftsmacher", "loebau-stand")
    with pytest.raises(ValueError):
        make_payload("x" * 40, "y" * 40)
