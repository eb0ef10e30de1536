"""Assembles the engine from the flows and the command table. No I/O here."""
from __future__ import annotations

from flows.conversations.announcements import AnnouncementsFlow
from flows.conversations.broadcasts import BroadcastsFlow
from flows.conversations.cockpit import CockpitFlow
from flows.conversations.companies import CompaniesFlow
from flows.conversations.events import EventsFlow
from flows.conversations.leads import LeadsFlow
from flows.conversations.links import StartLinks
from flows.conversations.menu import MenuFlow
from flows.conversations.onboarding import OnboardingFlow
from flows.conversations.privacy import PrivacyFlow
from flows.conversations.professions import ProfessionsFlow
from flows.conversations.questions import MAX_QUESTION, QuestionsFlow
from flows.conversations.quiz import QuizFlow
from flows.conversations.team_questions import TeamQuestionsFlow
from flows.conversations.vacancies import VacanciesFlow
from flows.core.engine import Engine, Route
from flows.core.ports import Clock, PlaceDirectory, UnitOfWorkFactory
from flows.domain.broadcast import DEFAULT_WEEKLY_CAP

# Command -> flow entry. German names first; English aliases for Telegram's /privacy rule and guests.
# While onboarding asks (engine.Route.while_asking): /start resumes the open question, /abbrechen and
# /einstellungen leave it, help and the data-protection commands are answered and the question comes
# again; every other command waits until the questions are answered (or skipped), then runs.
COMMANDS: dict[str, Route] = {
    "start": Route("start", "start", while_asking="go"),  # deep links: conversations/links.py
    "menu": Route("menu", "menu"),
    "hilfe": Route("menu", "help", while_asking="aside"),
    "help": Route("menu", "help", while_asking="aside"),
    "abbrechen": Route("menu", "cancel", while_asking="go"),
    "cancel": Route("menu", "cancel", while_asking="go"),
    "einstellungen": Route("onboarding", "settings", while_asking="go"),
    "settings": Route("onboarding", "settings", while_asking="go"),
    "datenschutz": Route("privacy", "info", while_asking="aside"),
    "privacy": Route("privacy", "info", while_asking="aside"),
    "meinedaten": Route("privacy", "export", while_asking="aside"),
    "mydata": Route("privacy", "export", while_asking="aside"),
    "loeschen": Route("privacy", "delete", while_asking="aside"),
    "delete": Route("privacy", "delete", while_asking="aside"),
    "fahrplan": Route("privacy", "timetable", while_asking="aside"),  # where the travel times come from (issue 16)
    "timetable": Route("privacy", "timetable", while_asking="aside"),
    "berufecheck": Route("quiz", "quiz"),
    "quiz": Route("quiz", "quiz"),
    "berufe": Route("professions", "professions"),
    "professions": Route("professions", "professions"),
    "stellen": Route("vacancies", "vacancies"),
    "vacancies": Route("vacancies", "vacancies"),
    "termine": Route("events", "events"),
    "events": Route("events", "events"),
    "betriebe": Route("companies", "companies"),
    "companies": Route("companies", "companies"),
    "merkliste": Route("vacancies", "saved"),
    "saved": Route("vacancies", "saved"),
    "anfragen": Route("leads", "mine"),
    "einladung": Route("leads", "invite", agents_only=True, while_asking="aside"),
    "leads": Route("leads", "agent", agents_only=True),
    "broadcast": Route("broadcasts", "list", agents_only=True, while_asking="later"),  # announcements (agents)
    "requests": Route("leads", "mine"),
    "cockpit": Route("cockpit", "sign_in", agents_only=True, while_asking="aside"),  # web sign-in link (agents)
    "frage": Route("questions", "how", while_asking="aside"),  # how to ask a free question
    "ask": Route("questions", "how", while_asking="aside"),
}

# Shown in Telegram's command menu (descriptions live in prompts: command.<name>).
MENU_COMMANDS = ("start", "menu", "berufecheck", "berufe", "stellen", "termine", "betriebe", "merkliste", "anfragen",
                 "einstellungen", "datenschutz", "fahrplan", "meinedaten", "loeschen", "hilfe")


def build_engine(uow_factory: UnitOfWorkFactory, places: PlaceDirectory, clock: Clock,
                 admins: frozenset[tuple[str, int]] = frozenset(), weekly_cap: int = DEFAULT_WEEKLY_CAP,
                 broadcast_approval_minors: int | None = None, cockpit_url: str | None = None,
                 question_max_chars: int = MAX_QUESTION, model_host: str | None = None,
                 llm_rate_per_user: int = 20) -> Engine:
    """admins: (channel, chat id) of the cluster agents; weekly_cap: announcements a person gets a
    week at most (named where they opt in); broadcast_approval_minors: an announcement to more minors
    needs a second agent's approval (None: never); cockpit_url: where /cockpit's sign-in links lead
    (None: the web cockpit is not set up); question_max_chars: the longest free question read;
    model_host: where a language model answers free questions (flows/jobs/answers.py; None: no model),
    at most llm_rate_per_user times per person and hour."""
    questions = QuestionsFlow(question_max_chars, model=model_host is not None, rate_per_hour=llm_rate_per_user)
    menu, onboarding, leads = MenuFlow(questions), OnboardingFlow(weekly_cap), LeadsFlow()
    announcements = AnnouncementsFlow(weekly_cap)
    leads.parent.weekly_cap = weekly_cap  # a parent confirming announcements reads it too
    engine = Engine(
        uow_factory=uow_factory,
        places=places,
        clock=clock,
        flows=[StartLinks(onboarding, leads), onboarding, menu, PrivacyFlow(model_host), QuizFlow(), ProfessionsFlow(),
               VacanciesFlow(), EventsFlow(), CompaniesFlow(), leads, announcements,
               BroadcastsFlow(broadcast_approval_minors, weekly_cap), CockpitFlow(cockpit_url), questions,
               TeamQuestionsFlow(cockpit_url)],
        commands=COMMANDS,
        fallback=menu,
        admins=admins,
        gate=onboarding,
    )
    onboarding.follow_up = engine.enter  # a command typed during onboarding runs once it is done
    announcements.press = engine.press  # an announcement's button leads into another flow
    return engine
