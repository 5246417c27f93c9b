# The two commands README.md names: `make run` and `make test`. Both set up whatever
# is missing first and are quick when nothing changed.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup system rasa-venv lint bench clean

run: setup
	$(BIN)/dutyline run

# Two workers, one test file each at a time: most tests spend their time waiting on phone
# audio played in real time. The load test measures the machine, so it runs alone after.
# with-test-services.sh uses the PostgreSQL and Redis at DUTYLINE_TEST_PG_ADMIN and
# DUTYLINE_TEST_REDIS_URL when they answer, else starts throw-away ones and stops them after.
test: setup
	$(BIN)/ruff check .
	bash scripts/with-test-services.sh $(BIN)/python -m pytest -n 2 --dist loadfile -m "not load"
	bash scripts/with-test-services.sh $(BIN)/python -m pytest -m load

setup: system
	@$(MAKE) --no-print-directory -j2 $(VENV)/.installed rasa-venv
	$(BIN)/dutyline setup

# Rasa's environment (Python 3.10) is built beside the app's; `dutyline setup` checks it.
rasa-venv:
	@bash scripts/rasa-venv.sh

system:
	@bash scripts/system-packages.sh

# The app's environment (Python 3.11), rebuilt when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || "$$(bash scripts/find-python.sh 3.11)" -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip==26.3
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .venv-rasa models/whisper models/vosk models/piper models/rasa models/*.onnx models/manifest.json
