#!/bin/sh
# Writes Rasa's endpoints from the environment, then starts the server.
set -e
# The app refuses action calls without this shared secret (see DUTYLINE_ACTION_TOKEN).
: "${DUTYLINE_ACTION_TOKEN:?DUTYLINE_ACTION_TOKEN must be set (the same value as the app's)}"
umask 077
cat > endpoints.yml <<YML
action_endpoint:
  url: "${DUTYLINE_ACTION_ENDPOINT}"
  headers:
    Authorization: "Bearer ${DUTYLINE_ACTION_TOKEN}"
tracker_store:
  type: redis
  url: "${RASA_TRACKER_REDIS_HOST:-redis}"
  port: 6379
  db: 0
  # A conversation expires a retention period after its last message; the app's
  # retention purge deletes purged calls' conversations too (DUTYLINE_RASA_TRACKER_REDIS_URL).
  record_exp: $(( ${DUTYLINE_RETENTION_DAYS:-90} * 86400 ))
lock_store:
  type: redis
  url: "${RASA_TRACKER_REDIS_HOST:-redis}"
  port: 6379
  db: 1
YML
exec rasa run --enable-api --model "models/${DUTYLINE_RASA_LOCALE:-en}.tar.gz" --endpoints endpoints.yml --port 5005
