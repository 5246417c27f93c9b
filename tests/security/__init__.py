"""Issue 10: each door tried as an attacker would."""
