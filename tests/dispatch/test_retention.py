"""Retention: recordings and transcripts older than Settings.retention_days are
deleted; newer ones and the tickets stay. Caller numbers are masked in logs."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta

from dispatch.contract import CallEnd, CallStart, ComplaintReport, TurnRecord, mask_phone


def a_call(service, sid: str, started: datetime, recording) -> None:
    service.open_call(CallStart(call_sid=sid, caller_number="+15185550987", started_at=started))
    service.record_turn(TurnRecord(call_sid=sid, index=0, speaker="caller", text="my name is Jo"))
    service.record_turn(
        TurnRecord(call_sid=sid, index=1, speaker="bot", text="Where is it?", latency_ms=900)
    )
    service.close_call(
        CallEnd(
            call_sid=sid,
            ended_at=started + timedelta(minutes=2),
            outcome="ticket_filed",
            recording_path=str(recording),
        )
    )


def test_old_recordings_and_transcripts_are_deleted(service, clock, settings_for) -> None:
    settings = settings_for()
    recordings = settings.recordings_dir
    recordings.mkdir(parents=True, exist_ok=True)
    now = clock()
    old_started = now - timedelta(days=settings.retention_days + 1)
    new_started = now - timedelta(days=settings.retention_days - 1)
    old_file, new_file = recordings / "CAold.wav", recordings / "CAnew.wav"
    old_file.write_bytes(b"RIFF")
    new_file.write_bytes(b"RIFF")
    stray = recordings / "orphan.wav"  # a recording no call references
    stray.write_bytes(b"RIFF")
    old_epoch = old_started.timestamp()
    os.utime(stray, (old_epoch, old_epoch))

    a_call(service, "CAold", old_started, old_file)
    a_call(service, "CAnew", new_started, new_file)
    clock.now = old_started
    old_ticket = service.file_complaint(
        ComplaintReport(
            kind=None, needs_triage=True, transcript="loud party on elm", call_sid="CAold"
        )
    )
    clock.now = now

    report = service.purge_expired()
    assert (report.calls, report.recordings_deleted, report.tickets) == (1, 1, 1)
    assert report.stray_files_deleted == 1 and not stray.exists()
    assert not old_file.exists() and new_file.exists()

    old = service.get_call("CAold")
    assert old.recording_path is None and old.purged_at == now
    assert [t.text for t in old.turns] == ["", ""]
    assert old.latencies.count == 1  # timings are kept, words are not
    kept = service.get_call("CAnew")
    assert kept.recording_path == str(new_file) and kept.turns[0].text == "my name is Jo"

    ticket = service.get_ticket(old_ticket.number)
    assert ticket.transcript is None and ticket.events[-1].action == "transcript_purged"
    # Running it again changes nothing.
    again = service.purge_expired()
    assert (again.calls, again.tickets, again.recordings_deleted) == (0, 0, 0)


def test_files_outside_the_recordings_folder_are_never_deleted(service, clock, tmp_path) -> None:
    outside = tmp_path / "elsewhere.wav"
    outside.write_bytes(b"RIFF")
    a_call(service, "CAx", clock() - timedelta(days=400), outside)
    assert service.purge_expired().recordings_deleted == 0
    assert outside.exists()
    assert service.get_call("CAx").recording_path is None


def test_mask_phone() -> None:
    assert mask_phone("+15185550142") == "+1518•••••42"
    assert mask_phone("5550142") == "5••••42"
    assert mask_phone(None) == "unknown"
    assert mask_phone("911") == "•••"


def test_caller_numbers_are_masked_in_logs(service, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="dutyline"):
        service.open_call(
            CallStart(call_sid="CAlog", caller_number="+15185550987", started_at=datetime.now(UTC))
        )
        service.file_complaint(
            ComplaintReport(kind="noise", location="Elm Street", caller_number="+15185550987")
        )
    assert "+15185550987" not in caplog.text and "5550987" not in caplog.text
    assert "+1518•••••87" in caplog.text
