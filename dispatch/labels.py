"""Words a duty officer reads for codes the tables keep: how a call ended. The staff pages
and the duty log both use them, so neither has to import the other."""

from __future__ import annotations

OUTCOME_LABELS = {
    "in_progress": "In progress",
    "ticket_filed": "Ticket filed",
    "status_check": "Status check",
    "transferred": "Transferred to a person",
    "voicemail": "Voicemail",
    "emergency_referred": "Sent to emergency number",
    "abandoned": "Hung up",
    "no_input": "Silent caller",
    "failed": "Failed (triage ticket)",
    "out_of_scope": "Not for this line",
    "voicemail_at_capacity": "Line full: voicemail",
    "refused_at_capacity": "Line full: referred",
}
