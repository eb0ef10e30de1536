"""Load and validate a content pack directory, collecting every problem at once.

A problem reads like `companies.yaml: [3].plz: unknown postal code "0282"`: the file, the entry's
position in the file (0-based, as in the YAML list) and the field path, then the message.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from content.postcodes import PostcodeDirectory, default_directory
from content.schema import RIASEC, Cluster, Company, Entry, Event, Faq, Profession, QuizQuestion, Vacancy

E = TypeVar("E", bound=Entry)

FILES: dict[str, type[Entry]] = {
    "clusters.yaml": Cluster,
    "professions.yaml": Profession,
    "companies.yaml": Company,
    "vacancies.yaml": Vacancy,
    "events.yaml": Event,
    "quiz.yaml": QuizQuestion,
    "faq.yaml": Faq,
}
# Files a pack may leave out: a pack without faq.yaml simply has no FAQ entries.
OPTIONAL_FILES = frozenset({"faq.yaml"})
QUIZ_LENGTH = (12, 16)  # questions: long enough to be useful, short enough for 2-4 minutes


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    path: str  # "[3].plz", "[2].teen.summary"; "" for the whole file
    message: str
    # what went wrong, for forms that show their own words (the cockpit): pydantic's error type
    # ("missing", "string_too_short", "value_error", ...) or one of the pack checks' codes below
    code: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}" if self.path else f"{self.file}: {self.message}"


class PackError(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in content pack:\n" + "\n".join(map(str, self.problems)))


@dataclass(frozen=True)
class Pack:
    clusters: list[Cluster]
    professions: list[Profession]
    companies: list[Company]
    vacancies: list[Vacancy]  # plz and place always set (the company's if the file leaves them out)
    events: list[Event]
    quiz: list[QuizQuestion]
    faq: list[Faq] = field(default_factory=list)

    @cached_property
    def clusters_by_slug(self) -> dict[str, Cluster]:
        return {c.slug: c for c in self.clusters}

    @cached_property
    def professions_by_slug(self) -> dict[str, Profession]:
        return {p.slug: p for p in self.professions}

    @cached_property
    def companies_by_slug(self) -> dict[str, Company]:
        return {c.slug: c for c in self.companies}

    @cached_property
    def vacancies_by_slug(self) -> dict[str, Vacancy]:
        return {v.slug: v for v in self.vacancies}

    @cached_property
    def events_by_slug(self) -> dict[str, Event]:
        return {e.slug: e for e in self.events}

    @cached_property
    def faq_by_slug(self) -> dict[str, Faq]:
        return {f.slug: f for f in self.faq}


def _path(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "model_type":
        return "expected a mapping of fields"
    if kind in ("value_error", "assertion_error") and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    msg: str = error["msg"]
    return msg[:1].lower() + msg[1:]


@dataclass
class _Checker:
    """Collects problems while validating one pack."""

    postcodes: PostcodeDirectory
    problems: list[Problem] = field(default_factory=list)
    # slugs of every entry that has a usable slug, even if the entry failed validation,
    # so one broken company doesn't also make all its vacancies "unknown".
    slugs: dict[str, set[str]] = field(default_factory=dict)
    # files that could not be read: references into them are not checked (no cascades).
    unreadable: set[str] = field(default_factory=set)

    def add(self, file: str, path: str, message: str, code: str = "") -> None:
        self.problems.append(Problem(file, path, message, code))

    def read(self, directory: Path, file: str) -> list[Any]:
        path = directory / file
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if file in OPTIONAL_FILES:
                return []
            self.add(file, "", "missing file")
            self.unreadable.add(file)
            return []
        try:
            data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            self.add(file, "", f"YAML syntax error{where}: {exc.problem or exc.context}")
            self.unreadable.add(file)
            return []
        except yaml.YAMLError as exc:
            self.add(file, "", f"YAML syntax error: {exc}")
            self.unreadable.add(file)
            return []
        if data is None:
            return []
        if not isinstance(data, list):
            self.add(file, "", "expected a list of entries")
            self.unreadable.add(file)
            return []
        return data

    def validate(self, file: str, model: type[E], raw: list[Any]) -> list[tuple[int, E]]:
        valid: list[tuple[int, E]] = []
        first_seen: dict[str, int] = {}
        slugs = self.slugs.setdefault(file, set())
        for i, item in enumerate(raw):
            slug = item.get("slug") if isinstance(item, dict) else None
            if isinstance(slug, str):
                if slug in first_seen:
                    self.add(file, f"[{i}].slug", f'duplicate slug "{slug}" (first at [{first_seen[slug]}])',
                             "duplicate_slug")
                else:
                    first_seen[slug] = i
                slugs.add(slug)
            try:
                entry = model.model_validate(item)
            except ValidationError as exc:
                for error in exc.errors():
                    self.add(file, f"[{i}]{_path(error['loc'])}", _message(error), error["type"])
                continue
            if first_seen.get(entry.slug) == i:  # duplicates are reported once and skipped
                valid.append((i, entry))
        return valid

    def ref(self, file: str, path: str, kind: str, target: str, slug: Any) -> bool:
        """True if slug names an entry of target; reports it unless target itself is unreadable.

        Non-text values are left to the schema check."""
        if not isinstance(slug, str):
            return False
        if slug in self.slugs.get(target, ()):
            return True
        if target not in self.unreadable:
            self.add(file, path, f'unknown {kind} "{slug}"', "unknown_ref")
        return False

    def refs(self, file: str, path: str, kind: str, target: str, slugs: Any) -> None:
        for j, slug in enumerate(_list(slugs)):
            self.ref(file, f"{path}[{j}]", kind, target, slug)

    def plz(self, file: str, entry: str, plz: str, town: str | None = None, town_field: str = "place") -> None:
        """Check entry's "plz" (entry: "[3]" or "[3].berufsschule") and that town lies there."""
        places = self.postcodes.lookup(plz)
        if not places:
            self.add(file, f"{entry}.plz", f'unknown postal code "{plz}"', "unknown_plz")
            return
        if town is not None and self.postcodes.find(plz, town) is None:
            names = ", ".join(sorted({p.name for p in places}))
            self.add(file, f"{entry}.{town_field}", f'"{town}" is not a place with postal code {plz} ({names})',
                     "place_not_at_plz")

    def sorted_problems(self) -> list[Problem]:
        """Problems grouped by file (pack order), then by entry position."""
        order = list(FILES)

        def key(problem: Problem) -> tuple[int, int]:
            match = re.match(r"\[(\d+)\]", problem.path)
            return (order.index(problem.file), int(match.group(1)) if match else -1)

        return sorted(self.problems, key=key)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _town(value: Any) -> tuple[str | None, str | None]:
    return (_text(value.get("name")), _text(value.get("plz"))) if isinstance(value, dict) else (None, None)


def _check(c: _Checker, raw: dict[str, list[tuple[int, dict[str, Any]]]]) -> None:
    """Checks across entries and files. They run on the raw entries, so an entry with a schema error
    still gets its references and postal codes checked; fields of the wrong shape are skipped (the
    schema already reported them)."""
    for i, cl in raw["clusters.yaml"]:
        districts = [d for d in _list(cl.get("districts")) if isinstance(d, str)]
        # flows match a user's district against these names, so they must be spelled as in the table
        for j, district in enumerate(districts):
            if not c.postcodes.has_district(district):
                c.add("clusters.yaml", f"[{i}].districts[{j}]", f'unknown district "{district}"')
        for j, town in enumerate(_list(cl.get("region_towns"))):
            name, plz = _town(town)
            if plz is None:
                continue
            c.plz("clusters.yaml", f"[{i}].region_towns[{j}]", plz, name, "name")
            places = c.postcodes.lookup(plz)
            if places and all(p.district not in districts for p in places):
                c.add("clusters.yaml", f"[{i}].region_towns[{j}].plz",
                      f"postal code {plz} lies in {places[0].district}, not in the cluster's districts")
    for i, pr in raw["professions.yaml"]:
        c.refs("professions.yaml", f"[{i}].clusters", "cluster", "clusters.yaml", pr.get("clusters"))
        for j, school in enumerate(_list(pr.get("berufsschule"))):
            if (plz := _town(school)[1]) is not None:
                c.plz("professions.yaml", f"[{i}].berufsschule[{j}]", plz)
    companies: dict[str, dict[str, Any]] = {}
    for i, co in raw["companies.yaml"]:
        c.ref("companies.yaml", f"[{i}].cluster", "cluster", "clusters.yaml", co.get("cluster"))
        c.refs("companies.yaml", f"[{i}].professions", "profession", "professions.yaml", co.get("professions"))
        if (plz := _text(co.get("plz"))) is not None:
            c.plz("companies.yaml", f"[{i}]", plz, _text(co.get("place")))
        if (slug := _text(co.get("slug"))) is not None:
            companies.setdefault(slug, co)
    for i, va in raw["vacancies.yaml"]:
        company_ok = c.ref("vacancies.yaml", f"[{i}].company", "company", "companies.yaml", va.get("company"))
        prof = _text(va.get("profession"))
        prof_ok = c.ref("vacancies.yaml", f"[{i}].profession", "profession", "professions.yaml", prof)
        company = companies.get(va["company"]) if company_ok else None
        if prof_ok and company is not None and prof not in _list(company.get("professions")):
            c.add("vacancies.yaml", f"[{i}].profession", f'company "{va["company"]}" does not list "{prof}"',
                  "profession_not_listed")
        if (plz := _text(va.get("plz"))) is not None:
            place = _text(va.get("place"))
            c.plz("vacancies.yaml", f"[{i}]", plz, place)
            same = company is not None and plz == company.get("plz")
            if place is None and not same and len({p.name for p in c.postcodes.lookup(plz)}) > 1:
                names = ", ".join(sorted({p.name for p in c.postcodes.lookup(plz)})[:5])
                c.add("vacancies.yaml", f"[{i}].place",
                      f"postal code {plz} covers several places ({names}, ...): name the offer's place",
                      "plz_several_places")
        elif (place := _text(va.get("place"))) is not None and company is not None \
                and (company_plz := _text(company.get("plz"))) is not None:
            c.plz("vacancies.yaml", f"[{i}]", company_plz, place)
        if (plz := _town(va.get("berufsschule"))[1]) is not None:
            c.plz("vacancies.yaml", f"[{i}].berufsschule", plz)
    for i, ev in raw["events.yaml"]:
        c.ref("events.yaml", f"[{i}].cluster", "cluster", "clusters.yaml", ev.get("cluster"))
        c.refs("events.yaml", f"[{i}].companies", "company", "companies.yaml", ev.get("companies"))
        c.refs("events.yaml", f"[{i}].professions", "profession", "professions.yaml", ev.get("professions"))
        if (plz := _text(ev.get("plz"))) is not None:
            c.plz("events.yaml", f"[{i}]", plz, _text(ev.get("place")))
    for i, fa in raw["faq.yaml"]:
        c.refs("faq.yaml", f"[{i}].professions", "profession", "professions.yaml", fa.get("professions"))
        c.refs("faq.yaml", f"[{i}].clusters", "cluster", "clusters.yaml", fa.get("clusters"))


def _check_quiz(c: _Checker, raw: list[tuple[int, dict[str, Any]]]) -> None:
    if "quiz.yaml" in c.unreadable:
        return
    low, high = QUIZ_LENGTH
    if not low <= len(raw) <= high:
        c.add("quiz.yaml", "", f"needs {low} to {high} questions, has {len(raw)}")
    reached = {code: 0 for code in RIASEC}
    for _, question in raw:
        for option in _list(question.get("options")):
            weights = option.get("weights") if isinstance(option, dict) else None
            for code, points in (weights or {}).items() if isinstance(weights, dict) else ():
                if code in reached and isinstance(points, int) and points > 0:
                    reached[code] += 1
    for code, count in reached.items():
        if count < 2:  # a dimension no answer can raise would make its professions unreachable
            c.add("quiz.yaml", "", f"interest dimension {code} is scored by {count} answer(s); needs at least 2")


def _placed(vacancy: Vacancy, company: Company, postcodes: PostcodeDirectory) -> Vacancy:
    """The offer with its postal code and place filled in (the company's where the file leaves them out)."""
    plz = vacancy.plz or company.plz
    place = vacancy.place
    if place is None:
        names = sorted({p.name for p in postcodes.lookup(plz)})
        place = company.place if plz == company.plz else names[0]
    return vacancy.model_copy(update={"plz": plz, "place": place})


def load_pack(directory: Path, postcodes: PostcodeDirectory | None = None) -> Pack:
    """Validate the files of a pack (faq.yaml may be left out); raise PackError listing every problem found.

    postcodes: the directory to check PLZ against; None means the shipped one.
    """
    checker = _Checker(postcodes if postcodes is not None else default_directory())
    directory = Path(directory)
    return _validated(checker, {file: checker.read(directory, file) for file in FILES})


def validate_pack(files: Mapping[str, list[Any]], postcodes: PostcodeDirectory | None = None) -> Pack:
    """Like load_pack, for entries already read (file name -> its list of entries, as YAML gives them):
    the web cockpit checks the content with an edit applied, exactly as a pack is checked."""
    checker = _Checker(postcodes if postcodes is not None else default_directory())
    return _validated(checker, {file: list(files.get(file, [])) for file in FILES})


def _validated(checker: _Checker, files: dict[str, list[Any]]) -> Pack:
    parsed: dict[str, list[tuple[int, Any]]] = {}
    raw: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for file, model in FILES.items():
        items = files[file]
        raw[file] = [(i, item) for i, item in enumerate(items) if isinstance(item, dict)]
        parsed[file] = checker.validate(file, model, items)
    _check(checker, raw)
    _check_quiz(checker, raw["quiz.yaml"])
    if checker.problems:
        raise PackError(checker.sorted_problems())
    companies = {co.slug: co for _, co in parsed["companies.yaml"]}
    vacancies = [_placed(v, companies[v.company], checker.postcodes) for _, v in parsed["vacancies.yaml"]]
    return Pack(
        clusters=[e for _, e in parsed["clusters.yaml"]],
        professions=[e for _, e in parsed["professions.yaml"]],
        companies=list(companies.values()),
        vacancies=vacancies,
        events=[e for _, e in parsed["events.yaml"]],
        quiz=[e for _, e in parsed["quiz.yaml"]],
        faq=[e for _, e in parsed["faq.yaml"]],
    )


def iter_problems(directory: Path, postcodes: PostcodeDirectory | None = None) -> Iterator[Problem]:
    """The problems of a pack, empty if it loads (handy for a CLI check)."""
    try:
        load_pack(directory, postcodes)
    except PackError as exc:
        yield from exc.problems
