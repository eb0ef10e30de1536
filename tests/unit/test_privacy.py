"""/datenschutz, /meinedaten, /loeschen."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from flows.core.model import ConsentRecord
from tests.unit.harness import Harness


async def _onboarded() -> Harness:
    h = Harness()
    await h.command("start", "_plakat")
    await h.press("ob:role:teen")
    await h.press("ob:age:16_17")
    await h.text("02826")
    await h.press("ob:place_confirm:yes")
    await h.press("ob:school:mittlere_reife")
    return h


async def test_privacy_info_in_german_and_english_command() -> None:
    h = await _onboarded()
    assert await h.command("datenschutz") == ["privacy.info"]
    assert await h.command("privacy") == ["privacy.info"]


async def test_export_contains_all_personal_data_as_json() -> None:
    h = await _onboarded()
    h.store.consents[h.user_id] = [ConsentRecord(
        purpose="lead", text_version="v1", given_by="self", recipients=["firma-a"],
        given_at=datetime(2027, 1, 1, tzinfo=UTC))]
    assert await h.command("meinedaten") == ["privacy.export"]
    document = h.reply("privacy.export").document
    assert document is not None and document.filename.endswith(".json")
    data = json.loads(document.content)
    assert data["profile"]["plz"] == "02826" and data["profile"]["source"] == "plakat"
    assert data["profile"]["age_band"] == "16_17"
    assert data["consents"][0]["recipients"] == ["firma-a"]
    assert "conversation" in data


async def test_delete_needs_confirmation_and_then_erases_everything() -> None:
    h = await _onboarded()
    user_id = h.user_id
    h.store.consents[user_id] = [ConsentRecord(purpose="lead", text_version="v1", given_by="self",
                                               given_at=datetime(2027, 1, 1, tzinfo=UTC))]
    assert await h.command("loeschen") == ["privacy.confirm_delete"]
    assert await h.press("pv:delete:no") == ["privacy.delete_cancelled", "menu.main"]
    assert user_id in h.store.users
    await h.command("loeschen")
    assert await h.press("pv:delete:yes") == ["privacy.deleted"]
    assert user_id not in h.store.users
    assert user_id not in h.store.states and user_id not in h.store.consents
    # A new start is a new user with nothing remembered.
    assert await h.command("start") == ["onboarding.welcome", "onboarding.ask_role"]
    assert h.profile.source is None and h.profile.plz is None


async def test_delete_confirmation_cannot_be_replayed_later() -> None:
    h = await _onboarded()
    await h.command("loeschen")
    await h.press("pv:delete:no")
    assert await h.forge("pv:delete:yes") == ["fallback.stale_button", "menu.main"]
    assert h.profile.plz == "02826"


async def test_the_kept_search_filters_are_in_the_export() -> None:
    h = await _onboarded()
    await h.command("stellen")
    await h.press("v:f")
    await h.press("v:r:50")
    await h.press("v:n:0")
    await h.command("meinedaten")
    document = h.reply("privacy.export").document
    assert document is not None
    assert json.loads(document.content)["last_search_filters"]["radius_km"] == 50
