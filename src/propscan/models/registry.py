"""Which class loads or trains a model: its ``kind`` names it; and how a model is named.

Implementations are imported only when a model of their kind is loaded or trained, so
the interface (:mod:`propscan.models.base`) and this registry import none of them, and a
new kind is one line in each table. :func:`resolve_model` is the one place that turns
what a caller names into a detector: a loaded detector, ``None`` or ``"default"`` for the
shipped model, the name of an installed model package (found through the
:data:`ENTRY_POINT_GROUP` entry points, as spaCy finds its pipelines), or a model
directory. :func:`describe_model` reads the same without loading it, and
:func:`installed_models` lists what can be named.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from propscan.core.spans import Article
from propscan.core.techniques import TechniqueSet, technique_set
from propscan.errors import PropscanError
from propscan.models.base import DEFAULT_MODEL_DIR, Detector, read_model_config

#: ``kind`` -> ``module:class`` whose ``load(directory)`` returns the detector.
LOADERS: dict[str, str] = {
    "baseline": "propscan.models.baseline.detector:BaselineDetector",
    "transformer": "propscan.models.transformer.detector:TransformerDetector",
}

#: ``kind`` -> ``module:function`` that trains a model of that kind into a directory
#: (``train(split, out, options, progress)``, see :class:`TrainingOptions`).
TRAINERS: dict[str, str] = {
    "baseline": "propscan.models.baseline.train:train_model",
    "transformer": "propscan.models.transformer.train:train_model",
}

#: What names a model: a loaded detector, ``None`` or ``"default"`` for the shipped one, the
#: name of an installed model package, or a model directory.
ModelSource = Detector | str | os.PathLike[str] | None

#: Entry point group through which an installed package offers a model: the entry point's
#: name is the model's name, its object a function returning the model directory (or the
#: directory itself), e.g. ``mpnet = "propscan_mpnet:model_dir"``.
ENTRY_POINT_GROUP = "propscan.models"
#: The name that always means the model shipped with propscan.
DEFAULT_MODEL_NAME = "default"


#: How a yes-or-no recipe setting may be written (``--setting refit=no``), in any case: a
#: kind reads its yes-or-no settings by this table, never by truthiness.
BOOLEAN_WORDS: dict[str, bool] = {
    "true": True,
    "yes": True,
    "1": True,
    "false": False,
    "no": False,
    "0": False,
}


@dataclass(frozen=True)
class TrainingOptions:
    """What ``propscan train`` asks of any kind of model (a kind ignores what it lacks)."""

    seed: int = 13
    epochs: int = 4
    max_steps: int | None = None
    max_articles: int | None = None
    quantize: bool = True
    refit: bool = True
    encoder: Path | None = None
    #: Where torch computes (``cpu``, or ``cuda`` where a GPU is); kinds without torch
    #: ignore it.
    device: str = "cpu"
    #: Recipe settings of the kind by name (the transformer's ``TrainingSettings``), over
    #: its defaults; a kind refuses a setting it does not have.
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: The name and version the model is written with, so that a model of one's own is told
    #: apart from the shipped one in results and history (``None``: the name of the output
    #: folder, see :func:`own_model_name`, and the kind's own version).
    name: str | None = None
    version: str | None = None
    #: Model directories whose probabilities are mixed into the targets (several: their
    #: ensemble); kinds without a teacher refuse them.
    teachers: tuple[Path, ...] = ()
    #: A model of the same recipe fitted without dev: fit that recipe on train and dev
    #: together, with the twin's decoding, the twin answering for it on dev (kinds that
    #: choose nothing on held-out data refuse it).
    twin: Path | None = None
    #: Where a kind says what the person training should know as it happens, one line at a
    #: time (a run resumed from a checkpoint); ``None``: nowhere.
    notify: Callable[[str], None] | None = None


def capped_articles(articles: Sequence[Article], limit: int | None) -> list[Article]:
    """The first ``limit`` PTC articles and the first ``limit`` texts of other corpora (the
    memes), in their order (``--max-articles``): a cap on the list as a whole would fit on
    whichever corpus ``--data`` named first, memes alone included."""
    if limit is None:
        return list(articles)
    ptc = [article for article in articles if article.corpus is None][:limit]
    other = [article for article in articles if article.corpus is not None][:limit]
    kept = {id(article) for article in [*ptc, *other]}
    return [article for article in articles if id(article) in kept]


#: Added to an output folder's name that a shipped or installed model goes by already.
OWN_MODEL_SUFFIX = "-local"
#: Characters of a model name or version, which file names and URLs carry as they are.
NAME_CHARACTERS = "A-Za-z0-9._+-"
#: A model name or version: up to 64 of them, the first a letter or digit.
MODEL_LABEL = re.compile(rf"[A-Za-z0-9][{NAME_CHARACTERS}]{{0,63}}")


def own_model_name(out: str | os.PathLike[str], kind_name: str) -> str:
    """The name a model trained without ``--name`` is written with: its output folder's
    (``runs/my-model``: ``my-model``), made a valid name, with :data:`OWN_MODEL_SUFFIX`
    when that is the kind's own name (``kind_name``, the shipped model's) or an installed
    model's, so that results, history and ``propscan report`` never take it for theirs."""
    given = Path(out).resolve().name
    latin = unicodedata.normalize("NFKD", given).encode("ascii", "ignore").decode()  # "modèle"
    folder = re.sub(f"[^{NAME_CHARACTERS}]+", "-", latin).strip("._+-")[:40]
    if sum(map(str.isalnum, latin)) < sum(map(str.isalnum, given)) or not folder:
        # letters of another script ("модель") or none ("/"): told apart by a hash
        digest = hashlib.sha256(given.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        folder = f"{folder or 'model'}-{digest}"
    taken = {DEFAULT_MODEL_NAME, kind_name}
    for model in installed_models():
        taken.add(model.name)
        if model.description is not None:
            taken.add(model.description.name)
    return f"{folder}{OWN_MODEL_SUFFIX}" if folder in taken else folder


@dataclass(frozen=True)
class ModelDescription:
    """Name, version and technique set of a model, read from its ``model.json``."""

    name: str
    version: str
    techniques: TechniqueSet


@dataclass(frozen=True)
class InstalledModel:
    """A model that can be named: the shipped one, or one an installed package offers.

    ``package`` is the distribution offering it (``None``: shipped with propscan);
    ``problem`` says why it cannot be used (a broken package), and then ``directory`` and
    ``description`` are ``None``.
    """

    name: str
    directory: Path | None
    description: ModelDescription | None
    package: str | None = None
    problem: str | None = None


def _imported(target: str) -> Any:
    module, name = target.split(":")
    return getattr(import_module(module), name)


def load_detector(directory: str | os.PathLike[str] | None = None) -> Detector:
    """Load the model in ``directory``, or the model shipped with propscan (not cached)."""
    path = Path(directory) if directory is not None else DEFAULT_MODEL_DIR
    kind = read_model_config(path).get("kind")
    target = LOADERS.get(kind) if isinstance(kind, str) else None
    if target is None:
        raise PropscanError(f"{path}/model.json: unknown model kind {kind!r}")
    loaded: Detector = _imported(target).load(path)
    return loaded


#: Packages only training needs (the ``train`` extra).
TRAINING_PACKAGES = frozenset({"torch", "transformers", "safetensors", "onnx"})


def trainer(kind: str) -> Any:
    """The training function of models of ``kind`` (see :data:`TRAINERS`)."""
    target = TRAINERS.get(kind)
    if target is None:
        raise PropscanError(f"unknown model kind {kind!r}; expected one of {', '.join(TRAINERS)}")
    try:
        return _imported(target)
    except ModuleNotFoundError as error:  # torch and transformers come with the extra
        if error.name not in TRAINING_PACKAGES:
            raise
        raise PropscanError(
            f"training needs the 'train' extra ({error.name} is not installed): "
            "pip install 'propscan[train]'"
        ) from None


def _read_description(directory: Path) -> ModelDescription:
    config = read_model_config(directory)
    return ModelDescription(
        str(config.get("name")), str(config.get("version")), technique_set(config.get("techniques"))
    )


def _shipped_model() -> InstalledModel:
    if not (DEFAULT_MODEL_DIR / "model.json").is_file():
        problem = (
            "this installation of propscan ships no model; pass a model directory "
            "(--model DIR) made with 'propscan train', or install a model package"
        )
        return InstalledModel(DEFAULT_MODEL_NAME, None, None, problem=problem)
    return InstalledModel(
        DEFAULT_MODEL_NAME, DEFAULT_MODEL_DIR, _read_description(DEFAULT_MODEL_DIR)
    )


def _packaged_model(entry: EntryPoint, offered_by: list[str]) -> InstalledModel:
    """The model one entry point offers, or what is wrong with it."""
    package = f"{entry.dist.name} {entry.dist.version}" if entry.dist is not None else None
    try:
        if entry.name == DEFAULT_MODEL_NAME:
            raise PropscanError(f"the name {DEFAULT_MODEL_NAME!r} is kept for the shipped model")
        if len(offered_by) > 1:
            raise PropscanError(f"offered by {len(offered_by)} packages: {', '.join(offered_by)}")
        offered = entry.load()
        directory = Path(offered() if callable(offered) else offered)
        return InstalledModel(entry.name, directory, _read_description(directory), package)
    except Exception as error:  # a broken third-party package must not break the listing
        problem = f"model package {package or entry.value!r} is broken: {error}"
        return InstalledModel(entry.name, None, None, package, problem)


def installed_models() -> list[InstalledModel]:
    """The shipped model, then the models installed packages offer, by name."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda entry: entry.name)
    offered_by: dict[str, list[str]] = {}
    for entry in found:
        offered_by.setdefault(entry.name, []).append(entry.dist.name if entry.dist else entry.value)
    return [_shipped_model(), *(_packaged_model(entry, offered_by[entry.name]) for entry in found)]


def _looks_like_a_path(value: str) -> bool:
    return any(mark in value for mark in ("/", os.sep)) or value.startswith((".", "~"))


def find_installed(
    name: str, installed: list[InstalledModel] | None = None
) -> InstalledModel | None:
    """The installed model called ``name``: by its name, else by the name in its
    ``model.json`` (``propscan-minilm`` for the shipped one)."""
    models = installed_models() if installed is None else installed
    by_name = next((model for model in models if model.name == name), None)
    if by_name is not None:
        return by_name
    return next(
        (m for m in models if m.description is not None and m.description.name == name), None
    )


def _usable(model: InstalledModel) -> Path:
    if model.directory is None:
        raise PropscanError(model.problem or f"model {model.name!r} cannot be used")
    return model.directory


def unknown_model_message(name: str, installed: list[InstalledModel]) -> str:
    """Why ``name`` names no model, listing the models that can be named."""
    usable = [
        f"{model.name} ({model.description.name} {model.description.version})"
        for model in installed
        if model.description is not None
    ]
    return (
        f"unknown model {name!r}; installed: {', '.join(usable) or 'none'} "
        "(see 'propscan models'), or give a model directory made by 'propscan train'"
    )


def _locate(model: str | os.PathLike[str] | None) -> tuple[Path, str | None]:
    """The directory of the model ``model`` names, and its installed name if it has one."""
    if model is None or model == DEFAULT_MODEL_NAME:
        return _usable(_shipped_model()), DEFAULT_MODEL_NAME
    if "\0" in os.fspath(model):  # no file name holds one; the system refuses to look
        raise PropscanError(
            f"model {os.fspath(model)!r} holds a NUL character, which no model or directory "
            "name can hold"
        )
    if not isinstance(model, str) or _looks_like_a_path(model):
        return Path(os.path.expanduser(model)), None  # "~nobody/x" stays as it is
    installed = installed_models()
    found = find_installed(model, installed)
    if found is not None:
        return _usable(found), found.name
    if Path(model).is_dir():
        return Path(model), None
    raise PropscanError(unknown_model_message(model, installed))


def model_directory(model: str | os.PathLike[str] | None) -> Path:
    """The directory of the model ``model`` names (see :data:`ModelSource`).

    A bare name is looked up among the installed models first, then taken as a directory
    (write ``./mpnet`` for a directory that shares a model's name).
    """
    return _locate(model)[0]


def model_reference(model: str | os.PathLike[str] | None) -> str | None:
    """How another process names the same model: ``None`` for the shipped one, an
    installed model's name, else the directory's absolute path."""
    directory, name = _locate(model)
    if name == DEFAULT_MODEL_NAME or directory.resolve() == DEFAULT_MODEL_DIR.resolve():
        return None
    return name if name is not None else str(directory.resolve())


_LOADED: dict[Path, tuple[tuple[int, int, int], Detector]] = {}
_LOADING = threading.Lock()


def _loaded(directory: Path) -> Detector:
    """The model in ``directory``, loaded once per process (again if its model.json changes)."""
    try:
        status = (directory / "model.json").stat()
    except OSError:
        return load_detector(directory)  # no model.json: load_detector says what is wrong
    key = directory.resolve()
    stamp = (status.st_mtime_ns, status.st_size, status.st_ino)
    cached = _LOADED.get(key)
    if cached is None or cached[0] != stamp:
        with _LOADING:  # one load at a time; a loaded model is never waited for
            cached = _LOADED.get(key)
            if cached is None or cached[0] != stamp:
                cached = _LOADED[key] = (stamp, load_detector(key))
    return cached[1]


def resolve_model(model: ModelSource) -> Detector:
    """The detector ``model`` names; each model directory is loaded once per process."""
    if model is None or isinstance(model, str | os.PathLike):
        return _loaded(model_directory(model))
    return _checked_detector(model)


def describe_model(model: ModelSource) -> ModelDescription:
    """Name, version and techniques of ``model``, without loading it when it is not loaded."""
    if model is not None and not isinstance(model, str | os.PathLike):
        model = _checked_detector(model)
        return ModelDescription(model.name, model.version, model.techniques)
    return _read_description(model_directory(model))


def _checked_detector(model: object) -> Detector:
    """``model`` if it is a loaded model (what :func:`load_model` returns), else why not."""
    if not all(hasattr(model, name) for name in ("predict", "name", "version", "techniques")):
        raise PropscanError(
            f"model must be a model name, a model directory or a loaded model, got "
            f"{type(model).__name__} {model!r:.40}"
        )
    return model  # type: ignore[return-value]
