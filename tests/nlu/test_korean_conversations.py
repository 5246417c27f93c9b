"""Every complaint kind, and a status check by keypad, in Korean at the text level: the app's
dialogue client, the real Korean Rasa server and the app's actions, the Gwangju places and
the real database (the session `stack`). The pilot's two kinds also go through speech in
tests/voice/test_korean_calls.py."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from dispatch.contract import CallStart
from nlu.client import RasaDialogue
from nlu.contract import BotReply
from nlu.project import locale_dir
from nlu.rasa_servers import rasa_urls_of

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]

HANGUL = re.compile(r"[가-힣]")
# kind: (what the caller says first, where, the road the ticket must have)
OPENINGS: dict[str, tuple[str, str, str]] = {
    "illegal_parking": ("우리 가게 앞에 차가 불법 주차돼 있어요", "중앙로 12", "중앙로"),
    "dead_animal": ("도로에 고양이가 죽어 있어요", "경안로 5", "경안로"),
    "noise": ("옆집에서 밤새 음악을 크게 틀어서 너무 시끄러워요", "광주대로 64", "광주대로"),
    "pothole": ("도로에 큰 구멍이 파여 있어요", "송정로 78", "송정로"),
    "streetlight_out": ("가로등이 꺼져서 길이 너무 어두워요", "역동로 33", "역동로"),
    "illegal_dumping": ("누가 길가에 쓰레기를 몰래 버리고 갔어요", "오포로 150", "오포로"),
    "water_leak": ("수도관이 터져서 물이 도로로 넘쳐요", "회안대로 97", "회안대로"),
    "fallen_tree": ("나무가 쓰러져서 길을 막고 있어요", "곤지암로 9", "곤지암로"),
    "traffic_signal": ("신호등이 고장 나서 계속 빨간불이에요", "청석로 115", "청석로"),
    "stray_animal": ("큰 개가 목줄 없이 돌아다니면서 사람들을 쫓아가요", "삼동로 88", "삼동로"),
}
ANSWERS = {"vehicle": "흰색 승용차예요", "animal": "고양이요", "light_count": "세 개요"}


def _questions() -> dict[str, str]:
    kinds = yaml.safe_load((locale_dir("ko") / "complaint_kinds.yaml").read_text("utf-8"))
    return {
        spec["question"]: slot
        for kind in kinds["kinds"].values()
        for slot, spec in (kind.get("slots") or {}).items()
        if spec.get("question")
    }


@pytest.fixture
async def dialogue(stack: Any) -> AsyncIterator[RasaDialogue]:
    client = RasaDialogue(rasa_urls_of(stack.settings), timeout=60, locale="en")
    yield client
    await client.aclose()


def said(replies: list[BotReply]) -> str:
    return " ".join(r.text or "" for r in replies)


def ticket_in(replies: list[BotReply]) -> str | None:
    return next((r.control.ticket_number for r in replies if r.control.ticket_number), None)


async def korean_report(stack: Any, dialogue: RasaDialogue, kind: str) -> tuple[str, list[str]]:
    opening, where, _ = OPENINGS[kind]
    sid = f"CAko{uuid.uuid4().hex}"
    stack.services.dispatch.open_call(
        CallStart(
            call_sid=sid,
            caller_number="+821055501234",
            called_number=stack.ko.number,
            started_at=datetime.now(UTC),
            locale="ko",
        )
    )
    meta = {"locale": "ko", "city": stack.ko.city, "call_sid": sid}
    heard = [said(await dialogue.start(sid, {**meta, "caller_number": "+821055501234"}))]
    replies = await dialogue.say(sid, opening, meta)
    questions = _questions()
    for _ in range(10):
        heard.append(said(replies))
        number = ticket_in(replies)
        if number:
            return number, heard
        bot = heard[-1]
        slot = next((s for q, s in questions.items() if q in bot), None)
        if slot:
            answer = ANSWERS.get(slot, "네 그래요")
        elif "맞습니까" in bot or "맞나요" in bot:
            answer = "네 맞아요"
        elif "위치" in bot or "어디" in bot:
            answer = where
        else:
            pytest.fail(f"{kind}: unexpected prompt {bot!r}; heard {heard}")
        replies = await dialogue.say(sid, answer, meta)
    pytest.fail(f"{kind}: no ticket; heard {heard}")


@pytest.mark.parametrize("kind", list(OPENINGS))
async def test_every_kind_is_filed_in_korean(stack: Any, dialogue: RasaDialogue, kind: str) -> None:
    number, heard = await korean_report(stack, dialogue, kind)
    assert all(HANGUL.search(text) for text in heard), heard
    ticket = stack.services.dispatch.get_ticket(number)
    assert ticket is not None
    assert ticket.kind == kind, (ticket.kind, heard)
    road = OPENINGS[kind][2]
    where = " ".join(v or "" for v in (ticket.place_name, ticket.location_text))
    assert road in where, (where, heard)
    # the number read back digit by digit, in a Korean sentence
    assert any("접수 번호" in t and ", ".join(number) in t for t in heard), heard


async def test_a_status_check_by_keypad_in_korean(stack: Any, dialogue: RasaDialogue) -> None:
    number, _ = await korean_report(stack, dialogue, "pothole")
    sid = f"CAko{uuid.uuid4().hex}"
    meta = {"locale": "ko", "city": stack.ko.city, "call_sid": sid}
    await dialogue.start(sid, {**meta, "caller_number": "+821055501234"})
    asked = said(await dialogue.keypad(sid, "2"))
    assert "접수 번호" in asked, asked
    status = said(await dialogue.keypad(sid, number))
    assert ", ".join(number) in status and HANGUL.search(status), status
    assert "도로 파손" in status or "포트홀" in status or "구멍" in status, status
    # the status and the department as the city's data names them in Korean
    assert "접수됨" in status and "도로시설과" in status, status
    assert not re.search(r"[A-Za-z]{3,}", status), status
