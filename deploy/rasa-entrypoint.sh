#!/bin/sh
# Writes Rasa's endpoints from the environment, then starts the server.
set -e
cat > endpoints.yml <<YML
action_endpoint:
  url: "${DUTYLINE_ACTION_ENDPOINT}"
tracker_store:
  type: redis
  url: "${RASA_TRACKER_REDIS_HOST:-redis}"
  port: 6379
  db: 0
lock_store:
  type: redis
  url: "${RASA_TRACKER_REDIS_HOST:-redis}"
  port: 6379
  db: 1
YML
exec rasa run --enable-api --model models/en.tar.gz --endpoints endpoints.yml --port 5005
