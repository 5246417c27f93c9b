# The dialogue server: Rasa 3.6.21 on Python 3.10, trained at build time from nlu/ and data/.
FROM python:3.11-slim-bookworm AS project
# The locale whose model this image serves (nlu/locales/<locale>/; docker-compose's rasa-ko: ko).
ARG DUTYLINE_RASA_LOCALE=en
WORKDIR /src
COPY pyproject.toml README.md ./
COPY dutyline dutyline
COPY voice voice
COPY nlu nlu
COPY dispatch dispatch
COPY data data
RUN pip install --no-deps . pyyaml==6.0.3 pydantic==2.14.3 pydantic-settings==2.16.3 \
 && python -c "from pathlib import Path; from nlu.project import prepare; import os; prepare(os.environ['DUTYLINE_RASA_LOCALE'], Path('/project'), Path('data'))"

FROM python:3.10-slim-bookworm
ARG DUTYLINE_RASA_LOCALE=en
WORKDIR /srv/rasa
ENV DUTYLINE_RASA_LOCALE=${DUTYLINE_RASA_LOCALE}
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
COPY nlu/requirements-rasa.txt .
RUN pip install -r requirements-rasa.txt
COPY --from=project /project /srv/rasa/project
RUN rasa train --config project/config.yml --domain project/domain.yml --data project/data \
      --out models --fixed-model-name "${DUTYLINE_RASA_LOCALE}"
EXPOSE 5005
# The action endpoint is the app service (it serves the custom actions itself).
COPY deploy/rasa-entrypoint.sh /usr/local/bin/rasa-entrypoint.sh
CMD ["sh", "/usr/local/bin/rasa-entrypoint.sh"]
