"""Dispatch's Prometheus series, on SQLite and PostgreSQL: tickets filed by kind and
department, failed sends, escalations, and the outbox backlog read from the database."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

from dispatch.db import make_engine
from dispatch.metrics import OutboxBacklog
from dispatch.service import DispatchService
from tests.dispatch.conftest import RecordingSms
from tests.dispatch.test_escalation import MONDAY_10, parking
from tests.dispatch.test_filing import answered, noise


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def backlog(engine) -> dict[str, float]:
    [family] = OutboxBacklog(engine).collect()
    return {sample.labels["channel"]: sample.value for sample in family.samples}


def test_a_ticket_is_counted_once_by_kind_department_and_channel(service) -> None:
    department = service.kinds["noise"].department
    labels = {"kind": "noise", "department": department, "channel": "phone"}
    before = value("dutyline_tickets_filed_total", **labels)
    report = noise(call_sid=answered(service))
    first = service.file_complaint(report)
    again = service.file_complaint(report)  # the dialogue retried its action: no new ticket
    assert again.number == first.number and first.department_code == department
    assert value("dutyline_tickets_filed_total", **labels) == before + 1


def test_failed_sends_are_counted_and_the_backlog_comes_from_the_database(
    engine, settings_for, clock
) -> None:
    service = DispatchService(engine, settings_for(), sms=RecordingSms(failures=2), clock=clock)
    assert backlog(engine) == {"email": 0, "sms": 0, "webhook": 0}
    service.file_complaint(noise(call_sid=answered(service)))  # caller receipt + officer SMS
    assert backlog(engine)["sms"] == 2

    retrying = value("dutyline_outbox_failures_total", channel="sms", result="retrying")
    assert service.deliver_outbox().retrying == 2
    assert value("dutyline_outbox_failures_total", channel="sms", result="retrying") == (
        retrying + 2
    )
    assert backlog(engine)["sms"] == 2  # still waiting, for the retry

    clock.advance(minutes=1)
    assert service.deliver_outbox().sent == 2
    assert backlog(engine)["sms"] == 0


def test_an_escalation_is_counted(service, clock) -> None:
    clock.now = MONDAY_10
    service.file_complaint(parking())
    before = value("dutyline_escalations_total")
    clock.advance(minutes=15)
    assert service.run_escalations() == 1
    assert value("dutyline_escalations_total") == before + 1


def test_a_scrape_without_the_database_leaves_the_backlog_out(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'none.db'}")
    assert list(OutboxBacklog(engine).collect()) == []
