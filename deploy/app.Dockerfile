# The app: telephony edge, speech pipeline, dispatch and pages (Python 3.11).
FROM python:3.11-slim-bookworm
WORKDIR /srv/dutyline
# Two malloc arenas: the heap stays flat with native models called from many threads.
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 MALLOC_ARENA_MAX=2
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY dutyline dutyline
COPY voice voice
COPY nlu nlu
COPY dispatch dispatch
# The simulator and benchmarks: `dutyline call` and `dutyline bench` work in the image too.
COPY callbench callbench
COPY alembic.ini ./
# The city's departments, roster and kinds; the installed app reads data/ and models/ in
# its working directory (the wheel's bundled data/ only when there is none).
COPY data data
RUN pip install . \
 && python -c "from pathlib import Path; from dutyline.setup_models import assemble; assemble(Path('models'))"
EXPOSE 8000
# Migrations and seeding are a start-up step, then the app alone (Rasa is its own service).
CMD ["sh", "-c", "dutyline migrate && dutyline serve"]
