"""The API's request schema applies the rules the CLI and Python apply, word for word."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from stubs import FixedDetector

from propscan.core.checks import check_threshold
from propscan.errors import PropscanError
from propscan.service.app import create_app
from propscan.service.schemas import AnalyzeRequestBody


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    database = tmp_path_factory.mktemp("schemas") / "history.db"
    with TestClient(create_app(model=FixedDetector([]), db_path=database)) as test_client:
        yield test_client


@pytest.mark.parametrize("threshold", [True, False, "0.5", "", [0.5], {"value": 0.5}, 1.5, -0.1])
def test_a_threshold_that_is_not_a_number_in_range_is_refused(
    client: TestClient, threshold: object
) -> None:
    response = client.post("/api/analyze", json={"text": "They lie.", "threshold": threshold})
    assert response.status_code == 422
    message = response.json()["message"]
    assert message.startswith("threshold: must be ") and "between 0 and 1" in message


def test_nan_threshold_is_refused(client: TestClient) -> None:
    body = b'{"text": "They lie.", "threshold": NaN}'
    response = client.post(
        "/api/analyze", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


@pytest.mark.parametrize("threshold", [0, 0.5, 1, None])
def test_a_number_in_range_is_kept(client: TestClient, threshold: float | None) -> None:
    """A threshold given is kept; none given means the model's own, which is shown."""
    response = client.post("/api/analyze", json={"text": "They lie.", "threshold": threshold})
    assert response.status_code == 201
    expected = FixedDetector.decision_threshold if threshold is None else threshold
    assert response.json()["threshold"] == expected


THRESHOLDS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5), st.lists(st.none())
)


@given(THRESHOLDS)
def test_the_schema_accepts_exactly_what_check_threshold_accepts(threshold: object) -> None:
    try:
        expected = check_threshold(threshold)  # type: ignore[arg-type]
    except PropscanError:
        with pytest.raises(ValidationError):
            AnalyzeRequestBody(text="They lie.", threshold=threshold)  # type: ignore[arg-type]
    else:
        body = AnalyzeRequestBody(text="They lie.", threshold=threshold)  # type: ignore[arg-type]
        assert body.threshold == expected
