"""Companies: list the cluster's companies, edit what an agent may change of one (name, PLZ, place,
description, size, website, professions: storage/content_edits.py with the content pack's checks), and
its contacts (issue 12, point 7): who is linked, invite one more (a single-use link and QR code, the
same invitation as the bot's /einladung), withdraw an open invitation, remove a contact.

Contacts are shown without their full chat id ("Telegram …1234"): the agent needs to tell them apart,
not to reach them (the bot stores no names). A removed contact gets no more leads of the company, and
lead notifications queued for them but not sent yet are stopped. Every change is in the audit log.
"""
from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from cockpit import forms
from cockpit.pages.offers import editor, error_messages, german_date, unplaced
from cockpit.qr import qr_png, qr_svg
from cockpit.web import agent_of, cockpit_of, not_found, page, see_other
from flows.conversations.leads import INVITE_PREFIX, create_invite
from flows.domain.lead import CompanyInvite
from storage.content_edits import ContentEditor, ContentItem, EditConflict, EditRejected, NotFound
from storage.leads import LinkedContact, SqlLeadRepository
from storage.uow import SqlUnitOfWork

BASE = "/betriebe"
TEXT_FIELDS = ("name", "plz", "place", "description", "size", "website")
FORM_FIELDS = (*TEXT_FIELDS, "professions")
TOKEN_RE = re.compile(r"[0-9a-f]{32}")  # flows/conversations/leads/common.py new_token()
STOPPED_ON_REMOVAL = ("leads.company_new", "leads.company_reminder")  # not the notice of a withdrawn lead
SLUG_MAX = 64


def masked(contact: LinkedContact) -> str:
    """"…1234": enough to tell contacts apart, not to write to them."""
    digits = str(abs(contact.chat_id))
    return "…" + digits[-4:]


def invite_url(request: web.Request, token: str) -> str:
    return f"https://t.me/{cockpit_of(request).bot_username}?start={INVITE_PREFIX}{token}"


def read_fields(form: forms.Form) -> dict[str, Any]:
    fields: dict[str, Any] = {name: forms.text(form, name, 5000) for name in TEXT_FIELDS}
    fields["professions"] = [v for v in form.getall("professions", []) if isinstance(v, str)][:50]
    return fields


def _slug(request: web.Request) -> str:
    return request.match_info["slug"][:SLUG_MAX]


async def _company(request: web.Request, edit: ContentEditor | None = None) -> ContentItem | None:
    """One of the agent's cluster's companies (archived ones too), else None."""
    try:
        return await (edit or editor(request)).item(agent_of(request).cluster, "companies", _slug(request))
    except NotFound:
        return None


async def overview(request: web.Request) -> web.Response:
    agent, edit = agent_of(request), editor(request)
    companies = await edit.items(agent.cluster, "companies")
    offers: dict[str, int] = {}
    for offer in await edit.items(agent.cluster, "vacancies"):
        offers[offer.data["company"]] = offers.get(offer.data["company"], 0) + 1
    async with cockpit_of(request).reads() as session:
        contacts = await SqlLeadRepository(session).contact_counts([c.slug for c in companies])
    return page(request, "companies.html", {"items": companies, "offers": offers, "contacts": contacts,
                                            "professions": dict(await edit.professions())})


async def _page(request: web.Request, edit: ContentEditor, item: ContentItem, values: dict[str, Any] | None = None,
                errors: dict[str, list[str]] | None = None, conflict: list[tuple[str, Any]] | None = None,
                status: int = 200, invitation: CompanyInvite | None = None) -> web.Response:
    agent, cockpit = agent_of(request), cockpit_of(request)
    errors = errors or {}
    now = cockpit.app.clock.now()
    async with cockpit.reads() as session:
        leads = SqlLeadRepository(session)
        contacts = await leads.linked_contacts(item.slug)
        invites = await leads.open_invites(item.slug, now) if not item.archived else []
    offers = [o for o in await edit.items(agent.cluster, "vacancies") if o.data.get("company") == item.slug]
    professions = await edit.professions()
    chosen = (values or item.data).get("professions") or []
    known = {slug for slug, _ in professions}
    professions += [(p, p) for p in chosen if p not in known]  # still shown (and kept) if gone from the list
    return page(request, "company.html", {
        "item": item, "values": values or dict(item.data), "errors": errors, "unplaced": unplaced(errors, FORM_FIELDS),
        "stale": conflict is not None, "conflict": conflict or [], "professions": professions,
        "contacts": [(c, masked(c)) for c in contacts], "invites": invites, "offers": offers,
        "german_date": german_date, **_invitation_values(request, invitation)}, status=status)


def _invitation_values(request: web.Request, invitation: CompanyInvite | None) -> dict[str, Any]:
    if invitation is None:
        return {"invitation": None}
    return {"invitation": invitation, "invitation_open": _is_open(invitation, request),
            "invitation_url": invite_url(request, invitation.token)}


async def detail(request: web.Request) -> web.Response:
    edit = editor(request)
    item = await _company(request, edit)
    if item is None:
        return not_found(request)
    return await _page(request, edit, item)


async def update(request: web.Request) -> web.StreamResponse:
    agent, edit, slug = agent_of(request), editor(request), _slug(request)
    form = await request.post()
    fields = read_fields(form)
    try:
        result = await edit.edit_company(agent.by, agent.cluster, slug, fields, forms.text(form, "version", 100) or None)
    except NotFound:
        return not_found(request)
    except EditRejected as rejected:
        item = await edit.item(agent.cluster, "companies", slug)
        return await _page(request, edit, item, fields, error_messages(request, rejected), status=422)
    except EditConflict:
        item = await edit.item(agent.cluster, "companies", slug)
        conflict = [(name, item.data.get(name)) for name in FORM_FIELDS
                    if (item.data.get(name) or None) != (fields.get(name) or None)]
        return await _page(request, edit, item, fields, conflict=conflict, status=409)
    raise see_other(f"{BASE}/{slug}", "saved" if result.changed else "nothing_changed")


# ---- contacts and invitations --------------------------------------------------------------------

async def invite(request: web.Request) -> web.StreamResponse:
    """A single-use invitation for a new contact, as the bot's /einladung makes it."""
    agent, cockpit = agent_of(request), cockpit_of(request)
    item = await _company(request)
    if item is None or item.archived:
        return not_found(request)
    now = cockpit.app.clock.now()
    async with cockpit.app.uow_factory() as uow:
        payload = await create_invite(uow, item.slug, now)
        if payload is None:  # archived meanwhile
            return not_found(request)
        invitation = await uow.leads.invite(payload.removeprefix(INVITE_PREFIX))
        assert invitation is not None
        await uow.cockpit.record(now, agent.by, agent.cluster, "contact_invited", f"company:{item.slug}",
                                 {"expires_at": invitation.expires_at.isoformat()})
        await uow.commit()
    raise see_other(f"{BASE}/{item.slug}/einladungen/{invitation.token}", "invite_created")


async def _invitation(request: web.Request) -> tuple[ContentItem, CompanyInvite] | None:
    token = request.match_info["token"]
    item = await _company(request)
    if item is None or TOKEN_RE.fullmatch(token) is None:
        return None
    async with cockpit_of(request).reads() as session:
        found = await SqlLeadRepository(session).invite(token)
    return (item, found) if found is not None and found.company == item.slug else None


def _is_open(invitation: CompanyInvite, request: web.Request) -> bool:
    return invitation.used_at is None and invitation.expires_at > cockpit_of(request).app.clock.now()


async def invitation_page(request: web.Request) -> web.Response:
    """The company's page with one invitation on top: its link and QR code while it is open."""
    found = await _invitation(request)
    if found is None:
        return not_found(request)
    item, invitation = found
    return await _page(request, editor(request), item, invitation=invitation)


async def invitation_qr(request: web.Request) -> web.StreamResponse:
    found = await _invitation(request)
    if found is None or not _is_open(found[1], request):
        return not_found(request)
    item, invitation = found
    url, name = invite_url(request, invitation.token), f"einladung-{item.slug}"
    if request.match_info["kind"] == "png":
        return web.Response(body=qr_png(url), content_type="image/png",
                            headers={"Content-Disposition": f'inline; filename="{name}.png"'})
    return web.Response(text=qr_svg(url, title=str(item.data.get("name", item.slug))), content_type="image/svg+xml",
                        headers={"Content-Disposition": f'inline; filename="{name}.svg"'})


async def withdraw(request: web.Request) -> web.StreamResponse:
    agent, cockpit = agent_of(request), cockpit_of(request)
    found = await _invitation(request)
    if found is None:
        return not_found(request)
    item, invitation = found
    now = cockpit.app.clock.now()
    async with cockpit.app.uow_factory() as uow:
        if not await uow.leads.withdraw_invite(item.slug, invitation.token, now):
            raise see_other(f"{BASE}/{item.slug}", "invite_not_open")
        await uow.cockpit.record(now, agent.by, agent.cluster, "contact_invite_withdrawn", f"company:{item.slug}",
                                 {"created_at": invitation.created_at.isoformat()})
        await uow.commit()
    raise see_other(f"{BASE}/{item.slug}", "invite_withdrawn")


async def stop_pending_leads(uow: SqlUnitOfWork, company: str, channel: str, chat_id: int) -> int:
    """Lead notifications of this company queued for a contact and not sent yet: dropped (the contact
    was removed). Messages of other companies they are a contact of are left alone."""
    keys = []
    for message in await uow.outbox.list_for(channel, chat_id):
        lead_id = message.reply.values.get("lead_id")
        if message.reply.key not in STOPPED_ON_REMOVAL or not isinstance(lead_id, int):
            continue
        lead = await uow.leads.get(lead_id)
        if lead is not None and lead.company == company:
            keys.append(message.idempotency_key)
    return await uow.outbox.cancel(keys)


async def remove_contact(request: web.Request) -> web.StreamResponse:
    agent, cockpit = agent_of(request), cockpit_of(request)
    item = await _company(request)
    raw = request.match_info["id"]
    if item is None or not raw.isdigit() or len(raw) > 12:
        return not_found(request)
    now = cockpit.app.clock.now()
    async with cockpit.app.uow_factory() as uow:
        contact = next((c for c in await uow.leads.linked_contacts(item.slug) if c.id == int(raw)), None)
        if contact is None or not await uow.leads.remove_contact(item.slug, contact.channel, contact.chat_id):
            return not_found(request)
        stopped = await stop_pending_leads(uow, item.slug, contact.channel, contact.chat_id)
        detail: dict[str, Any] = {"contact": f"{contact.channel}:{masked(contact)}"}
        if stopped:
            detail["stopped"] = stopped
        await uow.cockpit.record(now, agent.by, agent.cluster, "contact_removed", f"company:{item.slug}",
                                 detail)
        await uow.commit()
    raise web.HTTPSeeOther(f"{BASE}/{item.slug}?hinweis=contact_removed&n={stopped}")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(BASE, overview)
    router.add_get(BASE + "/{slug}", detail)
    router.add_post(BASE + "/{slug}", update)
    router.add_post(BASE + "/{slug}/einladen", invite)
    router.add_get(BASE + "/{slug}/einladungen/{token}", invitation_page)
    router.add_get(BASE + "/{slug}/einladungen/{token}/qr.{kind:png|svg}", invitation_qr)
    router.add_post(BASE + "/{slug}/einladungen/{token}/zurueckziehen", withdraw)
    router.add_post(BASE + "/{slug}/kontakte/{id}/entfernen", remove_contact)
