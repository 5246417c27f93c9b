"""Escalation: a ticket nobody acknowledged within Settings.escalation_minutes goes
to the next person in its department's chain, then to the duty supervisor, who are
told by SMS (and by e-mail when they are staff with an address).

The state (step, due time) is a row per ticket, so the scheduler survives a
restart: it only ever reads due times from the database.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from dispatch.audit import record_event
from dispatch.db import session_scope
from dispatch.metrics import ESCALATIONS
from dispatch.models import Department, Escalation, Staff, Ticket, TicketStatus
from dispatch.outbox import notify_staff
from dispatch.outbox_texts import officer_notice
from dispatch.routing import Target, duty_supervisor

log = logging.getLogger("dutyline.dispatch.escalation")


def start(session: Session, ticket: Ticket, at: datetime, minutes: int) -> None:
    session.add(Escalation(ticket_id=ticket.id, step=0, due_at=at + timedelta(minutes=minutes)))


def restart(session: Session, ticket: Ticket, at: datetime, minutes: int) -> None:
    """A ticket back to new (reopened as not a duplicate): escalate it from the start."""
    row = session.exec(select(Escalation).where(Escalation.ticket_id == ticket.id)).first()
    if row is None:
        start(session, ticket, at, minutes)
        return
    row.step, row.stopped_at, row.stop_reason = 0, None, None
    row.due_at = at + timedelta(minutes=minutes)
    session.add(row)


def stop(session: Session, ticket_id: int, at: datetime, reason: str) -> None:
    row = session.exec(select(Escalation).where(Escalation.ticket_id == ticket_id)).first()
    if row is not None and row.stopped_at is None:
        row.stopped_at = at
        row.stop_reason = reason
        row.due_at = None
        session.add(row)


def targets(session: Session, department: Department, at: datetime) -> list[Target]:
    """The chain of the department (active staff, in order), then the duty supervisor."""
    chain: list[Target] = []
    usernames = list(department.escalation_chain or [])
    if usernames:
        staff = {
            s.username: s
            for s in session.exec(
                select(Staff).where(col(Staff.username).in_(usernames), Staff.active == True)  # noqa: E712
            ).all()
        }
        chain = [
            Target(staff[u].id, staff[u].full_name, staff[u].phone, "chain")
            for u in usernames
            if u in staff
        ]
    supervisor = duty_supervisor(session, at)
    if supervisor is not None:
        chain.append(supervisor)
    return chain


def run_due(
    engine: Engine,
    now: datetime,
    minutes: int,
    *,
    base_url: str | None = None,
    locale: str = "en",
) -> int:
    """Escalate every ticket whose acknowledgement is overdue; returns how many moved on.
    `base_url`: the line's public address, for the e-mail's link to the ticket; `locale`:
    the city's (DUTYLINE_LOCALE), the language of the notice."""
    with session_scope(engine) as session:
        due_ids = session.exec(
            select(Escalation.id)
            .where(col(Escalation.stopped_at).is_(None), Escalation.due_at <= now)
            .order_by(col(Escalation.due_at))
            .limit(200)
        ).all()
    moved = 0
    for escalation_id in due_ids:
        try:
            moved += _escalate_one(engine, escalation_id, now, minutes, base_url, locale)
        except Exception:  # one bad row must not stop the others
            log.exception("escalation %s failed", escalation_id)
    ESCALATIONS.inc(moved)
    return moved


def _escalate_one(
    engine: Engine,
    escalation_id: int,
    now: datetime,
    minutes: int,
    base_url: str | None,
    locale: str = "en",
) -> int:
    with session_scope(engine, write=True) as session:
        row = session.exec(
            select(Escalation)
            .where(Escalation.id == escalation_id)
            .with_for_update(skip_locked=True)  # another app process may be on it
        ).first()
        if row is None or row.stopped_at is not None or row.due_at is None or row.due_at > now:
            return 0
        ticket = session.get(Ticket, row.ticket_id)
        if ticket is None or ticket.status != TicketStatus.NEW:
            stop(session, row.ticket_id, now, "acknowledged" if ticket else "gone")
            return 0
        department = session.get(Department, ticket.department_id)
        chain = targets(session, department, now) if department else []
        index = row.step
        # Skip whoever already holds the ticket (e.g. the chain's first is on shift).
        while index < len(chain) and _same(chain[index], ticket):
            index += 1
        if index >= len(chain):
            row.stopped_at, row.stop_reason, row.due_at = now, "exhausted", None
            session.add(row)
            record_event(
                session,
                ticket_id=ticket.id,
                action="escalation_exhausted",
                at=now,
                detail="nobody left to escalate to; the ticket stays with its assignee",
            )
            return 0
        target = chain[index]
        before = ticket.assigned_name or ""
        ticket.assigned_staff_id = target.staff_id
        ticket.assigned_name = target.name
        ticket.assigned_phone = target.phone
        ticket.routing_reason = "escalated"
        ticket.updated_at = now
        session.add(ticket)
        row.step = index + 1
        row.due_at = now + timedelta(minutes=minutes)
        session.add(row)
        record_event(
            session,
            ticket_id=ticket.id,
            action="escalated",
            at=now,
            field="assigned",
            old_value=before,
            new_value=target.name,
            detail=f"not acknowledged in {minutes} min; step {row.step} ({target.reason})",
        )
        notice = officer_notice(
            ticket, details=ticket.details or {}, escalated=True, base_url=base_url, locale=locale
        )
        notify_staff(
            session,
            session.get(Staff, target.staff_id) if target.staff_id is not None else None,
            phone=target.phone,  # a fallback contact is a number without a staff row
            sms_body=notice.sms,
            subject=notice.email.subject,
            email_body=notice.email.body,
            purpose="escalation",
            at=now,
            ticket_id=ticket.id,
        )
        log.info("ticket %s escalated to %s (step %d)", ticket.number, target.name, row.step)
        return 1


def _same(target: Target, ticket: Ticket) -> bool:
    if target.staff_id is not None:
        return target.staff_id == ticket.assigned_staff_id
    return bool(target.phone) and target.phone == ticket.assigned_phone
