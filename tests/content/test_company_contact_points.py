"""Companies' business contact points for leads: an e-mail address and a webhook URL, validated."""
from __future__ import annotations

from pathlib import Path

import pytest

from content import DEMO_DIR, default_directory, load_pack
from tests.content.test_content_broken_packs import COMPANY, entry, problems, write_pack


def test_a_company_may_have_an_address_and_a_webhook(tmp_path: Path) -> None:
    company = entry(COMPANY, email="ausbildung@muster-metall.example", webhook_url="https://hooks.example.org/lotse?x=1")
    pack = load_pack(write_pack(tmp_path, companies=[company]))
    assert pack.companies[0].email == "ausbildung@muster-metall.example"
    assert pack.companies[0].webhook_url == "https://hooks.example.org/lotse?x=1"


def test_both_are_optional(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path))
    assert (pack.companies[0].email, pack.companies[0].webhook_url) == (None, None)


@pytest.mark.parametrize("address", ["ausbildung", "a@b", "zwei worte@firma.de", "a..b@firma.de", "ä@firma.de",
                                     "a@firma.de, b@firma.de", "a@127.0.0.1", "<a@firma.de>"])
def test_a_broken_address_is_named(tmp_path: Path, address: str) -> None:
    found = problems(write_pack(tmp_path, companies=[entry(COMPANY, email=address)]))
    assert found == [f"companies.yaml: [0].email: is not an e-mail address like name@example.org: {address!r}"]


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://firma.de/hook", "is not an http:// or https:// URL with a host"),
    ("hooks.firma.de/lotse", "is not an http:// or https:// URL with a host"),
    ("https://", "is not an http:// or https:// URL with a host"),
    ("https://firma.de/a b", "is not an http:// or https:// URL with a host"),
    ("https://user:pass@firma.de/hook", "must not contain a user name, password or #fragment"),
    ("https://firma.de:99999/hook", "has an invalid port"),
])
def test_a_broken_webhook_url_is_named(tmp_path: Path, url: str, message: str) -> None:
    [found] = problems(write_pack(tmp_path, companies=[entry(COMPANY, webhook_url=url)]))
    assert found.startswith(f"companies.yaml: [0].webhook_url: {message}")


def test_demo_companies_use_the_reserved_example_domain() -> None:
    pack = load_pack(DEMO_DIR, default_directory())
    assert all(c.email == f"ausbildung@{c.slug}.example" for c in pack.companies)
    hooks = [c.webhook_url for c in pack.companies if c.webhook_url]
    assert 2 <= len(hooks) <= 3 and all(h.startswith("http://127.0.0.1:9/") for h in hooks)
