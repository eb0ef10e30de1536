"""Issue 13 through the real `lotse run` process: a free question answered by a language model on a fake
OpenAI-compatible server (127.0.0.1), labelled as an AI answer with buttons into the cited pages; when
the model fails, the bot's own find, said so. Nothing personal reaches the model."""
from __future__ import annotations

from tests.e2e.conftest import BotProcess, onboard_teen, press, wait_for_text
from tests.fakes import FakeBotApi
from tests.fakes.openai_server import DEFAULT_KEY, Behaviour, ChatRequest, FakeOpenAI, answer, server_error

TEEN = 1601


def cite_first(request: ChatRequest) -> Behaviour:
    return answer("answered", "Schau auf die Seite dazu, dort steht alles Wichtige.", request.passage_ids[:1])


def test_a_question_gets_a_labelled_ai_answer_and_the_bots_own_find_when_the_model_fails(
        api: FakeBotApi, bot: BotProcess) -> None:
    with FakeOpenAI() as model:
        model.respond = cite_first
        bot.env.update({"OPENAI_API_KEY": DEFAULT_KEY, "OPENAI_BASE_URL": model.base_url,
                        "OPENAI_TIMEOUT_SECONDS": "30"})
        bot.start()
        onboard_teen(api, TEEN, "u16", "pupil")
        api.user_sends_text(TEEN, "Ich heiße Lena Krause. Was verdient ein Dachdecker im ersten Lehrjahr?")
        wait_for_text(api, TEEN, "Einen Moment")
        answered = wait_for_text(api, TEEN, "KI-Antwort")
        assert "Schau auf die Seite dazu" in answered.text and "Geschrieben von einer KI" in answered.text
        assert any(data and data.startswith("tq:ask:") for _, data in answered.buttons)  # the cluster team
        [request] = model.requests
        assert "Lena" not in request.text and "Krause" not in request.text
        [page] = [data for _, data in answered.buttons if data and not data.startswith(("tq:", "m:"))]
        press(api, TEEN, page)  # the source's button opens the bot's own page

        model.respond = lambda request: server_error(503)
        api.user_sends_text(TEEN, "Wie lange dauert die Ausbildung zum Dachdecker?")
        fallback = wait_for_text(api, TEEN, "klappt gerade nicht")
        assert "🤖" not in fallback.text  # no AI answer label on the bot's own find
    assert bot.stop() == 0


def test_frag_das_cluster_team_reaches_the_clusters_agent_and_the_answer_comes_back(
        api: FakeBotApi, bot: BotProcess) -> None:
    """Offline (no OPENAI_API_KEY): the bot's own find, then a human. Only the scrubbed question reaches
    the agent; an agent of another cluster gets nothing."""
    agent, other_agent = 9100, 9200
    bot.env["ADMIN_TELEGRAM_IDS"] = f"{agent},{other_agent}"
    bot.start()
    api.user_sends_command(agent, "/start", "zukunftsmacher")  # the agent of Löbau's cluster
    wait_for_text(api, agent, "Wer bist du?")
    api.user_sends_command(other_agent, "/start", "tab-mint")
    wait_for_text(api, other_agent, "Wer bist du?")
    onboard_teen(api, TEEN, "u16", "pupil")
    api.user_sends_text(TEEN, "Ich heiße Lena Krause. Darf ich mein Praktikum bei meinem Onkel machen?")
    press(api, TEEN, "tq:ask:")
    consent = wait_for_text(api, TEEN, "Das wird gesendet")
    assert "Lena" not in consent.text and "Krause" not in consent.text
    press(api, TEEN, "tq:send:")
    wait_for_text(api, TEEN, "Gesendet!")
    question = wait_for_text(api, agent, "Neue Frage an Ihr Cluster-Team")
    assert "Praktikum bei meinem Onkel" in question.text and "Lena" not in question.text
    press(api, agent, "tq:answer:")
    wait_for_text(api, agent, "Schreiben Sie die Antwort jetzt")
    api.user_sends_text(agent, "Ja, das geht – frag bei deiner Schule nach dem Formular.")
    wait_for_text(api, agent, "ist unterwegs zur Person")
    answer = wait_for_text(api, TEEN, "Antwort vom Cluster-Team")
    assert "frag bei deiner Schule" in answer.text
    assert not any("Praktikum bei meinem Onkel" in m.text for m in api.sent(other_agent))
    assert bot.stop() == 0
