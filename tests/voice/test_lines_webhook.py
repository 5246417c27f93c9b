"""The webhook picks the line by the number called (Twilio's `To`, data/lines.yaml): the
call's record keeps the line's locale, the Media Stream's parameters carry its locale and
city, and a <Dial> that ends unanswered comes back on the same line. Real signed webhooks
against a real server and a real DispatchService on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callbench.simulator import TwilioLine
from tests.conftest import (
    free_port,
    make_settings,
    migrate_and_seed,
    postgres_database,
    serve_app,
)
from voice.transfers import DIAL_PATH

KOREAN = "+82315550100"  # data/lines.yaml
ENGLISH = "+15555550100"
LINES = [
    (ENGLISH, "en", "Riverton"),
    (KOREAN, "ko", "Gwangju"),
    ("+19995550000", "en", "Riverton"),  # not a line of this deployment: the first one
]


@contextlib.contextmanager
def running_line(tmp: Path, database_url: str, speech: object) -> Iterator[Any]:
    """The real app (real dispatch, loaded speech models) on a database; no Rasa needed to
    answer the webhook."""
    from dutyline.app import build_services, create_app

    port = free_port()
    settings = make_settings(tmp, database_url=database_url, public_url=f"http://127.0.0.1:{port}")
    migrate_and_seed(settings)
    services = build_services(settings, speech=speech)  # type: ignore[arg-type]
    app = create_app(settings, services=services, load_models=False)
    with serve_app(app, port).running():
        yield services
    services.dispatch.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def line_app(request: pytest.FixtureRequest, tmp_path: Path, speech_models: object):
    if request.param == "postgresql":
        with postgres_database() as url, running_line(tmp_path, url, speech_models) as services:
            yield services
    else:
        url = f"sqlite:///{tmp_path / 'lines.db'}"
        with running_line(tmp_path, url, speech_models) as services:
            yield services


def dial_line(services: Any, called: str) -> TwilioLine:
    settings = services.settings
    return TwilioLine(
        settings.public_url,
        public_url=settings.public_url,
        token=settings.signing_token,
        caller_number="+15555550142",
        called_number=called,
    )


@pytest.mark.slow
@pytest.mark.parametrize(("called", "locale", "city"), LINES)
async def test_the_called_number_picks_the_locale_and_city(
    line_app: Any, called: str, locale: str, city: str
) -> None:
    line = dial_line(line_app, called)
    dialed = await line.dial()
    assert dialed.status_code == 200, dialed.twiml
    assert dialed.parameters == {
        "caller": "+15555550142",
        "called": called,
        "locale": locale,
        "city": city,
    }
    record = await asyncio.to_thread(line_app.dispatch.get_call, line.call_sid)
    assert record is not None and record.locale == locale and record.called_number == called
    assert (await line.status_callback("completed")).status_code == 204


@pytest.mark.slow
async def test_an_unanswered_transfer_takes_the_message_on_the_same_line(line_app: Any) -> None:
    line = dial_line(line_app, KOREAN)
    form = line.webhook_form("in-progress") | {"DialCallStatus": "no-answer"}
    response = await line.post_signed(DIAL_PATH, form)
    assert response.status_code == 200, response.text
    stream = ElementTree.fromstring(response.text).find("./Connect/Stream")
    assert stream is not None
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert (parameters["locale"], parameters["city"], parameters["mode"]) == (
        "ko",
        "Gwangju",
        "voicemail",
    )
