#!/usr/bin/env bash
# Print the path of a Python of the wanted minor version (e.g. 3.11): on PATH first, then pyenv.
set -euo pipefail
want="$1"
if command -v "python$want" >/dev/null 2>&1 && "python$want" -c 'import sys' 2>/dev/null; then
  command -v "python$want"; exit 0
fi
if command -v pyenv >/dev/null 2>&1; then
  for v in $(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}(\.[0-9]+)?$" | sort -V -r); do
    p="$(pyenv prefix "$v")/bin/python"
    [ -x "$p" ] && { echo "$p"; exit 0; }
  done
fi
echo "Python $want was not found: install it (e.g. 'pyenv install $want') and run make again." >&2
exit 1
