"""Choosing the model per analysis in the service: the list of models, the ``model`` of a
request and of the form, loading on first use, and colours that follow each analysis's
technique set.

The service starts with the tiny model; the ``tiny`` package (the same model) and a
package offering ``other`` (a model with a technique set of its own) are installed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.model_packages import offer_model_directory

from propscan.core.techniques import PTC_14
from propscan.models.registry import describe_model
from propscan.service import app as app_module
from propscan.service.app import create_app
from propscan.service.model_choices import UnknownModel

TEXT = "These corrupt traitors lie to you every single day. Shameful! They hate our great nation."


@pytest.fixture
def client(
    tiny_package: str,
    tiny_model: Path,
    other_techniques_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    offer_model_directory(tmp_path / "site", "other", other_techniques_model)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with TestClient(create_app(tiny_model, tmp_path / "history.db")) as client:
        yield client


def analyse(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/analyze", json={"text": TEXT, "threshold": 0.05, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_the_api_lists_the_models_a_request_may_name(
    client: TestClient, other_techniques_model: Path
) -> None:
    listed = client.get("/api/models").json()
    assert [(m["name"], m["default"], m["loaded"]) for m in listed] == [
        ("tiny", True, True),  # the model the service started with is the installed tiny
        ("default", False, False),
        ("other", False, False),
    ]
    other = listed[2]
    assert other["model"]["techniques"] == list(describe_model(other_techniques_model).techniques)
    assert other["package"] == "propscan-other 1.0" and other["size_bytes"] > 0
    shipped = listed[1]
    assert shipped["model"]["name"] == "propscan-minilm" and shipped["scores"]["dev"]["si_f1"] > 0


def test_a_request_names_its_model_which_loads_once_and_stays_loaded(
    client: TestClient, other_techniques_model: Path
) -> None:
    default = analyse(client)
    assert default["model"]["name"] == "propscan-baseline"
    chosen = analyse(client, model="other")
    other = describe_model(other_techniques_model)
    assert (chosen["model"]["name"], chosen["model"]["techniques"]) == (
        other.name,
        list(other.techniques),
    )
    assert {span["technique"] for span in chosen["spans"]} <= set(other.techniques)
    assert client.get(f"/api/analyses/{chosen['id']}").json()["model"] == chosen["model"]
    loaded = {m["name"]: m["loaded"] for m in client.get("/api/models").json()}
    assert loaded == {"tiny": True, "default": False, "other": True}
    service = client.app.state.service  # type: ignore[attr-defined]
    assert service.models.detector("other") is service.models.detector("other")
    shipped = analyse(client, model="default")
    assert shipped["model"]["name"] == "propscan-minilm"
    history = client.get("/api/analyses").json()["items"]
    assert [item["model"]["name"] for item in history] == [
        "propscan-minilm",
        "propscan-other",
        "propscan-baseline",
    ]


def test_a_model_is_also_found_by_the_name_its_results_carry(client: TestClient) -> None:
    """As on the command line: ``propscan-minilm`` names the shipped model (``default``)."""
    assert analyse(client, model="propscan-minilm")["model"]["name"] == "propscan-minilm"
    assert analyse(client, model="propscan-other")["model"]["name"] == "propscan-other"
    techniques = client.get("/api/techniques", params={"model": "propscan-minilm"})
    assert techniques.status_code == 200


def test_an_unknown_model_is_a_422_naming_the_models_offered(client: TestClient) -> None:
    response = client.post(
        "/api/analyze", json={"url": "http://127.0.0.1/", "model": "no-such-model"}
    )
    assert response.status_code == 422
    assert response.json() == {
        "error": "unknown_model",
        "message": "unknown model 'no-such-model'; this service offers tiny, default, other "
        "(GET /api/models)",
    }
    assert client.get("/api/techniques", params={"model": "no-such-model"}).status_code == 422
    too_long = client.post("/api/analyze", json={"text": TEXT, "model": "m" * 201})
    assert too_long.status_code == 422 and too_long.json()["error"] == "invalid_request"


def test_techniques_and_their_filter_follow_the_chosen_model(
    client: TestClient, other_techniques_model: Path
) -> None:
    other = describe_model(other_techniques_model).techniques
    listed = client.get("/api/techniques", params={"model": "other"}).json()
    assert [technique["label"] for technique in listed] == list(other)
    assert [t["label"] for t in client.get("/api/techniques").json()] == list(PTC_14)
    outside = next(label for label in PTC_14 if label not in other)
    refused = client.post(
        "/api/analyze", json={"text": TEXT, "model": "other", "techniques": [outside]}
    )
    assert refused.status_code == 422 and refused.json()["error"] == "invalid_input"
    assert analyse(client, techniques=[outside])["model"]["name"] == "propscan-baseline"


def test_a_result_page_takes_the_colours_of_its_models_technique_set(
    client: TestClient, other_techniques_model: Path
) -> None:
    other = describe_model(other_techniques_model).techniques
    assert any(other.index(label) != PTC_14.index(label) for label in other)
    chosen = analyse(client, model="other", threshold=0.0)
    assert chosen["spans"], "a threshold of 0 marks something"
    page = client.get(f"/a/{chosen['id']}").text
    assert f'href="/a/{chosen["id"]}/techniques.css?v=' in page
    assert "/assets/techniques.css" not in page
    assert "propscan-other" in page
    css = client.get(f"/a/{chosen['id']}/techniques.css")
    assert css.headers["content-type"].startswith("text/css")
    for slot, technique in enumerate(other.descriptions()):
        assert f".t{slot}{{--c:{technique.colour}}}" in css.text
    for span in chosen["spans"]:
        slot = other.index(span["technique"])
        assert f'class="swatch t{slot}"' in page
    assert client.get("/a/nope/techniques.css").status_code == 404
    default_page = client.get(f"/a/{analyse(client)['id']}").text
    assert re.search(r'href="/a/[\w-]+/techniques\.css\?v=', default_page)


def test_the_form_offers_every_model_and_sends_the_chosen_one(client: TestClient) -> None:
    form = client.get("/").text
    options = re.findall(r'<option value="([^"]+)"( selected)?>([^<]+)</option>', form)
    assert [(value, bool(selected)) for value, selected, _ in options] == [
        ("tiny", True),
        ("default", False),
        ("other", False),
    ]
    shipped_label = options[1][2]
    assert shipped_label.startswith("propscan-minilm ") and "MB" in shipped_label
    assert "articles/s" in shipped_label and "dev SI F1" in shipped_label
    submitted = client.post(
        "/analyze", data={"text": TEXT, "model": "other"}, follow_redirects=False
    )
    assert submitted.status_code == 303
    page = client.get(submitted.headers["location"]).text
    assert "propscan-other" in page
    refused = client.post("/analyze", data={"text": TEXT, "model": "no-such-model"})
    assert refused.status_code == 422 and "unknown model &#39;no-such-model&#39;" in refused.text
    assert '<option value="no-such-model"' not in refused.text
    history = client.get("/history").text
    assert '<th scope="col">Model</th>' in history and "propscan-other" in history


def test_a_service_started_with_a_directory_offers_it_first_and_alone_needs_no_menu(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(create_app(tiny_model, tmp_path / "history.db")) as client:
        names = [m["name"] for m in client.get("/api/models").json()]
        assert '<select id="model"' in client.get("/").text
    assert names == ["propscan-baseline", "default"]  # the service's own model, then shipped
    monkeypatch.setattr(app_module, "installed_models", list)  # nothing installed
    with TestClient(create_app(tiny_model, tmp_path / "history.db")) as client:
        assert [m["name"] for m in client.get("/api/models").json()] == ["propscan-baseline"]
        assert "<select" not in client.get("/").text
        with pytest.raises(UnknownModel):
            client.app.state.service.models.choice("default")  # type: ignore[attr-defined]


def test_a_retrained_model_with_an_installed_models_identity_does_not_hide_it(
    tiny_package: str, tiny_model: Path, tmp_path: Path
) -> None:
    """A model trained again (same name, version and techniques, other decoding) is not the
    installed one: both are offered; one also named like an installed model goes by its
    directory."""
    import shutil

    from propscan.models.base import read_model_config, write_model_config

    retrained = Path(shutil.copytree(tiny_model, tmp_path / "retrained"))
    config = read_model_config(retrained)
    write_model_config(retrained, {**config, "si_threshold": config["si_threshold"] + 0.01})
    with TestClient(create_app(retrained, tmp_path / "history.db")) as client:
        names = [m["name"] for m in client.get("/api/models").json()]
    assert names[0] == "propscan-baseline" and "tiny" in names
    write_model_config(retrained, {**config, "name": "tiny", "si_threshold": 0.5})
    with TestClient(create_app(retrained, tmp_path / "history.db")) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        assert [c.name for c in service.models.choices][:1] == [str(retrained)]
        assert service.models.choice("tiny").directory is not None  # the installed one
