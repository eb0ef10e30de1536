"""faq.yaml: the demo FAQ is valid and agrees with the rest of the pack; broken entries are reported
in the documented `file: [i].path: message` form; the FAQ goes into the database and back out."""
from __future__ import annotations

import copy
import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from content import DEMO_DIR, Pack, PackError, load_pack
from content.loader import FILES
from content.schema import BBIG_MINIMUM_PAY, FAQ_ANSWER_MAX, Faq
from storage.content_export import export_pack
from storage.content_sync import sync_pack
from storage.tables import FaqRow
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock


@pytest.fixture(scope="module")
def pack() -> Pack:
    return load_pack(DEMO_DIR)


ENTRY: dict[str, Any] = {
    "slug": "probezeit-test",
    "question": "Wie lange dauert die Probezeit?",
    "variants": ["Probezeit Ausbildung"],
    "answer_du": "Ein bis vier Monate (§ 20 BBiG).",
    "answer_sie": "Ein bis vier Monate (§ 20 BBiG).",
    "audience": "both",
    "professions": ["dachdecker-in"],
    "clusters": ["zukunftsmacher"],
    "sources": [{"title": "§ 20 BBiG", "url": "https://www.gesetze-im-internet.de/bbig_2005/__20.html"}],
}


def pack_with_faq(directory: Path, entries: list[dict[str, Any]] | str) -> Path:
    """The demo pack with faq.yaml replaced (a list of entries, or raw text)."""
    for file in FILES:
        if file != "faq.yaml":
            shutil.copy(DEMO_DIR / file, directory / file)
    text = entries if isinstance(entries, str) else yaml.safe_dump(entries, allow_unicode=True, sort_keys=False)
    (directory / "faq.yaml").write_text(text, encoding="utf-8")
    return directory


def problems(directory: Path) -> list[str]:
    with pytest.raises(PackError) as info:
        load_pack(directory)
    return [str(p) for p in info.value.problems]


def changed(**changes: Any) -> dict[str, Any]:
    entry = copy.deepcopy(ENTRY)
    for key, value in changes.items():
        if value is ...:
            entry.pop(key)
        else:
            entry[key] = value
    return entry


# --- the demo FAQ ---------------------------------------------------------------------------------

def test_demo_faq_loads_with_enough_entries(pack: Pack) -> None:
    assert len(pack.faq) >= 45
    assert len(pack.faq_by_slug) == len(pack.faq)
    assert {f.audience for f in pack.faq} <= {"teens", "parents", "both"}
    assert all(f.answer_du != f.answer_sie for f in pack.faq)  # du and Sie are both written out


def test_every_entry_has_an_https_source(pack: Pack) -> None:
    assert all(f.sources and all(s.url.startswith("https://") for s in f.sources) for f in pack.faq)


def test_answers_are_short(pack: Pack) -> None:
    assert all(len(f.answer_du) <= FAQ_ANSWER_MAX and len(f.answer_sie) <= FAQ_ANSWER_MAX for f in pack.faq)


def test_the_topics_of_the_clusters_are_covered(pack: Pack) -> None:
    slugs = set(pack.faq_by_slug)
    assert {"verguetung-mindestens", "verguetung-tarifvertrag", "berufsschule", "berufsschule-blockunterricht",
            "bab-berufsausbildungsbeihilfe", "schuelerpraktikum", "praktikum-versicherung", "bewerbung-wann",
            "bewerbung-foto", "probezeit", "arbeitszeit-minderjaehrige", "urlaub-ausbildung",
            "ausbildung-verkuerzen", "pflege-zugang", "pflegeausbildung-generalistik", "was-ist-ein-ausbildungscluster",
            "strukturwandel-revier", "eltern-unterstuetzen", "eltern-zustimmung-unter-16", "ausbildungsvertrag-eltern",
            "datenschutz-bot", "interessiert-mich"} <= slugs


EURO = re.compile(r"(\d{1,3}(?:\.\d{3})*|\d+)(?:,\d+)?\s*(?:€|Euro)")


def euros(text: str) -> set[int]:
    return {int(amount.replace(".", "")) for amount in EURO.findall(text)}


def test_pay_figures_match_the_professions_they_name(pack: Pack) -> None:
    checked = 0
    for entry in pack.faq:
        named = [pack.professions_by_slug[slug] for slug in entry.professions]
        allowed = {eur for p in named for eur in (p.pay.monthly_eur or [])}
        for answer in (entry.answer_du, entry.answer_sie):
            found = {eur for eur in euros(answer) if eur >= 100}  # pay, not a ticket price
            if named and found:
                assert found <= allowed, (entry.slug, sorted(found - allowed))
                checked += 1
    assert checked >= 8  # the pay entries of the clusters' professions really were compared


def test_minimum_pay_figures_are_the_legal_ones_and_name_their_year(pack: Pack) -> None:
    legal = {eur for amounts in BBIG_MINIMUM_PAY.values() for eur in amounts}
    for entry in pack.faq:
        for answer in (entry.answer_du, entry.answer_sie):
            if "Mindestvergütung" in answer:
                assert euros(answer) <= legal, entry.slug
            if euros(answer) & legal:
                assert any(str(year) in answer for year in BBIG_MINIMUM_PAY), entry.slug


def test_nursing_pay_is_not_promised_as_a_fixed_amount(pack: Pack) -> None:
    nursing = [f for f in pack.faq if "pflegefachfrau-pflegefachmann" in f.professions]
    assert nursing and not any(euros(f.answer_du) or euros(f.answer_sie) for f in nursing)


# --- broken entries are reported with file and path -----------------------------------------------

def test_valid_entry_loads(tmp_path: Path) -> None:
    loaded = load_pack(pack_with_faq(tmp_path, [ENTRY]))
    assert loaded.faq == [Faq.model_validate(ENTRY)]


def test_unknown_field(tmp_path: Path) -> None:
    assert problems(pack_with_faq(tmp_path, [changed(answer="Eine Antwort")])) == [
        "faq.yaml: [0].answer: unknown field",
    ]


def test_missing_or_empty_sources(tmp_path: Path) -> None:
    second = changed(slug="zweite-frage", sources=[])
    assert problems(pack_with_faq(tmp_path, [changed(sources=...), second])) == [
        "faq.yaml: [0].sources: field required",
        "faq.yaml: [1].sources: list should have at least 1 item after validation, not 0",
    ]


def test_source_must_be_an_https_page(tmp_path: Path) -> None:
    entry = changed(sources=[{"title": "Gesetz", "url": "http://www.gesetze-im-internet.de/bbig_2005/"},
                             {"url": "https://www.bibb.de/"}])
    assert problems(pack_with_faq(tmp_path, [entry])) == [
        "faq.yaml: [0].sources[0].url: is not an https:// address of a public page: "
        "'http://www.gesetze-im-internet.de/bbig_2005/'",
        "faq.yaml: [0].sources[1].title: field required",
    ]


def test_unknown_profession_and_cluster(tmp_path: Path) -> None:
    entry = changed(professions=["dachdecker-in", "koch-in"], clusters=["rheinisches-revier"])
    assert problems(pack_with_faq(tmp_path, [entry])) == [
        'faq.yaml: [0].professions[1]: unknown profession "koch-in"',
        'faq.yaml: [0].clusters[0]: unknown cluster "rheinisches-revier"',
    ]


def test_duplicate_slug(tmp_path: Path) -> None:
    assert problems(pack_with_faq(tmp_path, [ENTRY, changed(question="Noch mal?")])) == [
        'faq.yaml: [1].slug: duplicate slug "probezeit-test" (first at [0])',
    ]


def test_answer_too_long_and_missing_form_of_address(tmp_path: Path) -> None:
    entry = changed(answer_du="x" * (FAQ_ANSWER_MAX + 1), answer_sie=...)
    assert problems(pack_with_faq(tmp_path, [entry])) == [
        f"faq.yaml: [0].answer_du: string should have at most {FAQ_ANSWER_MAX} characters",
        "faq.yaml: [0].answer_sie: field required",
    ]


def test_bad_audience_and_repeated_variant(tmp_path: Path) -> None:
    entry = changed(audience="kids", variants=["Probezeit Ausbildung", "wie lange dauert die probezeit?"])
    assert problems(pack_with_faq(tmp_path, [entry])) == [
        "faq.yaml: [0].variants: repeats the question or another variant: 'wie lange dauert die probezeit?'",
        "faq.yaml: [0].audience: input should be 'teens', 'parents' or 'both'",
    ]


def test_not_a_list(tmp_path: Path) -> None:
    assert problems(pack_with_faq(tmp_path, "slug: einzeln\n")) == ["faq.yaml: expected a list of entries"]


def test_a_pack_without_faq_file_has_no_faq(tmp_path: Path) -> None:
    (pack_with_faq(tmp_path, []) / "faq.yaml").unlink()
    assert load_pack(tmp_path).faq == []


def test_a_broken_faq_entry_does_not_hide_other_problems(tmp_path: Path) -> None:
    pack_with_faq(tmp_path, [changed(professions=["koch-in"])])
    clusters = yaml.safe_load((tmp_path / "clusters.yaml").read_text(encoding="utf-8"))
    del clusters[0]["name"]
    (tmp_path / "clusters.yaml").write_text(yaml.safe_dump(clusters, allow_unicode=True), encoding="utf-8")
    assert problems(tmp_path) == [
        "clusters.yaml: [0].name: field required",
        'faq.yaml: [0].professions[0]: unknown profession "koch-in"',
    ]


# --- into the database and back out --------------------------------------------------------------

async def test_faq_is_synced_and_exported(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock,
                                          pack: Pack, tmp_path: Path) -> None:
    first = await sync_pack(uow_factory, pack, clock)
    assert first.created["faq"] == len(pack.faq)
    async with uow_factory.sessions() as session:
        rows = {row.slug: row for row in (await session.execute(select(FaqRow))).scalars()}
    entry = pack.faq[0]
    assert rows[entry.slug].question == entry.question and rows[entry.slug].audience == entry.audience
    assert rows[entry.slug].data == entry.model_dump(mode="json")
    report = await export_pack(uow_factory, tmp_path / "export")
    assert report.entries["faq.yaml"] == len(pack.faq)
    assert load_pack(tmp_path / "export").faq == pack.faq
    again = await sync_pack(uow_factory, load_pack(tmp_path / "export"), clock)
    assert not again.changed
    removed = await sync_pack(uow_factory, dataclasses.replace(pack, faq=pack.faq[1:]), clock)
    assert removed.archived["faq"] == 1  # kept as a row, like every content row
