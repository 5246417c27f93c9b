"""Outbound webhooks: ticket events handed to the city's own systems (issue 15).

- subscriptions.py: who gets which events (add, list, disable, remove), their secrets;
- events.py: a ticket event becomes one queued message per subscription that wants it;
- payloads.py: the JSON bodies (pydantic);
- delivery.py: the outbox worker that signs and POSTs them, in order, with retries;
- cli.py and pages.py: `dutyline webhook ...` and the admins' delivery log.

Kept import-free: dispatch/audit.py imports events.py, and must not pull in the rest.
"""
