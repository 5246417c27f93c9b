"""The composition root: the only module that knows voice/, nlu/ and dispatch/ together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from dispatch.background import DispatchWorkers
from dispatch.db import make_engine
from dispatch.email_sender import make_email_sender
from dispatch.lines import lines_of
from dispatch.routes import routers as dispatch_routers
from dispatch.service import DispatchService
from dutyline.health import router as health_router
from dutyline.logs import configure_logging
from dutyline.metrics_route import router as metrics_router
from dutyline.settings import Settings, get_settings
from nlu.actions import router as actions_router
from nlu.client import RasaDialogue
from nlu.fixed_replies import fixed_sentences
from nlu.project import locale_dir
from nlu.rasa_servers import rasa_locales, rasa_urls_of
from voice.call_control import CallControl, make_call_control
from voice.capacity import warm as warm_capacity
from voice.expectations import Expectations, RecognitionVocabulary
from voice.prompts import warm
from voice.recorded_prompts import load_for_locale as load_recorded_prompts
from voice.routes import router as voice_router
from voice.sms_routes import router as sms_router
from voice.softphone import router as softphone_router
from voice.speech import SpeechModels

log = logging.getLogger("dutyline")


@dataclass
class Services:
    """What the routes reach through `request.app.state.services`."""

    settings: Settings
    dispatch: DispatchService
    dialogue: RasaDialogue
    speech: SpeechModels
    call_control: CallControl


def build_services(settings: Settings, *, speech: SpeechModels | None = None) -> Services:
    call_control = make_call_control(settings)
    engine = make_engine(settings.database_url)
    # issue 14: every line's locale has a dialogue project and its own Rasa server(s).
    lines = lines_of(settings)
    lines.check_locales(rasa_locales(), where=str(settings.lines))
    return Services(
        settings=settings,
        dispatch=DispatchService(
            engine, settings, sms=call_control, email=make_email_sender(settings)
        ),
        dialogue=RasaDialogue(
            rasa_urls_of(settings),
            timeout=settings.rasa_timeout_seconds,
            locale=lines.default.locale,
        ),
        speech=speech or SpeechModels(settings),
        call_control=call_control,
    )


def recognition_vocabulary(services: Services, locale: str = "en") -> RecognitionVocabulary:
    """The words the line's questions expect: the city's places (the city of the locale's
    first line), the complaint kinds' keywords, and the words callers use (the dialogue's
    training examples of that locale)."""
    dispatch = services.dispatch
    training = sorted((locale_dir(locale) / "data" / "nlu").glob("*.yml"))
    return RecognitionVocabulary(
        places=dispatch.place_vocabulary(dispatch.lines.city_of_locale(locale)),
        complaint_words=tuple(k for kind in dispatch.kinds.values() for k in kind.keywords),
        common_words=tuple(path.read_text(encoding="utf-8") for path in training),
    )


def line_vocabularies(services: Services) -> dict[str, RecognitionVocabulary]:
    """Each line locale's recognition vocabulary; a city without places is logged, as its
    callers' places are then heard without its names and found nowhere on the map."""
    lines = services.dispatch.lines
    vocabularies = {locale: recognition_vocabulary(services, locale) for locale in lines.locales}
    for locale, vocabulary in vocabularies.items():
        if vocabulary.places.empty:
            log.warning(
                "the %s line's city (%s) has no places: its callers' places are heard "
                "without the city's names and not found on the map; import them with "
                "`dutyline places import`",
                locale,
                lines.city_of_locale(locale),
            )
    return vocabularies


def load_speech(services: Services) -> None:
    """Load the models, run each once, and synthesize the fixed prompts: no call waits."""
    services.speech.load()
    try:
        lines = services.dispatch.lines
        main = lines.default.locale
        # Each other line's place answers get its own city's names (a Korean road's name
        # is scored against the audio: voice/road_scoring.py).
        vocabularies = line_vocabularies(services)
        others = {locale: v.places for locale, v in vocabularies.items() if locale != main}
        services.speech.expectations = Expectations(
            vocabularies[main], locale=main, other_places=others
        )
    except Exception:
        # Without them the line still hears callers, only without the city's names.
        log.exception("recognition hints unavailable; the recognizer runs without them")
    services.speech.warm_up()
    try:
        for locale in services.dispatch.lines.locales:  # every line's language (issue 14)
            try:  # the dialogue's sentences without a slot: no reply waits for them (issue 12)
                replies = fixed_sentences(locale, services.settings.data_dir)
            except Exception:
                log.exception("the dialogue's fixed sentences for %s are unknown", locale)
                replies = ()
            # The city's recordings first: what is recorded is never synthesized (issue 14).
            own = load_recorded_prompts(services.speech.prompt_cache, locale, services.settings)
            warm(services.speech.prompt_cache, locale, replies=replies, also=own)
        warm_capacity(services.speech.prompt_cache, services.settings)
    finally:  # made or not (a failure is logged), the replica is ready: Piper makes the rest
        services.speech.prompts_ready = True


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    load_models: bool = True,
) -> FastAPI:
    settings = settings or get_settings()
    # JSON lines, caller numbers masked; after uvicorn's own set-up, so its loggers join.
    configure_logging()
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # asyncio's default pool has cpu_count + 4 threads; calls waiting for the speech
        # engines would hold them all and starve each other's database writes.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="dutyline")
        )
        workers = DispatchWorkers(services.dispatch)
        workers.start()
        loading = None
        if load_models:
            # Models load in a worker thread; /healthz says 503 until they are in.
            loading = asyncio.create_task(asyncio.to_thread(load_speech, services))
        try:
            yield
        finally:
            await workers.stop()
            if loading is not None and not loading.done():
                loading.cancel()
            await services.dialogue.aclose()

    # No /docs: Swagger UI loads from a CDN, which a closed city network cannot reach.
    app = FastAPI(
        title="dutyline", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.services = services
    app.include_router(health_router)
    app.include_router(metrics_router)  # GET /metrics, Prometheus text
    app.include_router(voice_router)
    app.include_router(sms_router)  # STOP/START/HELP texted to the line
    app.include_router(softphone_router)  # the demo page; off in production
    app.include_router(actions_router)
    for router in dispatch_routers:
        app.include_router(router)
    return app
