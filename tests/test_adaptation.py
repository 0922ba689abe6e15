"""Task-adaptive pre-training: masking, a run on a tiny encoder, its place in training."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra")

from support.tiny_bert import save_tiny_encoder  # noqa: E402

from propscan.errors import PropscanError  # noqa: E402
from propscan.models.transformer import train as training  # noqa: E402
from propscan.models.transformer.adaptation import (  # noqa: E402
    DONE_MARKER,
    MASK_SHARE,
    adapt_encoder,
    mask_tokens,
)
from propscan.models.transformer.network import build_network  # noqa: E402
from propscan.models.transformer.train import TrainingSettings, train_transformer  # noqa: E402

MASK_ID = 103


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


def test_masking_chooses_only_word_pieces_and_targets_their_original_ids() -> None:
    torch.manual_seed(0)
    input_ids = torch.randint(1000, 2000, (64, 200))
    maskable = torch.ones_like(input_ids, dtype=torch.bool)
    maskable[:, :2] = False
    maskable[:, -5:] = False
    corrupted, targets = mask_tokens(input_ids, maskable, MASK_ID, 30522)
    chosen = targets != -100
    assert not chosen[~maskable].any()
    assert torch.equal(targets[chosen], input_ids[chosen])
    assert torch.equal(corrupted[~chosen], input_ids[~chosen])
    share = chosen.sum().item() / maskable.sum().item()
    assert abs(share - MASK_SHARE) < 0.01
    masked = (corrupted[chosen] == MASK_ID).float().mean().item()
    unchanged = (corrupted[chosen] == input_ids[chosen]).float().mean().item()
    assert abs(masked - 0.8) < 0.02
    assert abs(unchanged - 0.1) < 0.02


def test_adaptation_changes_the_encoder_keeps_what_it_does_not_train_and_is_reused(
    tiny_encoder: Path, train_split, tmp_path: Path
) -> None:
    texts = [article.text for article in train_split.articles[:4]]
    options = {
        "epochs": 1,
        "learning_rate": 1e-3,
        "window_tokens": 64,
        "batch_size": 4,
        "seed": 13,
        "progress": False,
    }
    out = adapt_encoder(tiny_encoder, texts, tmp_path / "adapted", **options)
    report = json.loads((out / DONE_MARKER).read_text())
    assert report["steps"] >= 1 and report["windows"] >= 4
    original = build_network(tiny_encoder).encoder.state_dict()
    adapted = build_network(out).encoder.state_dict()
    assert set(adapted) == set(original)
    changed = [name for name in original if not torch.equal(original[name], adapted[name])]
    assert any("layer.0" in name for name in changed)
    assert not any(name.startswith("pooler.") for name in changed)
    assert (out / "tokenizer.json").read_bytes() == (tiny_encoder / "tokenizer.json").read_bytes()

    weights = (out / "model.safetensors").stat().st_mtime_ns
    again = adapt_encoder(tiny_encoder, texts, tmp_path / "adapted", **options)
    assert again == out and (out / "model.safetensors").stat().st_mtime_ns == weights
    for changed in ({"epochs": 2}, {"seed": 14}):
        with pytest.raises(PropscanError, match="adapted with other settings"):
            adapt_encoder(tiny_encoder, texts, out, **{**options, **changed})
    with pytest.raises(PropscanError, match="adapted with other settings"):
        adapt_encoder(tiny_encoder, texts[:2], out, **options)


def test_adaptation_without_text_is_a_clear_error(tiny_encoder: Path, tmp_path: Path) -> None:
    with pytest.raises(PropscanError, match="no text"):
        adapt_encoder(
            tiny_encoder,
            ["", "   "],
            tmp_path / "adapted",
            epochs=1,
            learning_rate=1e-3,
            window_tokens=64,
            batch_size=4,
            seed=13,
        )


def test_training_adapts_on_the_fitting_articles_only_and_both_fits_start_from_it(
    tiny_encoder: Path, train_split, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_texts: list[str] = []
    started_from: list[Path] = []
    adapt = training.adapt_encoder
    build = training.build_network

    def recording_adapt(encoder_dir, texts, out_dir, **options):
        read_texts.extend(texts)
        return adapt(encoder_dir, texts, out_dir, **options)

    def recording_build(encoder_dir):
        started_from.append(Path(encoder_dir))
        return build(encoder_dir)

    monkeypatch.setattr(training, "adapt_encoder", recording_adapt)
    monkeypatch.setattr(training, "build_network", recording_build)
    settings = TrainingSettings(
        epochs=1,
        batch_size=4,
        max_steps=2,
        max_articles=3,
        quantize=False,
        companion=False,
        adaptation_epochs=1,
        window_tokens=64,
        window_stride=64,
        inference_window_stride=64,
    )
    articles = train_split.articles[:40]
    report = train_transformer(
        articles,
        train_split.gold,
        tmp_path,
        encoder=tiny_encoder,
        settings=settings,
        progress=False,
    )
    fitting, held_out, _ = training._split_articles(articles, settings)
    assert read_texts == [article.text for article in fitting]
    assert not {article.text for article in held_out} & set(read_texts)
    adapted = tmp_path / "checkpoint" / "adapted-encoder"
    assert started_from == [adapted, adapted]
    assert report.settings.adaptation_epochs == 1
    config = json.loads((tmp_path / "model.json").read_text())
    assert config["encoder"] == tiny_encoder.name


@pytest.mark.parametrize("bad", [{"adaptation_epochs": -1}, {"adaptation_lr": 0.0}])
def test_adaptation_settings_out_of_range_are_refused(bad: dict) -> None:
    with pytest.raises(PropscanError, match="training setting"):
        replace(TrainingSettings(), **bad)
