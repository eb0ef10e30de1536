"""Interessiert mich: a consented hand-over of a young person's contact to companies ("Huckepack"),
in one module per audience:

- handover.py – the young person's wizard, from "Interessiert mich" to the consent screen;
- parent.py   – a parent confirms (or not) for an under-16 child, by a single-use link;
- company.py  – company contacts join by invitation and report on their leads;
- agent.py    – cluster agents: their cluster's leads, CSV, invitations;
- mine.py     – the young person's own requests, withdrawal, "Hat sich der Betrieb gemeldet?";
- flow.py     – the flow the engine talks to, and which part answers which button.

Delivery and withdrawal are in flows/delivery/lead_delivery.py, a lead's rules in flows/domain/lead.py.
"""
from flows.conversations.leads.common import INVITE_PREFIX, PARENT_PREFIX
from flows.conversations.leads.company import create_invite
from flows.conversations.leads.flow import LeadsFlow
from flows.conversations.leads.parent import parent_decisions

__all__ = ["INVITE_PREFIX", "PARENT_PREFIX", "LeadsFlow", "create_invite", "parent_decisions"]
