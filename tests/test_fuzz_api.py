"""The HTTP API fuzzed from its own OpenAPI schema with schemathesis: whatever a client
sends (valid credentials or none), the app never answers with a server error.

Every operation of the app's schema gets a bounded number of generated requests
(DUTYLINE_FUZZ_EXAMPLES, default 100) with a supervisor's Bearer token, plus the
same without one. Open311's POST reads a form the schema does not describe, so
its fields are fuzzed with hypothesis directly, with a valid api_key.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.conftest import make_settings, migrate_and_seed

EXAMPLES = int(os.environ.get("DUTYLINE_FUZZ_EXAMPLES", "100"))
# The softphone is a page for people; /healthz answers 503 by design while models load.
SKIP_PREFIXES = ("/softphone", "/healthz")
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,  # the same requests every run: a failure can be reproduced
    suppress_health_check=list(HealthCheck),
)


class Api:
    def __init__(self, app: Any, token: str, api_key: str) -> None:
        self.app, self.token, self.api_key = app, token, api_key


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from sqlmodel import Session

    from dispatch import auth
    from dispatch.db import make_engine
    from dispatch.models import Staff
    from dispatch.open311 import keys
    from dutyline.app import create_app

    configured = make_settings(Path(tmp_path_factory.mktemp("fuzz")))
    migrate_and_seed(configured)
    engine = make_engine(configured.database_url)
    token = auth.new_token()
    with Session(engine) as session:
        session.add(
            Staff(
                username="fuzz-supervisor",
                full_name="Fuzz Supervisor",
                role="supervisor",
                api_token_hash=auth.token_hash(token),
            )
        )
        session.commit()
        _, api_key = keys.create_key(session=session, name="fuzz partner")
    engine.dispose()
    app = create_app(configured, load_models=False)
    yield Api(app, token, api_key)
    app.state.services.dispatch.engine.dispose()


def operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(SKIP_PREFIXES):
            found.append(operation)
    return found


@pytest.mark.parametrize("signed_in", [True, False], ids=["with a token", "without one"])
def test_no_operation_answers_with_a_server_error(api: Api, signed_in: bool) -> None:
    headers = {"Authorization": f"Bearer {api.token}"} if signed_in else {}
    failures: list[str] = []
    ops = operations(api.app)
    assert any(op.path.startswith("/api/") for op in ops)
    assert any(op.path.startswith("/open311/") for op in ops)
    tried = 0
    for operation in ops:

        @FUZZ
        @given(case=operation.as_strategy())
        def fuzz(case: Any) -> None:
            nonlocal tried
            tried += 1
            try:
                status, text = _call(case, headers)
            except Exception as error:  # an exception out of the app is a 500 to a client
                status, text = 500, f"{type(error).__name__}: {error}"
            if status >= 500:
                failures.append(f"{case.as_curl_command(headers)} -> {status}: {text[:300]}")

        fuzz()
    print(f"{tried} requests over {len(ops)} operations ({'with' if signed_in else 'no'} token)")
    assert not failures, "\n".join(dict.fromkeys(failures))


def _call(case: Any, headers: dict[str, str]) -> tuple[int, str]:
    response = case.call(headers=headers)
    return response.status_code, response.text


OPEN311_FIELDS = [
    "service_code", "lat", "long", "address_string", "address_id", "description",
    "email", "device_id", "account_id", "first_name", "last_name", "phone", "media_url",
    "attribute[vehicle]", "attribute[blocking]", "jurisdiction_id",
]  # fmt: skip
ANY_TEXT = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["pothole", "illegal_parking", "12 Oak Street", "NaN", "inf", "-91", "1e309"]),
    st.from_regex(r"-?[0-9]{1,4}(\.[0-9]{1,12})?", fullmatch=True),
)


def test_open311_post_form_fuzzed_never_fails_with_a_server_error(api: Api) -> None:
    failures: list[str] = []
    with TestClient(api.app, raise_server_exceptions=False) as client:

        @FUZZ
        @given(
            fmt=st.sampled_from(["json", "xml", "yaml", ""]),
            form=st.dictionaries(st.sampled_from(OPEN311_FIELDS), ANY_TEXT, max_size=8),
        )
        def fuzz(fmt: str, form: dict[str, str]) -> None:
            response = client.post(
                f"/open311/v2/requests.{fmt}", data={**form, "api_key": api.api_key}
            )
            if response.status_code >= 500:
                failures.append(f"{fmt} {form} -> {response.status_code}: {response.text[:200]}")

        fuzz()
    assert not failures, "\n".join(failures[:10])
