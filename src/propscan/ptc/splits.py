"""The corpus splits: which articles and gold spans make up ``train``, ``dev`` (and ``test``).

:func:`load_split` reads a split of a PTC directory, or of a SemEval-2021 Task 6 meme
directory (:mod:`propscan.ptc.memes`), telling them apart by their files;
:func:`validation_ids` is the fixed part of train that every model holds out to tune its
thresholds, so dev stays untouched, and :func:`held_out_ids` keeps memes out of it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from propscan.core.spans import Annotations, Article, Span
from propscan.core.techniques import PTC_14, TechniqueSet, technique_set
from propscan.errors import PropscanError
from propscan.ptc.io import (
    articles_dir,
    combined_labels_path,
    read_articles,
    read_labels,
    read_technique_set,
)
from propscan.ptc.memes import (
    MEME_SPLITS,
    UnmappedPolicy,
    check_unmapped,
    is_meme_dir,
    read_memes,
    split_file,
    split_file_names,
)

#: The splits of a PTC directory (a meme directory has :data:`MEME_SPLITS`).
SPLITS = ("train", "dev")
DEFAULT_DATA_DIR = Path("../shared/data/ptc-v2")
_LAYOUTS_HINT = (
    "a PTC directory (train-articles/, dev-articles/ and their .labels files) or a "
    f"SemEval-2021 Task 6 meme directory ({', '.join(split_file_names())})"
)


def resolve_data_dir(data: str | os.PathLike[str] | None = None) -> Path:
    """The corpus directory: ``data``, else ``$PROPSCAN_DATA``, else ``../shared/data/ptc-v2``."""
    chosen = data or os.environ.get("PROPSCAN_DATA")
    path = Path(chosen) if chosen else DEFAULT_DATA_DIR
    if not path.is_dir():
        hint = f"pass --data DIR or set PROPSCAN_DATA to {_LAYOUTS_HINT}"
        raise PropscanError(f"corpus directory {str(path)!r} does not exist; {hint}")
    return path


def is_ptc_dir(root: str | os.PathLike[str]) -> bool:
    """Whether ``root`` holds the articles folder of a PTC split."""
    return any(articles_dir(root, split).is_dir() for split in SPLITS)


def corpus_splits(root: str | os.PathLike[str]) -> tuple[str, ...]:
    """The split names of the corpus at ``root``, told from its files.

    A directory in neither layout, or in both at once, is an error naming both.
    """
    ptc, memes = is_ptc_dir(root), is_meme_dir(root)
    if ptc and memes:
        raise PropscanError(
            f"{root} holds both a PTC corpus and a meme corpus; keep each in its own directory"
        )
    if not ptc and not memes:
        raise PropscanError(f"{root} is not a corpus directory; expected {_LAYOUTS_HINT}")
    return MEME_SPLITS if memes else SPLITS


def present_splits(root: str | os.PathLike[str]) -> tuple[str, ...]:
    """The splits of the corpus at ``root`` whose files are there, in the layout's order."""
    if corpus_splits(root) == MEME_SPLITS:
        return tuple(name for name in MEME_SPLITS if split_file(root, name).is_file())
    return tuple(name for name in SPLITS if articles_dir(root, name).is_dir())


@dataclass(frozen=True)
class Split:
    """One corpus split: its articles, their gold FLC annotations and the corpus's labels.

    ``original`` is, for a corpus whose techniques were mapped onto the 14 (the memes),
    its gold under the corpus's own technique names; ``None`` for PTC and combined splits.
    Meme gold may hold spans without a technique (see :mod:`propscan.ptc.memes`).
    """

    name: str
    articles: list[Article]
    gold: Annotations
    techniques: TechniqueSet = field(default=PTC_14)
    original: Annotations | None = None

    @cached_property
    def by_id(self) -> dict[str, Article]:
        return {article.id: article for article in self.articles}


def load_split(
    data: str | os.PathLike[str] | None, split: str, *, unmapped: UnmappedPolicy = "drop"
) -> Split:
    """Articles and gold FLC spans of ``split`` from a PTC or a meme corpus directory.

    PTC has ``train`` and ``dev``, the memes ``train``, ``dev`` and ``test``;
    ``unmapped`` says what becomes of meme spans of techniques outside the 14.
    """
    check_unmapped(unmapped)
    root = resolve_data_dir(data)
    names = corpus_splits(root)
    if split not in names:
        corpus = "meme corpus" if names == MEME_SPLITS else "PTC corpus"
        raise PropscanError(
            f"unknown split {split!r} of the {corpus} at {root}; expected one of {', '.join(names)}"
        )
    if names == MEME_SPLITS:
        return _load_meme_split(root, split, unmapped)
    folder = articles_dir(root, split)
    if not folder.is_dir():
        raise PropscanError(f"{root} has no {folder.name}/ folder; is the PTC corpus complete?")
    articles = read_articles(folder)
    by_id = {article.id: article for article in articles}
    techniques = read_technique_set(root)
    gold = read_labels(
        combined_labels_path(root, split, "flc"), "flc", by_id, techniques=techniques
    )
    spans = {article.id: gold[article.id] for article in articles}
    return Split(split, articles, Annotations(spans), techniques)


def _load_meme_split(root: Path, split: str, unmapped: UnmappedPolicy) -> Split:
    path = split_file(root, split)
    if not path.is_file():
        raise PropscanError(f"{root} has no {path.name}; is the meme corpus complete?")
    memes = read_memes(path, unmapped)
    return Split(split, memes.articles, memes.gold, PTC_14, memes.original)


def load_combined_split(
    roots: Sequence[str | os.PathLike[str]],
    split: str,
    *,
    unmapped: UnmappedPolicy = "drop",
    meme_splits: Sequence[str] | None = None,
) -> Split:
    """Split ``split`` of several corpora (PTC or meme layout) together, in the order given.

    A meme corpus gives its ``meme_splits`` instead (default: ``split`` too), e.g. all
    three of them for fitting. An article found again later (same id, same text) takes
    the later spans, so hand-corrected copies of articles replace the originals (and a
    meme in two meme splits counts once); the same id with a different text is an error
    rather than a silent merge. The technique set is the first corpus's, followed by any
    label only a later one has.
    """
    articles: dict[str, Article] = {}
    gold: dict[str, tuple[Span, ...]] = {}
    origin: dict[str, str] = {}
    labels: dict[str, None] = {}
    for root in roots:
        resolved = resolve_data_dir(root)
        names = [split] if meme_splits is None or not is_meme_dir(resolved) else meme_splits
        for name in names:
            part = load_split(resolved, name, unmapped=unmapped)
            labels.update(dict.fromkeys(part.techniques))
            for article in part.articles:
                earlier = articles.get(article.id)
                if earlier is not None and earlier.text != article.text:
                    raise PropscanError(
                        f"article {article.id!r} is in {origin[article.id]} and in {root} with "
                        "different texts; rename one of them"
                    )
                articles[article.id] = article
                gold[article.id] = part.gold[article.id]
                origin[article.id] = str(root)
    return Split(split, list(articles.values()), Annotations(gold), technique_set(labels))


def joined_splits(first: Split, second: Split) -> Split:
    """Two splits of different articles as one (train and dev for a final fit); an id in
    both is an error rather than one article silently replacing the other."""
    shared = sorted(set(first.by_id) & set(second.by_id))
    if shared:
        raise PropscanError(
            f"article {shared[0]!r} is in both the {first.name} and the {second.name} split; "
            "an article belongs to one split"
        )
    labels = dict.fromkeys([*first.techniques, *second.techniques])
    return Split(
        f"{first.name}+{second.name}",
        [*first.articles, *second.articles],
        Annotations({**first.gold.spans, **second.gold.spans}),
        technique_set(labels),
    )


def load_labelled(
    articles: str | os.PathLike[str],
    gold: str | os.PathLike[str],
    techniques: TechniqueSet = PTC_14,
) -> Split:
    """A folder of ``article{ID}.txt`` files and their FLC gold labels (labels of
    ``techniques``, the set of the model they are for), as one split."""
    loaded = read_articles(articles)
    by_id = {article.id: article for article in loaded}
    labels = read_labels(gold, "flc", by_id, techniques=techniques)
    return Split(Path(articles).name, loaded, labels, techniques)


def validation_ids(article_ids: Iterable[str], fraction: float = 0.1) -> set[str]:
    """A fixed, seed-free part of the train articles held out for tuning thresholds.

    Chosen by a hash of the id so that every model and every run holds out the same
    articles, and dev stays untouched for evaluation.
    """

    def bucket(article_id: str) -> float:
        digest = hashlib.sha256(article_id.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    return {article_id for article_id in article_ids if bucket(article_id) < fraction}


def held_out_ids(articles: Iterable[Article], fraction: float = 0.1) -> set[str]:
    """The validation part of training articles: :func:`validation_ids` of the news ones.

    Articles of another corpus (the memes) are for fitting only, so the part that chooses
    settings is the same PTC articles whether or not memes were added.
    """
    return validation_ids((article.id for article in articles if article.corpus is None), fraction)


def check_gold(
    articles: Sequence[Article], gold: Annotations, purpose: str, *, unlabelled_ok: bool = False
) -> None:
    """Refuse gold spans without a technique or beyond their article (``purpose`` needs FLC).

    ``unlabelled_ok`` accepts spans without a technique in articles of another corpus
    than PTC (meme spans of techniques outside the 14, kept for span finding only).
    Spans of articles not among ``articles`` are not looked at.
    """
    by_id = {article.id: article for article in articles}
    for article_id, span in gold:
        article = by_id.get(article_id)
        if article is None:
            continue
        if span.technique is None and not (unlabelled_ok and article.corpus is not None):
            raise PropscanError(
                f"gold span {span.start}-{span.end} of article {article_id} has no technique; "
                f"{purpose} needs FLC gold labels (ID TECHNIQUE START END)"
            )
        if span.end > len(article.text):
            raise PropscanError(
                f"gold span {span.start}-{span.end} ends beyond article {article_id} "
                f"({len(article.text)} characters); are these the labels of these articles?"
            )
