"""Who the cluster agents of a cluster are: the configured agent ids (ADMIN_IDS) whose profile has
chosen that cluster. Agents act only within their cluster, so anything naming a person or their
question goes to that cluster's agents and to no other cluster's."""
from __future__ import annotations

import logging

from flows.core.model import Profile
from flows.core.ports import UnitOfWork

log = logging.getLogger(__name__)


async def agents_for(uow: UnitOfWork, admins: frozenset[tuple[str, int]], cluster: str) -> list[Profile]:
    """The cluster's own agents, in a stable order; a cluster without one is logged (no names)."""
    profiles = [p for channel, chat in sorted(admins) if (p := await uow.users.get(channel, chat)) is not None]
    own = [p for p in profiles if p.cluster == cluster]
    if not own:
        log.warning("no agent has chosen cluster %s: its alerts and questions reach nobody in the chat", cluster)
    return own
