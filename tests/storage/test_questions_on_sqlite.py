"""Issue 13 on real SQLite with the demo pack: a parent's and a teen's free question are answered from
the pack's FAQ through the real search, in Sie and du; hostile input never breaks it."""
from __future__ import annotations

from content import DEMO_DIR, default_directory, load_pack
from flows.core.engine import Engine
from flows.core.model import Event, EventKind, Reply, UserRef
from flows.wiring import build_engine
from storage.content_sync import sync_pack
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock


async def _say(engine: Engine, chat_id: int, update_id: int, **fields: object) -> list[Reply]:
    event = Event(user=UserRef(channel="telegram", chat_id=chat_id), update_id=update_id, **fields)  # type: ignore[arg-type]
    replies = (await engine.handle(event)).replies
    await engine.mark_answered(event)
    return replies


async def test_free_questions_are_answered_from_the_packs_faq(uow_factory: SqlUnitOfWorkFactory,
                                                              clock: SteppableClock) -> None:
    await sync_pack(uow_factory, load_pack(DEMO_DIR, default_directory()), clock)
    engine = build_engine(uow_factory, default_directory(), clock)
    for n, move in enumerate([{"kind": EventKind.COMMAND, "text": "start"},
                              {"kind": EventKind.BUTTON, "data": "ob:role:parent"},
                              {"kind": EventKind.BUTTON, "data": "ob:place:skip"}]):
        await _say(engine, 7, n + 1, **move)
    [answer] = await _say(engine, 7, 10, kind=EventKind.TEXT, text="Was verdient ein Dachdecker im ersten Lehrjahr?")
    assert answer.key == "questions.faq"
    assert "724" in answer.values["answer"] and answer.values["sources"]
    assert "Ihnen" in answer.values["answer"] and " du " not in answer.values["answer"]  # parents: the Sie answer
    for n, hostile in enumerate(['"; DROP TABLE search_docs; --', 'NEAR("a" "b") * OR', "\u202e\u0000??"]):
        replies = await _say(engine, 7, 20 + n, kind=EventKind.TEXT, text=hostile)
        assert replies and replies[0].key.startswith(("questions.", "fallback."))
    [again] = await _say(engine, 7, 30, kind=EventKind.TEXT, text="wie viel kohle krieg ich als dachdecker azubi?")
    assert again.key == "questions.faq"
