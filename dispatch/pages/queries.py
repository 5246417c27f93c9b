"""Read-only figures for the reports page and the admin lists (plain keyword-only
functions taking a Session, like dispatch/read_models.py)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from dispatch.contract import AT_CAPACITY_OUTCOMES
from dispatch.i18n import N_
from dispatch.models import Call, Department, DutyShift, Staff, Ticket, Turn

# Outcomes where the caller got what they called for without a person.
HANDLED_BY_BOT = {"ticket_filed", "status_check", "out_of_scope", "emergency_referred"}
# Left out of the share: silent callers and calls still going on.
NOT_COUNTED = {"no_input", "in_progress"}
ACK_BUCKETS = [  # English msgids: the reports page translates them
    (5, N_("< 5 min")),
    (15, N_("5–15 min")),
    (30, N_("15–30 min")),
    (60, N_("30–60 min")),
    (120, N_("1–2 h")),
    (None, N_("> 2 h")),
]


@dataclass
class CallsByKindHour:
    hours: list[str]
    series: dict[str, list[int]]
    total: int


def calls_by_kind_and_hour(*, session: Session, since: datetime, tz: ZoneInfo) -> CallsByKindHour:
    rows = session.exec(
        select(Call.id, Call.started_at, Ticket.kind_name)
        .join(Ticket, col(Ticket.call_id) == col(Call.id), isouter=True)
        .where(Call.started_at >= since)
    ).all()
    by_call: dict[int, tuple[datetime, str]] = {}
    for call_id, started_at, kind_name in rows:
        # A call with several tickets counts once, under its first kind.
        by_call.setdefault(call_id, (started_at, kind_name or N_("No ticket")))
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * 24)
    for started_at, kind_name in by_call.values():
        counts[kind_name][started_at.astimezone(tz).hour] += 1
    ordered = dict(sorted(counts.items(), key=lambda item: -sum(item[1])))
    return CallsByKindHour([f"{h:02d}" for h in range(24)], ordered, len(by_call))


@dataclass
class HandledShare:
    days: list[str]
    percent: list[float]
    handled: int
    counted: int


def handled_without_person(
    *, session: Session, since: datetime, until: datetime, tz: ZoneInfo
) -> HandledShare:
    rows = session.exec(select(Call.started_at, Call.outcome).where(Call.started_at >= since)).all()
    per_day: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    handled = counted = 0
    for started_at, outcome in rows:
        if outcome in NOT_COUNTED:
            continue
        day = started_at.astimezone(tz).strftime("%m-%d")
        per_day[day][1] += 1
        counted += 1
        if outcome in HANDLED_BY_BOT:
            per_day[day][0] += 1
            handled += 1
    days = []
    day = since.astimezone(tz).date()
    while day <= until.astimezone(tz).date():
        days.append(day.strftime("%m-%d"))
        day += timedelta(days=1)
    percent = [
        round(100 * per_day[d][0] / per_day[d][1], 1) if per_day[d][1] else 0.0 for d in days
    ]
    return HandledShare(days, percent, handled, counted)


@dataclass
class AckTimes:
    buckets: list[str]
    counts: list[int]
    waiting: int
    median_minutes: float | None
    by_department: list[tuple[str, int, float | None]]  # name, acknowledged, median minutes


def time_to_acknowledge(*, session: Session, since: datetime) -> AckTimes:
    rows = session.exec(
        select(Ticket.created_at, Ticket.acknowledged_at, Department.name, Ticket.status)
        .join(Department, col(Department.id) == col(Ticket.department_id))
        .where(Ticket.created_at >= since, Ticket.status != "duplicate")
    ).all()
    counts = Counter()
    minutes_all: list[float] = []
    per_department: dict[str, list[float]] = defaultdict(list)
    waiting = 0
    for created_at, acknowledged_at, department, status in rows:
        if acknowledged_at is None:
            waiting += status == "new"
            continue
        minutes = (acknowledged_at - created_at).total_seconds() / 60
        minutes_all.append(minutes)
        per_department[department].append(minutes)
        for limit, label in ACK_BUCKETS:
            if limit is None or minutes < limit:
                counts[label] += 1
                break
    labels = [label for _, label in ACK_BUCKETS]
    return AckTimes(
        buckets=labels,
        counts=[counts[label] for label in labels],
        waiting=waiting,
        median_minutes=statistics.median(minutes_all) if minutes_all else None,
        by_department=sorted(
            (name, len(values), statistics.median(values))
            for name, values in per_department.items()
        ),
    )


def calls_at_capacity(*, session: Session, since: datetime) -> dict[str, int]:
    """Calls since `since` the full line did not admit to the dialogue, per outcome."""
    rows = session.exec(
        select(Call.outcome).where(
            Call.started_at >= since, col(Call.outcome).in_(AT_CAPACITY_OUTCOMES)
        )
    ).all()
    counts = Counter(rows)
    return {outcome: counts[outcome] for outcome in AT_CAPACITY_OUTCOMES}


# --- admin lists -----------------------------------------------------------------


def departments(*, session: Session) -> list[Department]:
    return list(session.exec(select(Department).order_by(Department.name)))


def staff_members(*, session: Session) -> list[Staff]:
    return list(session.exec(select(Staff).order_by(col(Staff.active).desc(), Staff.username)))


def shifts(*, session: Session) -> list[DutyShift]:
    return list(session.exec(select(DutyShift).order_by(DutyShift.department_id, DutyShift.start)))


# --- call filters the service does not have ---------------------------------------------


def call_ids_matching(
    *,
    session: Session,
    kind: str | None = None,
    flagged: bool = False,
    low_asr: float,
    low_intent: float,
    handoff_outcomes: set[str],
) -> set[int]:
    """Ids of calls with a ticket of `kind` and/or flagged for review (a caller turn
    heard or understood with low confidence, a hand-off or a failure)."""
    ids: set[int] | None = None
    if kind:
        ids = set(
            session.exec(
                select(Ticket.call_id).where(Ticket.kind == kind, col(Ticket.call_id).is_not(None))
            ).all()
        )
    if flagged:
        unsure = set(
            session.exec(
                select(Turn.call_id).where(
                    Turn.speaker == "caller",
                    (col(Turn.asr_confidence) < low_asr)
                    | (col(Turn.intent_confidence) < low_intent),
                )
            ).all()
        )
        handed = set(
            session.exec(
                select(Call.id).where(col(Call.outcome).in_(handoff_outcomes | {"failed"}))
            ).all()
        )
        flagged_ids = unsure | handed
        ids = flagged_ids if ids is None else ids & flagged_ids
    return ids or set()
