"""Distillation: a teacher's probabilities mixed into every training target."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra")

from support.tiny_bert import save_tiny_encoder  # noqa: E402

from propscan.core.techniques import PTC_14  # noqa: E402
from propscan.errors import PropscanError  # noqa: E402
from propscan.models.base import DEFAULT_MODEL_DIR  # noqa: E402
from propscan.models.registry import TrainingOptions, load_detector  # noqa: E402
from propscan.models.transformer import fitting  # noqa: E402
from propscan.models.transformer.distillation import TeacherTargets, teacher_targets  # noqa: E402
from propscan.models.transformer.encoding import load_tokenizer, special_token_ids  # noqa: E402
from propscan.models.transformer.examples import make_examples  # noqa: E402
from propscan.models.transformer.network import build_network  # noqa: E402
from propscan.models.transformer.recipe import TrainingSettings  # noqa: E402
from propscan.models.transformer.train import train_model  # noqa: E402


@pytest.fixture(scope="module")
def taught(train_split) -> tuple[list, dict[str, TeacherTargets]]:
    """Two fixture articles and the shipped model's targets on them."""
    articles = train_split.articles[:2]
    return articles, teacher_targets(load_detector(None), articles, train_split.gold)


def test_the_teacher_gives_every_token_and_gold_span_a_probability(train_split, taught) -> None:
    articles, targets = taught
    for article in articles:
        target = targets[article.id]
        n = len(target.offsets)
        assert target.si.shape == (n,) and target.techniques.shape == (n, len(PTC_14))
        assert target.sentence is not None and target.sentence.shape == (n,)
        labelled = {(s.start, s.end, s.technique) for s in train_split.gold[article.id]}
        assert set(target.spans) == {key for key in labelled if key[2] is not None}
        for distribution in target.spans.values():
            assert distribution.sum() == pytest.approx(1.0)


def test_examples_mix_gold_and_teacher_by_the_share(train_split, taught) -> None:
    articles, targets = taught
    tokenizer = load_tokenizer(DEFAULT_MODEL_DIR)

    def examples(share: float, teacher=targets):
        settings = TrainingSettings(teacher_share=share)
        return make_examples(tokenizer, articles, train_split.gold, settings, PTC_14, teacher)

    gold, none, half, full = examples(0.5, None), examples(0.0), examples(0.5), examples(1.0)
    first = targets[articles[0].id]
    window = len(full[0].ids)  # the first window starts at the article's first token
    assert np.allclose(full[0].si, first.si[:window])
    assert np.allclose(full[0].techniques, first.techniques[:window])
    assert np.allclose(full[0].sentence, first.sentence[:window])
    assert np.allclose(half[0].si, 0.5 * gold[0].si + 0.5 * first.si[:window])
    for g, n, h in zip(gold, none, half, strict=True):
        assert np.array_equal(g.si, n.si) and not g.span_targets and not n.span_targets
        assert len(h.span_targets) == len(h.spans)
        for (*_, k, _), target in zip(h.spans, h.span_targets, strict=True):
            assert target.sum() == pytest.approx(1.0) and target[k] >= 0.5
    assert any(not np.array_equal(g.si, h.si) for g, h in zip(gold, half, strict=True)), (
        "the teacher changed no target"
    )


def test_a_teacher_with_other_tokens_is_refused(train_split, taught) -> None:
    articles, targets = taught
    shifted = {key: replace(value, offsets=value.offsets + 1) for key, value in targets.items()}
    tokenizer = load_tokenizer(DEFAULT_MODEL_DIR)
    with pytest.raises(PropscanError, match="teacher's tokenizer splits it differently"):
        make_examples(tokenizer, articles, train_split.gold, TrainingSettings(), PTC_14, shifted)


def test_one_hot_span_targets_give_the_plain_cross_entropy(
    train_split, taught, tmp_path: Path
) -> None:
    """The teacher's loss path, fed gold alone, is the loss without a teacher."""
    articles, _ = taught
    encoder = save_tiny_encoder(tmp_path)
    tokenizer = load_tokenizer(encoder)
    settings = TrainingSettings(teacher_share=0.5)
    plain = make_examples(tokenizer, articles, train_split.gold, settings, PTC_14)
    one_hot = make_examples(tokenizer, articles, train_split.gold, settings, PTC_14)
    for example in one_hot:
        example.span_targets = [
            np.eye(len(PTC_14), dtype=np.float32)[k] for *_, k, _ in example.spans
        ]
    assert any(example.spans for example in plain)
    torch.manual_seed(5)
    model = build_network(encoder, len(PTC_14)).eval()
    for balance in (0.0, 0.5):
        loss = fitting._Loss(
            replace(settings, technique_balance=balance), special_token_ids(tokenizer), plain
        )
        with torch.no_grad():
            assert loss(model, one_hot).item() == pytest.approx(loss(model, plain).item(), rel=1e-5)


@pytest.mark.slow
def test_a_tiny_student_learns_from_an_ensemble_and_its_card_names_the_teachers(
    train_split, tmp_path: Path
) -> None:
    encoder = save_tiny_encoder(tmp_path / "encoder")
    teachers = (DEFAULT_MODEL_DIR, DEFAULT_MODEL_DIR)
    options = TrainingOptions(
        epochs=1, max_steps=2, max_articles=4, quantize=False, refit=False,
        encoder=encoder, teachers=teachers,
    )  # fmt: skip
    facts = train_model(train_split, tmp_path / "student", options, progress=False)
    assert facts["data"]["teacher"] == "the ensemble of 2 models"
    model = str(DEFAULT_MODEL_DIR.resolve())
    assert facts["data"]["teacher models"] == f"{model}, {model}"
    assert tuple(facts["settings"]["teachers"]) == (model, model)
    assert facts["settings"]["teacher_share"] == 0.5
    student = load_detector(tmp_path / "student")
    assert student.predict([train_split.articles[0].text])[0] is not None
