"""Broken packs: every problem is reported, in the documented `file: [i].path: message` form."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from content import PackError, PostcodeDirectory, load_pack
from content.loader import Problem
from flows.domain.geo import Place

CLUSTER: dict[str, Any] = {
    "slug": "zukunftsmacher",
    "name": "Die Zukunftsmacher",
    "lead_organisation": "Lausitz Matrix e.V.",
    "region_name": "Lausitz",
    "states": ["Sachsen"],
    "districts": ["Landkreis Görlitz"],
    "region_towns": [{"name": "Görlitz", "plz": "02826"}],
    "target_fields": ["metall-elektro"],
    "description_teen": "Für dich.",
    "description_parent": "Für Sie.",
    "sources": ["Produktbrief"],
}
PROFESSION: dict[str, Any] = {
    "slug": "industriemechaniker-in",
    "name": "Industriemechaniker:in",
    "clusters": ["zukunftsmacher"],
    "field": "metall-elektro",
    "riasec": {"R": 5, "I": 3, "A": 1, "S": 1, "E": 1, "C": 3},
    "duration_months": 42,
    "school_expectation": "Hauptschulabschluss oder mittlerer Schulabschluss",
    "pay": {"basis": "bbig-mindestverguetung", "start_year": 2026, "monthly_eur": [724, 854, 977, 1014]},
    "berufsschule": [{"name": "Görlitz", "plz": "02826"}],
    "teen": {"summary": "Du baust Maschinen.", "what_you_do": "Du fräst.", "where_you_learn": "Im Betrieb."},
    "parent": {"summary": "Ihr Kind ...", "prospects": "Gut.", "how_to_support": "Praktikum.",
               "berufsschule_travel": "Görlitz."},
    "sources": ["BERUFENET"],
}
COMPANY: dict[str, Any] = {
    "slug": "muster-metall",
    "name": "Muster-Metall (Beispiel)",
    "cluster": "zukunftsmacher",
    "example": True,
    "plz": "02826",
    "place": "Görlitz",
    "professions": ["industriemechaniker-in"],
    "description": "Beispielbetrieb: Metallbau.",
}
VACANCY: dict[str, Any] = {
    "slug": "muster-metall-im-2027",
    "company": "muster-metall",
    "profession": "industriemechaniker-in",
    "kind": "ausbildung",
    "title": "Ausbildung Industriemechaniker:in",
    "start": "2027-08-01",
    "published": "2026-10-01",
}
EVENT: dict[str, Any] = {
    "slug": "tdot-muster-metall",
    "cluster": "zukunftsmacher",
    "title": "Tag der offenen Tür",
    "format": "tag-der-offenen-tuer",
    "starts": "2027-03-28T10:00",
    "ends": "2027-03-28T15:00",
    "place": "Görlitz",
    "plz": "02826",
    "audience": "both",
    "description": "Komm vorbei.",
    "companies": ["muster-metall"],
    "professions": ["industriemechaniker-in"],
}
QUIZ: list[dict[str, Any]] = [
    {"slug": f"frage-{i}", "text": {"de": f"Frage {i}?", "en": f"Question {i}?"},
     "options": [{"label": {"de": "Ja", "en": "Yes"}, "weights": {"RIASEC"[i % 6]: 2, "RIASEC"[(i + 1) % 6]: 1}},
                 {"label": {"de": "Nein", "en": "No"}}]}
    for i in range(12)
]
FILES = {"clusters.yaml": [CLUSTER], "professions.yaml": [PROFESSION], "companies.yaml": [COMPANY],
         "vacancies.yaml": [VACANCY], "events.yaml": [EVENT], "quiz.yaml": QUIZ}


def write_pack(directory: Path, **overrides: Any) -> Path:
    """Write the minimal valid pack; overrides replace a file's entry list (or raw text if str)."""
    for file, entries in FILES.items():
        content = overrides.get(file.removesuffix(".yaml"), copy.deepcopy(entries))
        text = content if isinstance(content, str) else yaml.safe_dump(content, allow_unicode=True, sort_keys=False)
        (directory / file).write_text(text, encoding="utf-8")
    return directory


def problems(directory: Path, postcodes: PostcodeDirectory | None = None) -> list[str]:
    with pytest.raises(PackError) as info:
        load_pack(directory, postcodes)
    return [str(p) for p in info.value.problems]


def entry(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if value is ...:
            result.pop(key)
        else:
            result[key] = value
    return result


def test_minimal_pack_is_valid(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path))
    assert pack.vacancies[0].plz == "02826"  # taken from the company
    assert pack.events[0].starts.isoformat() == "2027-03-28T10:00:00+02:00"


def test_problem_str() -> None:
    assert str(Problem("companies.yaml", "[3].plz", 'unknown postal code "0282"')) == \
        'companies.yaml: [3].plz: unknown postal code "0282"'
    assert str(Problem("events.yaml", "", "missing file")) == "events.yaml: missing file"


def test_unknown_plz(tmp_path: Path) -> None:
    other = entry(COMPANY, slug="zweiter-betrieb", plz="0282")
    assert problems(write_pack(tmp_path, companies=[COMPANY, other])) == [
        'companies.yaml: [1].plz: unknown postal code "0282"',
    ]


def test_missing_nested_field(tmp_path: Path) -> None:
    broken = copy.deepcopy(PROFESSION)
    del broken["teen"]["summary"]
    assert problems(write_pack(tmp_path, professions=[broken])) == [
        "professions.yaml: [0].teen.summary: field required",
    ]


def test_bad_references(tmp_path: Path) -> None:
    vacancy = entry(VACANCY, company="ghost-gmbh")
    event = entry(EVENT, cluster="nirgendwo", companies=["muster-metall", "ghost-gmbh"], professions=["koch-in"])
    company = entry(COMPANY, professions=["industriemechaniker-in", "baecker-in"])
    assert problems(write_pack(tmp_path, vacancies=[vacancy], events=[event], companies=[company])) == [
        'companies.yaml: [0].professions[1]: unknown profession "baecker-in"',
        'vacancies.yaml: [0].company: unknown company "ghost-gmbh"',
        'events.yaml: [0].cluster: unknown cluster "nirgendwo"',
        'events.yaml: [0].companies[1]: unknown company "ghost-gmbh"',
        'events.yaml: [0].professions[0]: unknown profession "koch-in"',
    ]


def test_vacancy_profession_must_be_offered_by_company(tmp_path: Path) -> None:
    other = entry(PROFESSION, slug="maurer-in", name="Maurer:in", duration_months=36,
                  pay={"basis": "bbig-mindestverguetung", "monthly_eur": [724, 854, 977]})
    vacancy = entry(VACANCY, profession="maurer-in")
    assert problems(write_pack(tmp_path, professions=[PROFESSION, other], vacancies=[vacancy])) == [
        'vacancies.yaml: [0].profession: company "muster-metall" does not list "maurer-in"',
    ]


def test_duplicate_slug(tmp_path: Path) -> None:
    twin = entry(COMPANY, name="Zwilling (Beispiel)")
    assert problems(write_pack(tmp_path, companies=[COMPANY, twin])) == [
        'companies.yaml: [1].slug: duplicate slug "muster-metall" (first at [0])',
    ]


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    text = "- slug: tdot\n  title: [unclosed\n  format: messe\n"
    found = problems(write_pack(tmp_path, events=text))
    assert len(found) == 1
    assert found[0].startswith("events.yaml: YAML syntax error at line 3, column ")


def test_all_problems_collected_across_files(tmp_path: Path) -> None:
    broken_profession = copy.deepcopy(PROFESSION)
    del broken_profession["teen"]["summary"]
    directory = write_pack(
        tmp_path,
        professions=[broken_profession],
        companies=[COMPANY, entry(COMPANY, slug="zweiter-betrieb", plz="0282", colour="blau")],
        vacancies=[VACANCY, entry(VACANCY, slug="v2", company="ghost-gmbh"), VACANCY],
        events="- slug: x\n  title: [\n",
    )
    found = problems(directory)
    assert found[:6] == [
        "professions.yaml: [0].teen.summary: field required",
        "companies.yaml: [1].colour: unknown field",
        'companies.yaml: [1].plz: unknown postal code "0282"',  # checked although the entry is invalid
        'vacancies.yaml: [1].company: unknown company "ghost-gmbh"',
        'vacancies.yaml: [2].slug: duplicate slug "muster-metall-im-2027" (first at [0])',
        "events.yaml: YAML syntax error at line 3, column 1: expected the node content, but found '<stream end>'",
    ]
    assert len(found) == 6


def test_broken_profession_does_not_cascade(tmp_path: Path) -> None:
    # the profession entry fails validation, but its slug still counts for references
    broken = entry(PROFESSION, duration_months="lang")
    assert problems(write_pack(tmp_path, professions=[broken])) == [
        "professions.yaml: [0].duration_months: input should be a valid integer, unable to parse string as an integer",
    ]


def test_missing_file_does_not_cascade(tmp_path: Path) -> None:
    directory = write_pack(tmp_path)
    (directory / "clusters.yaml").unlink()
    assert problems(directory) == ["clusters.yaml: missing file"]


def test_file_and_entry_shapes(tmp_path: Path) -> None:
    found = problems(write_pack(tmp_path, clusters="slug: tab-mint\n", vacancies=[VACANCY, "just text"]))
    assert found == [
        "clusters.yaml: expected a list of entries",
        "vacancies.yaml: [1]: expected a mapping of fields",
    ]


def test_plz_as_yaml_number(tmp_path: Path) -> None:
    text = yaml.safe_dump([COMPANY], allow_unicode=True, sort_keys=False).replace("plz: '02826'", "plz: 01454")
    text = text.replace("plz: 02826", "plz: 01454")
    assert problems(write_pack(tmp_path, companies=text)) == [
        'companies.yaml: [0].plz: write the postal code in quotes, e.g. plz: "02826"',
    ]


def test_place_must_match_plz(tmp_path: Path) -> None:
    assert problems(write_pack(tmp_path, companies=[entry(COMPANY, place="Bautzen")])) == [
        'companies.yaml: [0].place: "Bautzen" is not a place with postal code 02826 (Görlitz)',
    ]


def test_event_times(tmp_path: Path) -> None:
    events = [
        entry(EVENT, slug="ev-a", ends="2027-03-28T09:00"),
        entry(EVENT, slug="ev-b", starts="2027-03-28T02:30", ends="2027-03-28T04:00"),
        entry(EVENT, slug="ev-c", starts="2027-10-31T02:30", ends="2027-10-31T04:00"),
        entry(EVENT, slug="ev-d", starts="2027-10-31T02:30+01:00", ends="2027-10-31T04:00"),
    ]
    assert problems(write_pack(tmp_path, events=events)) == [
        "events.yaml: [0].ends: ends before starts",
        "events.yaml: [1].starts: 2027-03-28 02:30 does not exist in Europe/Berlin (clock change)",
        "events.yaml: [2].starts: 2027-10-31 02:30 occurs twice in Europe/Berlin (clock change); "
        "add the offset, e.g. +02:00 or +01:00",
    ]


def test_example_company_must_say_so(tmp_path: Path) -> None:
    companies = [entry(COMPANY, description="Metallbau."), entry(COMPANY, slug="ohne-flag", example=...)]
    assert problems(write_pack(tmp_path, companies=companies)) == [
        'companies.yaml: [0].description: description of an example company must start with "Beispielbetrieb"',
        "companies.yaml: [1].example: field required",
    ]


def test_pay_must_fit_duration_and_floor(tmp_path: Path) -> None:
    short = entry(PROFESSION, pay={"basis": "bbig-mindestverguetung", "monthly_eur": [724, 854]})
    low = entry(PROFESSION, slug="zweiter-beruf", pay={"basis": "bbig-mindestverguetung",
                                                        "monthly_eur": [700, 854, 977, 1014]})
    tarif = entry(PROFESSION, slug="dritter-beruf", pay={"basis": "tarif"})
    assert problems(write_pack(tmp_path, professions=[short, low, tarif])) == [
        "professions.yaml: [0].pay: monthly_eur needs 4 values, one per training year",
        "professions.yaml: [1].pay: below the § 17 BBiG minimum for 2026: [724, 854, 977, 1014]",
        "professions.yaml: [2].pay: a note is required for tarif pay",
    ]


def test_cluster_districts_and_towns(tmp_path: Path) -> None:
    cluster = entry(CLUSTER, districts=["Landkreis Gorlitz"],
                    region_towns=[{"name": "Görlitz", "plz": "02826"}, {"name": "Zittau", "plz": "02826"}])
    assert problems(write_pack(tmp_path, clusters=[cluster])) == [
        'clusters.yaml: [0].districts[0]: unknown district "Landkreis Gorlitz"',
        "clusters.yaml: [0].region_towns[0].plz: postal code 02826 lies in Landkreis Görlitz, "
        "not in the cluster's districts",
        'clusters.yaml: [0].region_towns[1].name: "Zittau" is not a place with postal code 02826 (Görlitz)',
        "clusters.yaml: [0].region_towns[1].plz: postal code 02826 lies in Landkreis Görlitz, "
        "not in the cluster's districts",
    ]


def test_bad_slug_and_enum(tmp_path: Path) -> None:
    found = problems(write_pack(tmp_path, vacancies=[entry(VACANCY, slug="Muster Metall!", kind="job")]))
    assert found == [
        "vacancies.yaml: [0].slug: string should match pattern '^[a-z0-9][a-z0-9-]{1,47}$'",
        "vacancies.yaml: [0].kind: input should be 'ausbildung' or 'praktikum'",
    ]


def test_custom_postcode_directory(tmp_path: Path) -> None:
    tiny = PostcodeDirectory([(Place("02826", "Görlitz", "Sachsen", "Landkreis Görlitz", 51.15, 14.98), False)])
    assert load_pack(write_pack(tmp_path), tiny).companies[0].plz == "02826"
    moved = entry(COMPANY, plz="02625", place="Bautzen")
    assert problems(write_pack(tmp_path, companies=[moved]), tiny) == [
        'companies.yaml: [0].plz: unknown postal code "02625"',
    ]


def test_pack_error_message_lists_everything(tmp_path: Path) -> None:
    directory = write_pack(tmp_path, companies=[entry(COMPANY, plz="0282")], vacancies=[entry(VACANCY, kind="job")])
    with pytest.raises(PackError) as info:
        load_pack(directory)
    text = str(info.value)
    assert text.startswith("2 problem(s) in content pack:")
    assert 'companies.yaml: [0].plz: unknown postal code "0282"' in text
    assert "vacancies.yaml: [0].kind:" in text


def test_quiz_length_and_reachable_dimensions(tmp_path: Path) -> None:
    only_r = [entry(q, options=[{"label": {"de": "Ja", "en": "Yes"}, "weights": {"R": 2}},
                                {"label": {"de": "Nein", "en": "No"}}]) for q in QUIZ[:5]]
    found = problems(write_pack(tmp_path, quiz=only_r))
    assert "quiz.yaml: needs 12 to 16 questions, has 5" in found
    assert "quiz.yaml: interest dimension S is scored by 0 answer(s); needs at least 2" in found


def test_profession_needs_all_six_interest_codes(tmp_path: Path) -> None:
    broken = entry(PROFESSION, riasec={"R": 5, "I": 9})
    found = problems(write_pack(tmp_path, professions=[broken]))
    assert any(p.startswith("professions.yaml: [0].riasec") for p in found)
