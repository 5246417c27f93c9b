"""Tools for trying and measuring dutyline from the outside, as a caller would.

The call simulator (`dutyline call`), synthetic caller voices, the speech benchmark and
the `dutyline bench` commands. The app never imports this package: it sits on top of
voice/, nlu/ and dispatch/ like a test harness, and only the CLI and the tests reach it.
"""
