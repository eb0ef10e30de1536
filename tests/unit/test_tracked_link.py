"""Tracked links: readable unique sources from German labels, labels and bot usernames checked, and the
deep link's source recorded for someone new only (first link wins, per cluster)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.domain.deeplink import PART_RE, make_payload, parse_payload
from flows.domain.tracked_link import (
    LinkKind,
    TrackedLink,
    slugify,
    source_from_label,
    start_url,
    validate_label,
)
from tests.unit.harness import Harness


@pytest.mark.parametrize(("label", "source"), [
    ("Plakat Gymnasium Löbau", "plakat-gymnasium-loebau"),
    ("  Messestand „Karrieretag“ – Görlitz!  ", "messestand-karrieretag-goerlitz"),
    ("Straße: ÄÖÜ äöü ß ẞ", "strasse-aeoeue-aeoeue-ss-ss"),
    ("Café Crème / Zittau 2027", "cafe-creme-zittau-2027"),
    ("___Schule___am___See___", "schule-am-see"),
])
def test_source_is_a_readable_slug_of_the_label(label: str, source: str) -> None:
    assert source_from_label(label, set()) == source
    assert PART_RE.match(source)


def test_same_label_again_gets_a_number() -> None:
    taken = {"plakat", "plakat-2"}
    assert source_from_label("Plakat", taken) == "plakat-3"
    assert source_from_label("Plakat", {"plakat-2"}) == "plakat"


def test_a_label_without_latin_letters_still_gets_a_source() -> None:
    assert source_from_label("Привет 🎓", set()) == "link"
    assert source_from_label("!!!", {"link"}) == "link-2"


@pytest.mark.parametrize("cluster", ["zukunftsmacher", "a", "c" * 48])
def test_long_labels_are_cut_so_the_start_parameter_fits_telegrams_64_characters(cluster: str) -> None:
    label = "Berufsorientierungsmesse Landkreis Görlitz in der Stadthalle mit allen Betrieben der Region"
    taken: set[str] = set()
    for _ in range(12):
        source = source_from_label(label, taken, cluster)
        payload = make_payload(cluster, source)
        assert len(payload) <= 64 and PART_RE.match(source) and not source.endswith("-")
        assert parse_payload(payload).cluster == cluster and parse_payload(payload).source == source
        assert source not in taken
        taken.add(source)
    assert source_from_label(label, set(), "zukunftsmacher") == "berufsorientierungsmesse-landkreis"  # whole words


def test_a_bad_cluster_is_refused() -> None:
    with pytest.raises(ValueError, match="cluster"):
        source_from_label("Plakat", set(), "Zukunft_macher")


def test_slugify_keeps_digits_and_drops_everything_else() -> None:
    assert slugify("<script>alert(1)</script>") == "script-alert-1-script"
    assert slugify("   ") == ""


@pytest.mark.parametrize(("label", "reason"), [
    ("", "empty"), ("   \t ", "empty"), ("x" * 121, "too_long"), ("Plakat\x00", "control_character"),
    ("Plakat\nzwei Zeilen", "control_character"), ("Plakat\u202eevil", "control_character"),
    ("Plakat\u2028zwei", "control_character"),
])
def test_bad_labels_are_refused_with_a_reason(label: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"^{reason}$"):
        validate_label(label)


def test_good_labels_are_trimmed_and_kept() -> None:
    assert validate_label("  Plakat Gymnasium Löbau  ") == "Plakat Gymnasium Löbau"
    assert validate_label("x" * 120) == "x" * 120
    assert validate_label("Stand 🎓 <Messe> & \"Co\"") == "Stand 🎓 <Messe> & \"Co\""  # escaping is the page's job
    assert validate_label("Lo\u0308bau") == "Löbau"  # one way to write an umlaut (NFC)


def test_start_url_is_a_t_me_link_the_bot_reads_back() -> None:
    url = start_url("azubi_lotse_bot", "zukunftsmacher", "plakat-gymnasium-loebau")
    assert url == "https://t.me/azubi_lotse_bot?start=zukunftsmacher_plakat-gymnasium-loebau"
    assert start_url("@Azubi_Lotse_Bot", "zukunftsmacher") == "https://t.me/Azubi_Lotse_Bot?start=zukunftsmacher"
    payload = url.partition("?start=")[2]
    assert parse_payload(payload).source == "plakat-gymnasium-loebau"


@pytest.mark.parametrize(("bot", "cluster", "source", "reason"), [
    ("bot", "zukunftsmacher", "plakat", "bot_username"),  # under 5 characters
    ("b" * 33, "zukunftsmacher", "plakat", "bot_username"),
    ("evil.example/x#", "zukunftsmacher", "plakat", "bot_username"),
    ("azubi-lotse-bot", "zukunftsmacher", "plakat", "bot_username"),
    ("azubi_lotse_bot", "Zukunftsmacher", "plakat", "cluster"),
    ("azubi_lotse_bot", "zukunft_macher", "plakat", "cluster"),
    ("azubi_lotse_bot", "zukunftsmacher", "plakat&x=1", "source"),
    ("azubi_lotse_bot", "c" * 48, "s" * 20, "payload"),  # over 64 characters together
])
def test_start_url_refuses_what_would_not_work(bot: str, cluster: str, source: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        start_url(bot, cluster, source)


def test_tracked_link_knows_its_payload_and_whether_it_is_archived() -> None:
    at = datetime(2027, 3, 1, 9, tzinfo=UTC)
    link = TrackedLink(id=1, cluster="zukunftsmacher", source="plakat", kind=LinkKind("poster"), label="Plakat",
                       target=None, created_by="telegram:1", created_at=at)
    assert link.payload == "zukunftsmacher_plakat" and not link.archived
    assert [k.value for k in LinkKind] == ["event", "stand", "poster", "school", "other"]


# ---- the deep link records where someone new came from ---------------------------------------------------

async def test_a_new_users_link_records_cluster_and_source_and_a_later_one_does_not_overwrite() -> None:
    h = Harness()
    await h.command("start", "zukunftsmacher_plakat-gymnasium-loebau")
    assert (h.profile.cluster, h.profile.source) == ("zukunftsmacher", "plakat-gymnasium-loebau")
    await h.command("start", "zukunftsmacher_messestand")  # a second poster of the same cluster, still new
    assert h.profile.source == "plakat-gymnasium-loebau"
    await h.press("ob:role:skip")
    await h.press("ob:place:skip")
    await h.command("start", "lausitz-cares_messestand")  # onboarded: neither moved nor re-attributed
    assert (h.profile.cluster, h.profile.source) == ("zukunftsmacher", "plakat-gymnasium-loebau")


async def test_a_link_of_another_cluster_before_onboarding_takes_its_own_source_along() -> None:
    """The cluster follows the last link until onboarding is done; the source must name a link of that
    cluster, not the other cluster's poster (it would be counted for a poster that does not exist there)."""
    h = Harness()
    await h.command("start", "lausitz-cares_karrieretage-stand")
    await h.command("start", "zukunftsmacher_plakat-gymnasium-loebau")
    assert (h.profile.cluster, h.profile.source) == ("zukunftsmacher", "plakat-gymnasium-loebau")
    other = Harness(chat_id=7)
    await other.command("start", "lausitz-cares_karrieretage-stand")
    await other.command("start", "zukunftsmacher")  # the other cluster's general link: no source of its own
    assert (other.profile.cluster, other.profile.source) == ("zukunftsmacher", None)


async def test_someone_already_onboarded_is_not_counted_for_a_poster_they_scan_later() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:skip")
    await h.press("ob:place:skip")
    assert await h.command("start", "zukunftsmacher_plakat-gymnasium-loebau") == \
        ["onboarding.welcome_back", "menu.main"]
    assert h.profile.cluster == "zukunftsmacher" and h.profile.source is None


async def test_a_link_of_an_unknown_cluster_attributes_nothing_but_a_source_only_link_does() -> None:
    h = Harness()
    await h.command("start", "gibtsnicht_plakat")
    assert (h.profile.cluster, h.profile.source) == (None, None)
    await h.command("start", "_plakat-goerlitz")  # `lotse link --source` without a cluster
    assert h.profile.source == "plakat-goerlitz"
    await h.command("start", "zukunftsmacher_messe")  # the first cluster: the source stays the first one
    assert (h.profile.cluster, h.profile.source) == ("zukunftsmacher", "plakat-goerlitz")
