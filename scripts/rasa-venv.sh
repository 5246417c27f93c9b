#!/usr/bin/env bash
# Rasa's own environment (.venv-rasa, Python 3.10) from the pinned requirements. `make` runs
# this beside the app's own install to save a minute; `dutyline setup` checks the same stamp
# (dutyline/rasa_env.py ensure_venv) and does it itself when run alone.
set -euo pipefail
cd "$(dirname "$0")/.."
req=nlu/requirements-rasa.txt
venv=.venv-rasa
stamp="$venv/.requirements.sha256"
# The digest rasa_env._digest computes: sha256 of the relative path, then the file's bytes.
want="$(python3 -c 'import hashlib, sys; p = sys.argv[1]; print(hashlib.sha256(p.encode() + open(p, "rb").read()).hexdigest())' "$req")"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/rasa" ]; then
  exit 0
fi
python310="$(bash scripts/find-python.sh 3.10)"
echo "Creating Rasa's environment in $venv/ (Python 3.10, a minute or two)"
[ -x "$venv/bin/python" ] || "$python310" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip==26.3
"$venv/bin/python" -m pip install -q -r "$req"
printf '%s' "$want" > "$stamp"
