"""What the JSON API takes and gives (Base / Create / Update / Public).

The Public models are the dispatch service's read shapes (dispatch.public);
this module adds what only the API takes in.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from dispatch.models import CloseReason, TicketStatus
from dispatch.public import CallDetail, TicketDetail, TicketPublic

__all__ = [
    "CallDetail",
    "TicketBase",
    "TicketCreate",
    "TicketDetail",
    "TicketPublic",
    "TicketUpdate",
]


class TicketBase(BaseModel):
    kind: str = Field(description="Complaint kind code (GET /open311/v2/services.json lists them)")
    location: str = Field(
        min_length=2, max_length=500, description="The place, as a person says it"
    )
    details: dict[str, str] = Field(default_factory=dict, description="Answers by slot code")
    description: str | None = Field(None, max_length=4000)


class TicketCreate(TicketBase):
    """A complaint taken by staff (e.g. from a walk-in or an email): filed like a call's."""

    caller_number: str | None = Field(None, max_length=32)
    lat: float | None = Field(None, ge=-90, le=90)
    long: float | None = Field(None, ge=-180, le=180)


class TicketUpdate(BaseModel):
    """Any of: acknowledge, change status (closing needs a reason), add a note."""

    acknowledge: bool = False
    status: Literal[TicketStatus.IN_PROGRESS, TicketStatus.CLOSED] | None = None
    close_reason: CloseReason | None = None
    note: str | None = Field(None, min_length=1, max_length=4000)

    @model_validator(mode="after")
    def _something_to_do(self) -> TicketUpdate:
        if not (self.acknowledge or self.status or self.note):
            raise ValueError("nothing to change: give acknowledge, status or note")
        if self.status == TicketStatus.CLOSED and self.close_reason is None:
            raise ValueError("closing a ticket needs a close_reason")
        return self
