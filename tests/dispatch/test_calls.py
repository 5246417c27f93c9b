"""Calls and turns as voice/ reports them, read back for supervisors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch.contract import CallEnd, CallStart, ComplaintReport, TurnRecord
from dispatch.public import CallFilters

STARTED = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def test_a_call_with_turns_ticket_and_latencies(service) -> None:
    sid = "CA" + "a" * 32
    service.open_call(
        CallStart(
            call_sid=sid,
            caller_number="+15185550987",
            called_number="+15185550000",
            started_at=STARTED,
        )
    )
    for index, (speaker, text, latency) in enumerate(
        [
            ("bot", "City night line. What would you like to report?", 400),
            ("caller", "there's a loud party next door", None),
            ("bot", "Where is it?", 800),
            ("caller", "on elm street", None),
            ("bot", "Your ticket number is ...", 1200),
        ]
    ):
        service.record_turn(
            TurnRecord(
                call_sid=sid,
                index=index,
                speaker=speaker,
                text=text,
                latency_ms=latency,
                intent="report_noise" if speaker == "caller" else None,
            )
        )
    # A turn sent twice (a retry) is stored once.
    service.record_turn(
        TurnRecord(
            call_sid=sid,
            index=4,
            speaker="bot",
            text="Your ticket number is 2611210001",
            latency_ms=1200,
            stage_ms={"recognition": 600, "dialogue": 300},
        )
    )
    filed = service.file_complaint(
        ComplaintReport(kind="noise", location="Elm Street", call_sid=sid)
    )
    service.close_call(
        CallEnd(
            call_sid=sid,
            ended_at=STARTED + timedelta(seconds=95),
            outcome="ticket_filed",
            telephony_status="completed",
        )
    )

    call = service.get_call(sid)
    assert call.outcome == "ticket_filed" and call.duration_seconds == 95
    assert call.ticket_numbers == [filed.number]
    assert [t.index for t in call.turns] == [0, 1, 2, 3, 4]
    assert call.turns[4].text.endswith("2611210001")
    assert call.latencies.count == 3 and call.latencies.median_ms == 800
    assert call.latencies.max_ms == 1200
    assert call.turns[4].stage_ms == {"recognition": 600, "dialogue": 300}
    assert call.latencies.stage_median_ms == {"recognition": 600.0, "dialogue": 300.0}
    assert service.get_call("CAnope") is None

    [listed] = service.list_calls(CallFilters(outcome=["ticket_filed"]))
    assert listed.call_sid == sid and listed.ticket_numbers == [filed.number]
    assert service.list_calls(CallFilters(started_from=STARTED + timedelta(hours=1))) == []


def test_turns_of_a_call_never_opened_are_kept(service) -> None:
    service.record_turn(TurnRecord(call_sid="CAorphan", index=0, speaker="caller", text="hello?"))
    service.close_call(CallEnd(call_sid="CAorphan", ended_at=datetime.now(UTC), outcome="no_input"))
    call = service.get_call("CAorphan")
    assert call.turns[0].text == "hello?" and call.outcome == "no_input"
    # Opening it late fills in the caller.
    service.open_call(
        CallStart(call_sid="CAorphan", caller_number="+15185550987", started_at=STARTED)
    )
    assert service.get_call("CAorphan").caller_number == "+15185550987"


def test_health(service, engine) -> None:
    assert service.health() is None


def test_the_service_implements_the_dispatch_contract() -> None:
    import inspect

    from dispatch.contract import Dispatch
    from dispatch.service import DispatchService

    for name, member in inspect.getmembers(Dispatch, inspect.isfunction):
        if name.startswith("_"):
            continue
        ours = getattr(DispatchService, name)
        assert list(inspect.signature(ours).parameters) == list(
            inspect.signature(member).parameters
        ), name


def test_a_later_status_callback_keeps_the_pipelines_outcome(service) -> None:
    sid = "CA" + "c" * 32
    service.open_call(CallStart(call_sid=sid, caller_number="+15185550111", started_at=STARTED))
    ended = STARTED + timedelta(seconds=40)
    service.close_call(CallEnd(call_sid=sid, ended_at=ended, outcome="ticket_filed"))
    # Twilio's callback after a restart knows only that the call completed.
    service.close_call(
        CallEnd(
            call_sid=sid,
            ended_at=ended + timedelta(seconds=2),
            outcome="abandoned",
            telephony_status="completed",
        )
    )
    call = service.get_call(sid)
    assert call.outcome == "ticket_filed"
    assert call.telephony_status == "completed"
    assert call.ended_at == ended
