"""SMS consent: a number that texted STOP gets nothing more until it texts START.

Twilio's keywords (its Advanced Opt-Out defaults): the whole message, trimmed and in
any case, is the keyword. The outbox checks this table at send time, so an opt-out
also stops messages queued before it. An opt-out is kept for good (retention does
not delete it: forgetting it would start the texts again); an opt-in row says no
more than having no row, so retention deletes old ones.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from dispatch.contract import InboundSms, mask_phone
from dispatch.db import session_scope
from dispatch.models import UtcDateTime

log = logging.getLogger("dutyline.dispatch.sms_consent")


class SmsKeyword(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


KEYWORDS: dict[str, SmsKeyword] = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), SmsKeyword.STOP),
    **dict.fromkeys(("START", "UNSTOP", "YES"), SmsKeyword.START),
    **dict.fromkeys(("HELP", "INFO"), SmsKeyword.HELP),
}


class SmsConsent(SQLModel, table=True):
    __tablename__ = "sms_consent"

    phone_number: str = Field(primary_key=True, max_length=32)  # E.164, as Twilio's From
    opted_out: bool = False
    keyword: str = Field(max_length=16)  # the last keyword received (Twilio's spelling)
    updated_at: datetime = Field(sa_type=UtcDateTime, index=True)


def keyword_of(body: str | None, opt_out_type: str | None = None) -> SmsKeyword | None:
    """The keyword a message is, or None. Twilio's own `OptOutType` wins when it sent one."""
    if opt_out_type and opt_out_type.strip().lower() in SmsKeyword._value2member_map_:
        return SmsKeyword(opt_out_type.strip().lower())
    return KEYWORDS.get((body or "").strip().upper())


def opted_out(session: Session, number: str) -> bool:
    row = session.get(SmsConsent, number)
    return bool(row and row.opted_out)


def help_text(line_number: str | None) -> str:
    call = f" Call {line_number} to report a problem." if line_number else ""
    return (
        f"City night line: texts about tickets you reported by phone.{call} "
        "Reply STOP to stop texts, START to get them again. Msg & data rates may apply."
    )


def handle_inbound(engine: Engine, sms: InboundSms, now: datetime) -> str | None:
    """Remember STOP/START; the reply to send back (None: send nothing)."""
    keyword = keyword_of(sms.body, sms.opt_out_type)
    if keyword is None or not sms.from_number:
        log.info("inbound SMS from %s: not a keyword, ignored", mask_phone(sms.from_number))
        return None
    if keyword is SmsKeyword.HELP:
        return help_text(sms.to_number)
    word = (sms.body or keyword.value).strip().upper()[:16]
    _remember(engine, sms.from_number, opted_out=keyword is SmsKeyword.STOP, word=word, at=now)
    log.info("SMS %s from %s", keyword.value, mask_phone(sms.from_number))
    if keyword is SmsKeyword.STOP:
        # Twilio confirms an opt-out itself and blocks anything more to the number.
        return None
    return "You will get texts about your city night line tickets again. Reply STOP to stop."


def _remember(engine: Engine, number: str, *, opted_out: bool, word: str, at: datetime) -> None:
    for attempt in range(3):  # two messages from one number at once: the second updates
        try:
            with session_scope(engine, write=True) as session:
                row = session.get(SmsConsent, number) or SmsConsent(phone_number=number, keyword="")
                row.opted_out, row.keyword, row.updated_at = opted_out, word, at
                session.add(row)
            return
        except IntegrityError:
            if attempt == 2:
                raise
