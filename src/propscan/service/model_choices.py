"""The models a service lets each analysis choose from.

The model the service started with answers requests that name none; every installed
model (:func:`~propscan.models.registry.installed_models`) can be named too, and loads
on first use (in the thread pool, like every analysis) and stays loaded. The list is
read once, when the service starts, so the page and ``GET /api/models`` offer exactly
what a request may name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from propscan.errors import PropscanError
from propscan.evaluation.model_card import installed_model_entry
from propscan.models.base import Detector, read_model_config
from propscan.models.registry import (
    InstalledModel,
    ModelDescription,
    describe_model,
    resolve_model,
)


class UnknownModel(PropscanError):
    """A request named a model the service does not offer; the message lists those it does."""


@dataclass(frozen=True)
class ModelChoice:
    """One model a request may name: ``directory`` is ``None`` for the service's default,
    which is loaded already; ``entry`` is its listing (size, speed and scores)."""

    name: str
    description: ModelDescription
    directory: Path | None
    entry: dict[str, Any]


@dataclass(frozen=True)
class ModelChoices:
    """The service's default model and the installed ones, by the names requests use."""

    default: Detector
    choices: tuple[ModelChoice, ...]
    _loaded: set[str] = field(default_factory=set, compare=False, repr=False)

    @classmethod
    def of(cls, default: Detector, installed: list[InstalledModel]) -> ModelChoices:
        """``default`` first (an installed model with its name, version, techniques and
        ``model.json`` is the same model, as a packaged copy is), then every installed
        model that can be used.

        A different default that shares an installed model's name (a model trained
        without ``--name``) is offered by its directory, so that both stay choosable."""
        described = describe_model(default)
        usable = [model for model in installed if model.directory and model.description]
        same = next(
            (
                model
                for model in usable
                if model.description == described and _same_files(model.directory, default)
            ),
            None,
        )
        name = same.name if same else described.name
        if same is None and any(model.name == name for model in usable):
            name = str(default.directory) if default.directory else f"{name} (unsaved)"
        first = ModelChoice(
            name,
            described,
            None,
            installed_model_entry(same) if same else _unlisted_entry(described),
        )
        others = tuple(
            ModelChoice(
                model.name, model.description, model.directory, installed_model_entry(model)
            )
            for model in usable
            if model is not same and model.description is not None
        )
        return cls(default, (first, *others))

    @property
    def default_name(self) -> str:
        return self.choices[0].name

    def choice(self, name: str | None) -> ModelChoice:
        """The model ``name`` names (``None``: the default), by its name here, else by the
        name its results carry (``propscan-minilm``), as the command line finds models;
        :class:`UnknownModel` if none."""
        if name is None:
            return self.choices[0]
        found = next((choice for choice in self.choices if choice.name == name), None) or next(
            (choice for choice in self.choices if choice.description.name == name), None
        )
        if found is None:
            raise UnknownModel(
                f"unknown model {name!r}; this service offers "
                f"{', '.join(choice.name for choice in self.choices)} (GET /api/models)"
            )
        return found

    def detector(self, name: str | None) -> Detector:
        """The model ``name`` names, loaded on first use (blocking: call it off the loop)."""
        chosen = self.choice(name)
        if chosen.directory is None:
            return self.default
        detector = resolve_model(chosen.directory)
        self._loaded.add(chosen.name)
        return detector

    def listing(self) -> list[dict[str, Any]]:
        """Every choice as ``GET /api/models`` lists it, the default first."""
        return [
            {
                **choice.entry,
                "name": choice.name,
                "default": choice.directory is None,
                "loaded": choice.directory is None or choice.name in self._loaded,
            }
            for choice in self.choices
        ]


def _same_files(directory: Path | None, default: Detector) -> bool:
    """Whether ``default`` was loaded from ``directory`` or from a copy of it (its
    ``model.json`` records the training and the decoding chosen, so a retrained model
    differs)."""
    if directory is None or default.directory is None:
        return False
    if Path(directory).resolve() == Path(default.directory).resolve():
        return True
    return read_model_config(directory) == read_model_config(default.directory)


def _unlisted_entry(described: ModelDescription) -> dict[str, Any]:
    """The listing of a default model that no installed package offers (a directory)."""
    return {
        "package": None,
        "model": {
            "name": described.name,
            "version": described.version,
            "techniques": list(described.techniques),
        },
        "size_bytes": None,
        "articles_per_second": None,
        "scores": {},
        "description": None,
    }
