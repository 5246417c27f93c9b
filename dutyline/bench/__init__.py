"""Benchmarks (`dutyline bench latency|accuracy`): figures measured against a running
dutyline, printed with the machine and date they were measured on."""
