"""The supervisor's calls: the list with filters, one call's transcript and recording."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from dispatch.auth import (
    PageStaff,
    ServicesDep,
    SessionDep,
    cookie_or_token_staff,
    require_supervisor,
)
from dispatch.contract import AT_CAPACITY_OUTCOMES
from dispatch.i18n import N_
from dispatch.labels import OUTCOME_LABELS
from dispatch.pages import queries
from dispatch.pages.common import page_router, render
from dispatch.pages.translate import page_text
from dispatch.public import CallDetail, CallFilters, TurnPublic
from dispatch.review import (
    LOW_ASR_CONFIDENCE,
    LOW_INTENT_CONFIDENCE,
    heard_unsure,
    understood_unsure,
)

router = page_router()

PAGE_SIZE = 50
SLOW_REPLY_MS = 2500
HANDOFF_OUTCOMES = {"transferred": N_("Handed to a person"), "voicemail": N_("Sent to voicemail")}
AT_CAPACITY = "at_capacity"  # the outcome filter's value for both AT_CAPACITY_OUTCOMES


def _day(raw: str | None, tz: ZoneInfo) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.combine(datetime.strptime(raw, "%Y-%m-%d").date(), time(), tz)
    except ValueError:
        raise HTTPException(400, f"Not a date: {raw}") from None


@router.get("/calls", response_class=HTMLResponse)
def calls_page(
    request: Request,
    staff: PageStaff,
    services: ServicesDep,
    session: SessionDep,
    outcome: str = "",
    caller: str = "",
    kind: str = "",
    flagged: bool = False,
    page: int = 0,
) -> HTMLResponse:
    require_supervisor(staff)
    tz = ZoneInfo(services.settings.timezone)
    raw_from, raw_to = request.query_params.get("from"), request.query_params.get("to")
    start, end = _day(raw_from, tz), _day(raw_to, tz)
    # "at_capacity": either way the full line turned a caller away (dispatch.contract).
    outcomes = list(AT_CAPACITY_OUTCOMES) if outcome == AT_CAPACITY else [outcome]
    filters = CallFilters(
        started_from=start,
        started_to=end + timedelta(days=1) if end else None,
        outcome=outcomes if outcome else None,
        caller_number=caller.strip() or None,
        limit=PAGE_SIZE + 1,
        offset=max(page, 0) * PAGE_SIZE,
    )
    if kind or flagged:
        # Filters the service lacks: match ids here, then page through the service's list.
        wanted = queries.call_ids_matching(
            session=session,
            kind=kind or None,
            flagged=flagged,
            low_asr=LOW_ASR_CONFIDENCE,
            low_intent=LOW_INTENT_CONFIDENCE,
            handoff_outcomes=set(HANDOFF_OUTCOMES),
        )
        everything = services.dispatch.list_calls(
            filters.model_copy(update={"limit": 10_000, "offset": 0})
        )
        matching = [call for call in everything if call.id in wanted]
        calls = matching[filters.offset : filters.offset + filters.limit]
    else:
        calls = services.dispatch.list_calls(filters)
    more = None
    if len(calls) > PAGE_SIZE:
        calls = calls[:PAGE_SIZE]
        query = {k: v for k, v in request.query_params.items() if k != "page"}
        more = f"/calls?{urlencode({**query, 'page': page + 1})}"
    today = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return render(
        request,
        "calls.html",
        staff=staff,
        session=session,
        calls=calls,
        outcomes=list(OUTCOME_LABELS),
        at_capacity=AT_CAPACITY,
        at_capacity_today=queries.calls_at_capacity(session=session, since=today),
        today=today.date().isoformat(),
        kinds=services.dispatch.kinds,
        f={
            "from": raw_from,
            "to": raw_to,
            "outcome": outcome,
            "caller": caller,
            "kind": kind,
            "flagged": flagged,
        },
        more=more,
        section="calls",
    )


def turn_flags(turn: TurnPublic) -> list[str]:
    flags = []
    # English msgids: the call page translates them (|t).
    if heard_unsure(turn.asr_confidence):
        flags.append(N_("low speech confidence"))
    if understood_unsure(turn.intent_confidence):
        flags.append(N_("unsure of intent"))
    if turn.latency_ms is not None and turn.latency_ms > SLOW_REPLY_MS:
        flags.append(N_("slow reply"))
    if turn.intent and any(word in turn.intent for word in ("human", "agent", "operator")):
        flags.append(N_("asked for a person"))
    return flags


def call_flags(call: CallDetail, turns: list[dict[str, Any]]) -> list[str]:
    """What a supervisor should notice about a call, as English msgids with their values
    (the page translates them: `call_flag_texts`)."""
    flags: list[str] = []
    if call.outcome in HANDOFF_OUTCOMES:
        flags.append(HANDOFF_OUTCOMES[call.outcome])
    if call.outcome == "failed":
        flags.append(N_("A component failed during the call; a triage ticket keeps what was said"))
    if call.outcome == "voicemail_at_capacity":
        flags.append(N_("The line was full (at capacity): no dialogue, "
                        "the caller left a voicemail"))  # fmt: skip
    elif call.outcome in AT_CAPACITY_OUTCOMES:
        flags.append(N_("The line was full (at capacity): no dialogue, the caller was given "
                        "the emergency number and the alternatives"))  # fmt: skip
    unsure = sum(1 for t in turns if t["flags"] and t["speaker"] == "caller")
    if unsure:
        flags.append(N_("%(count)s caller turn(s) heard or understood with low confidence"))
    return flags


def call_flag_texts(request: Request, flags: list[str], turns: list[dict[str, Any]]) -> list[str]:
    unsure = sum(1 for t in turns if t["flags"] and t["speaker"] == "caller")
    return [page_text(request, flag, count=unsure) if "%(" in flag else page_text(request, flag)
            for flag in flags]  # fmt: skip


def recording_file(services: Any, call: CallDetail) -> Path | None:
    """The call's WAV, only if it lies inside the recordings folder."""
    if not call.recording_path or call.purged_at:
        return None
    root = services.settings.recordings_dir.resolve()
    path = Path(call.recording_path)
    path = (path if path.is_absolute() else root / path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


@router.get("/calls/{call_sid}", response_class=HTMLResponse)
def call_page(
    request: Request, call_sid: str, staff: PageStaff, services: ServicesDep, session: SessionDep
) -> HTMLResponse:
    require_supervisor(staff)
    call = services.dispatch.get_call(call_sid)
    if call is None:
        raise HTTPException(404, f"No call {call_sid}")
    turns = [{**t.model_dump(), "flags": turn_flags(t)} for t in call.turns]
    view = call.model_copy(update={"turns": []}).model_dump()
    view["turns"] = turns
    view["latencies"] = call.latencies
    return render(
        request,
        "call.html",
        staff=staff,
        session=session,
        c=view,
        flags=call_flag_texts(request, call_flags(call, turns), turns),
        has_recording=recording_file(services, call) is not None,
        section="calls",
    )


@router.get("/calls/{call_sid}/recording.wav")
def recording(
    call_sid: str, request: Request, services: ServicesDep, session: SessionDep
) -> FileResponse:
    # Cookie or token; anonymous gets 401 (a media element cannot follow a sign-in page).
    staff = cookie_or_token_staff(request, services, session)
    require_supervisor(staff)
    call = services.dispatch.get_call(call_sid)
    path = recording_file(services, call) if call is not None else None
    if path is None:
        raise HTTPException(404, "No recording for this call")
    return FileResponse(
        path,
        media_type="audio/wav",
        headers={"Cache-Control": "private, no-store"},
        filename=f"{call_sid}.wav",
        content_disposition_type="inline",
    )
