"""Several models as one detector: averaged logits, side-by-side states, one span head."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from propscan.errors import PropscanError
from propscan.models.base import DEFAULT_MODEL_DIR, read_model_config, write_model_config
from propscan.models.registry import load_detector
from propscan.models.transformer.ensemble import load_ensemble, mean_encoder, mean_span_head
from propscan.models.transformer.heads import (
    N_SPAN_FEATURES,
    SpanHead,
    softmax,
    span_representations,
)


def random_head(rng: np.random.Generator, hidden_size: int, width: int, k: int = 4) -> SpanHead:
    return SpanHead(
        w1=rng.normal(size=(width, 3 * hidden_size + N_SPAN_FEATURES)),
        b1=rng.normal(size=width),
        w2=rng.normal(size=(k, width)),
        b2=rng.normal(size=k),
    )


def test_the_joined_span_head_gives_the_mean_of_the_members_logits() -> None:
    """Members of different hidden and layer sizes, each reading its own states."""
    rng = np.random.default_rng(0)
    sizes, widths = (5, 3, 4), (6, 2, 7)
    heads = [random_head(rng, size, width) for size, width in zip(sizes, widths, strict=True)]
    states = [rng.normal(size=(9, size)) for size in sizes]
    first, last = np.array([0, 2, 5]), np.array([3, 3, 9])
    features = rng.normal(size=(3, N_SPAN_FEATURES)).astype(np.float32)

    def logits(head: SpanHead, rows: np.ndarray) -> np.ndarray:
        return np.log(head(rows))  # log-softmax: equal to the logits up to a row constant

    joined = span_representations(np.concatenate(states, axis=1), first, last, features)
    members = [
        logits(head, span_representations(state, first, last, features))
        for head, state in zip(heads, states, strict=True)
    ]
    expected = softmax(np.mean(members, axis=0))
    assert np.allclose(mean_span_head(heads, sizes)(joined), expected, atol=1e-12)


def test_the_joined_encoder_averages_logits_and_sets_states_side_by_side() -> None:
    rng = np.random.default_rng(1)

    def member(seed: int, hidden: int, sentence: bool):
        outputs = np.random.default_rng(seed)
        si, technique = outputs.normal(size=(2, 5)), outputs.normal(size=(2, 5, 3))
        states = outputs.normal(size=(2, 5, hidden))
        sentences = outputs.normal(size=(2, 5)) if sentence else None
        return lambda ids, mask: (si, technique, states, sentences)

    ids, mask = rng.integers(0, 9, size=(2, 5)), np.ones((2, 5), dtype=np.int64)
    a, b = member(2, 4, True), member(3, 6, True)
    si, technique, states, sentences = mean_encoder([a, b])(ids, mask)
    assert np.allclose(si, (a(ids, mask)[0] + b(ids, mask)[0]) / 2)
    assert np.allclose(technique, (a(ids, mask)[1] + b(ids, mask)[1]) / 2)
    assert states.shape == (2, 5, 10) and np.array_equal(states[..., 4:], b(ids, mask)[2])
    assert np.allclose(sentences, (a(ids, mask)[3] + b(ids, mask)[3]) / 2)
    # a member without a sentence head leaves the ensemble without one
    assert mean_encoder([a, member(4, 4, False)])(ids, mask)[3] is None


def test_an_ensemble_of_one_model_twice_finds_what_the_model_finds(dev_split) -> None:
    texts = [article.text for article in dev_split.articles[:3]]
    alone = load_detector(None).predict(texts)
    ensemble = load_ensemble([DEFAULT_MODEL_DIR, DEFAULT_MODEL_DIR])
    assert ensemble.name.endswith("-ensemble-2")
    together = ensemble.predict(texts)
    assert [p.spans for p in together] == [p.spans for p in alone]
    assert sum(len(p.spans) for p in alone) > 0


def copy_model(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    return target


def test_members_must_share_techniques_and_tokenizer(tmp_path: Path) -> None:
    other_labels = copy_model(tmp_path, "labels")
    config = read_model_config(other_labels)
    write_model_config(other_labels, {**config, "techniques": config["techniques"][:-1]})
    with pytest.raises(PropscanError, match="techniques differ"):
        load_ensemble([DEFAULT_MODEL_DIR, other_labels])
    other_tokens = copy_model(tmp_path, "tokens")
    tokenizer = json.loads((other_tokens / "tokenizer.json").read_text("utf-8"))
    tokenizer["model"]["vocab"]["propscan"] = len(tokenizer["model"]["vocab"])
    (other_tokens / "tokenizer.json").write_text(json.dumps(tokenizer), "utf-8")
    with pytest.raises(PropscanError, match="tokenizer differs"):
        load_ensemble([DEFAULT_MODEL_DIR, other_tokens])
    with pytest.raises(PropscanError, match="at least two"):
        load_ensemble([DEFAULT_MODEL_DIR])


def test_one_int8_member_keeps_every_encoder_call_to_one_text(tmp_path: Path) -> None:
    """Dynamic int8 scales activations over a whole call, so no member may see windows of
    other texts beside an article's own."""
    fp32_config = copy_model(tmp_path, "fp32")
    write_model_config(fp32_config, {**read_model_config(fp32_config), "quantized": False})
    for members in ([fp32_config, DEFAULT_MODEL_DIR], [DEFAULT_MODEL_DIR, fp32_config]):
        ensemble = load_ensemble(members)
        assert ensemble.config["quantized"] and not ensemble.windowed.calls_mix_texts
    assert load_ensemble([fp32_config, fp32_config]).windowed.calls_mix_texts
