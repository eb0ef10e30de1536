"""Assembles the engine from the flows and the command table. No I/O here."""
from __future__ import annotations

from flows.conversations.companies import CompaniesFlow
from flows.conversations.events import EventsFlow
from flows.conversations.leads import LeadsFlow
from flows.conversations.links import StartLinks
from flows.conversations.menu import MenuFlow
from flows.conversations.onboarding import OnboardingFlow
from flows.conversations.privacy import PrivacyFlow
from flows.conversations.professions import ProfessionsFlow
from flows.conversations.quiz import QuizFlow
from flows.conversations.vacancies import VacanciesFlow
from flows.core.engine import Engine, Route
from flows.core.ports import Clock, PlaceDirectory, UnitOfWorkFactory

# Command -> flow entry. German names first; English aliases for Telegram's /privacy rule and guests.
COMMANDS: dict[str, Route] = {
    "start": Route("start", "start"),  # deep links: conversations/links.py
    "menu": Route("menu", "menu"),
    "hilfe": Route("menu", "help"),
    "help": Route("menu", "help"),
    "abbrechen": Route("menu", "cancel"),
    "cancel": Route("menu", "cancel"),
    "einstellungen": Route("onboarding", "settings"),
    "settings": Route("onboarding", "settings"),
    "datenschutz": Route("privacy", "info"),
    "privacy": Route("privacy", "info"),
    "meinedaten": Route("privacy", "export"),
    "mydata": Route("privacy", "export"),
    "loeschen": Route("privacy", "delete"),
    "delete": Route("privacy", "delete"),
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
    "anfragen": Route("leads", "mine"),
    "einladung": Route("leads", "invite"),
    "leads": Route("leads", "agent"),
    "requests": Route("leads", "mine"),
}

# Shown in Telegram's command menu (descriptions live in prompts: command.<name>).
MENU_COMMANDS = ("start", "menu", "berufecheck", "berufe", "stellen", "termine", "betriebe", "anfragen", "einstellungen", "datenschutz", "meinedaten",
                 "loeschen", "hilfe")


def build_engine(uow_factory: UnitOfWorkFactory, places: PlaceDirectory, clock: Clock,
                 admins: frozenset[tuple[str, int]] = frozenset()) -> Engine:
    """admins: (channel, chat id) of the cluster agents."""
    menu, onboarding, leads = MenuFlow(), OnboardingFlow(), LeadsFlow()
    return Engine(
        uow_factory=uow_factory,
        places=places,
        clock=clock,
        flows=[StartLinks(onboarding, leads), onboarding, menu, PrivacyFlow(), QuizFlow(), ProfessionsFlow(),
               VacanciesFlow(), EventsFlow(), CompaniesFlow(), leads],
        commands=COMMANDS,
        fallback=menu,
        admins=admins,
    )
