"""The hand-over wizard keeps a typed context between steps: stored as JSON, read back as the
model, and a broken one (e.g. from an older version) never crashes a step."""
from __future__ import annotations

from flows.conversations.leads.handover import HandOverContext
from flows.core.model import ConversationState


def test_the_context_is_stored_as_json_and_read_back_as_the_model() -> None:
    context = HandOverContext(target="vacancy:x", title="Mechatroniker:in", main="firma", options=["b"], chosen=["firma"])
    stored = context.at("recipients")
    assert stored.flow == "leads" and stored.context["chosen"] == ["firma"]
    assert HandOverContext.of(ConversationState.model_validate(stored.model_dump(mode="json"))) == context


def test_another_flow_or_a_broken_context_is_no_open_wizard() -> None:
    assert HandOverContext.of(ConversationState(flow="quiz", step="question", context={"i": 3})) is None
    broken = ConversationState(flow="leads", step="recipients", context={"chosen": "not a list"})
    assert HandOverContext.of(broken) is None
