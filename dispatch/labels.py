"""Words a duty officer reads for codes the tables keep: how a call ended. The staff pages
and the duty log both use them, so neither has to import the other.

The words are English msgids: the pages and texts translate them where they are shown,
into the city's language (dispatch.i18n)."""

from __future__ import annotations

from dispatch.i18n import N_

OUTCOME_LABELS = {
    "in_progress": N_("In progress"),
    "ticket_filed": N_("Ticket filed"),
    "status_check": N_("Status check"),
    "transferred": N_("Transferred to a person"),
    "voicemail": N_("Voicemail"),
    "emergency_referred": N_("Sent to emergency number"),
    "abandoned": N_("Hung up"),
    "no_input": N_("Silent caller"),
    "failed": N_("Failed (triage ticket)"),
    "out_of_scope": N_("Not for this line"),
    "voicemail_at_capacity": N_("Line full: voicemail"),
    "refused_at_capacity": N_("Line full: referred"),
}

# dispatch.models' status and close-reason words and kinds.py's triage kind name, marked
# here for Babel's extract (models.py stays free of i18n); a test checks that every one
# of them is in this list, so a new status word cannot go untranslated.
MODEL_WORDS = (
    N_("Received"),
    N_("Seen by an officer"),
    N_("In progress"),
    N_("Added to an earlier report"),
    N_("Closed"),
    N_("Fixed"),
    N_("No further action"),
    N_("Not the city's responsibility"),
    N_("Referred"),
    N_("Nothing found"),
    N_("Duplicate"),
    N_("Needs triage"),
    N_("closed"),
)

# Fixed triage reasons the line writes on tickets (dispatch.filing, dispatch.lost_calls,
# nlu.actions.calls), shown to staff translated; reasons with values in them stay as written.
TRIAGE_REASONS = (
    N_("kind not recognised"),
    N_("the line's server stopped during the call; what the caller said is kept"),
    N_("voicemail, nobody on duty reachable"),
)

# dispatch.contract.mask_phone's word for a caller without a number.
MASKED_UNKNOWN = N_("unknown")
