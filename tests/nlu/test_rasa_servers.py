"""Several Rasa servers behind the app's client (nlu/rasa_servers.py): calls spread over
them, a call whose server is gone moves to the next; and `make run`'s Rasa endpoints with
the Redis tracker and lock stores they share."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from dutyline import rasa_env
from dutyline.runner import rasa_children
from nlu.client import RasaDialogue
from nlu.contract import DialogueUnavailable
from nlu.rasa_servers import RasaServers, server_urls
from tests.conftest import Stack, free_port, make_settings


def test_the_setting_lists_one_or_several_servers() -> None:
    assert server_urls("http://a:5005/") == ["http://a:5005"]
    assert server_urls(" http://a:5005, http://b:5006 ,") == ["http://a:5005", "http://b:5006"]
    with pytest.raises(ValueError):
        server_urls(" , ")


async def test_calls_spread_over_the_servers_and_each_keeps_to_one() -> None:
    servers = RasaServers(["http://a:5005", "http://b:5005"], timeout=1)
    try:
        chosen = [servers.server_of(f"CA{n:032x}") for n in range(200)]
        assert 60 < chosen.count(0) < 140, chosen.count(0)
        assert all(servers.server_of(f"CA{n:032x}") == c for n, c in enumerate(chosen))
    finally:
        await servers.aclose()


async def test_a_call_whose_server_is_gone_moves_to_the_next(stack: Stack) -> None:
    gone = f"http://127.0.0.1:{free_port()}"
    dialogue = RasaDialogue([gone, stack.rasa_url], timeout=30)
    servers = dialogue._servers
    call_sid = next(
        s for s in (f"CA{uuid.uuid4().hex}" for _ in range(100)) if servers.server_of(s) == 0
    )
    try:
        greeting = await dialogue.start(call_sid, {"caller_number": "+15555550123"})
        assert greeting and greeting[0].text
        assert servers.server_of(call_sid) == 1  # it stays where it was answered
        reply = await dialogue.say(call_sid, "a car is blocking my driveway")
        assert reply and reply[0].text
        assert await dialogue.ready()
    finally:
        await dialogue.aclose()


async def test_no_server_left_is_dialogue_unavailable() -> None:
    dialogue = RasaDialogue(
        [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"], timeout=2
    )
    try:
        with pytest.raises(DialogueUnavailable):
            await dialogue.say("CA1", "there's a pothole")
        assert await dialogue.ready() is False
    finally:
        await dialogue.aclose()


def test_rasa_shares_conversations_through_redis_when_told(tmp_path: Path) -> None:
    path = rasa_env.write_endpoints(
        tmp_path / "endpoints.yml",
        "http://127.0.0.1:8000/rasa/actions",
        "s3cret",
        tracker_redis_url="redis://:pw@10.0.0.5:6380/2",
        key_prefix="city",
        record_days=90,
    )
    endpoints = yaml.safe_load(path.read_text())
    redis = {"url": "10.0.0.5", "port": 6380, "db": 2, "password": "pw"}
    assert endpoints["tracker_store"] == {
        "type": "redis", **redis, "key_prefix": "city", "record_exp": 90 * 86400,
    }  # fmt: skip
    assert endpoints["lock_store"] == {"type": "redis", **redis}
    plain = yaml.safe_load(
        rasa_env.write_endpoints(tmp_path / "plain.yml", "http://x/rasa/actions").read_text()
    )
    assert "tracker_store" not in plain and "lock_store" not in plain
    with pytest.raises(ValueError):
        rasa_env.write_endpoints(tmp_path / "bad.yml", "http://x", tracker_redis_url="http://r")


def test_make_run_starts_each_listed_server_and_wants_redis_for_several(tmp_path: Path) -> None:
    console = Console(file=io.StringIO())
    two = "http://127.0.0.1:5105,http://127.0.0.1:5106"
    with pytest.raises(ValueError, match="DUTYLINE_RASA_TRACKER_REDIS_URL"):
        rasa_children(make_settings(tmp_path, rasa_url=two), console)
    settings = make_settings(
        tmp_path, rasa_url=two, rasa_tracker_redis_url="redis://127.0.0.1:6379/0"
    )
    children = rasa_children(settings, console)
    ports = [c.cmd[c.cmd.index("--port") + 1] for c in children]
    assert ports == ["5105", "5106", "5107"]  # and the Korean line's after them (issue 14)
    [one] = rasa_children(make_settings(tmp_path, lines=""), console)  # one line, one server
    assert one.name == "rasa"
