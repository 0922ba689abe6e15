"""What the service does, apart from HTTP: validate a request, fetch, analyse, store.

The API and the web page are thin wrappers over :class:`AnalysisService`; every problem
a client can fix is a :class:`ServiceError` carrying its HTTP status and a stable code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from propscan.core.checks import DEFAULT_MAX_CHARS, TextProblem, check_text
from propscan.core.spans import Article
from propscan.errors import PropscanError
from propscan.fetch import FetchError, fetch_article
from propscan.models.base import Detector
from propscan.pipeline import analyze
from propscan.service.model_choices import ModelChoice, ModelChoices, UnknownModel
from propscan.service.store import HistoryPage, Store, StoredAnalysis

_ANALYSIS_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

#: HTTP status for each reason a URL could not be turned into an article.
FETCH_ERROR_STATUS: dict[str, int] = {
    "invalid_url": 400,
    "private_address": 400,
    "unreachable": 422,
    "too_large": 422,
    "not_an_article": 422,
}


class ServiceError(PropscanError):
    """A request the service refuses: an HTTP status, a stable code and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Limits:
    """Bounds on what one request may make the server do."""

    max_text_chars: int = DEFAULT_MAX_CHARS
    fetch_timeout: float = 10.0
    fetch_max_bytes: int = 5_000_000
    fetch_max_redirects: int = 5

    @property
    def max_body_bytes(self) -> int:
        """Largest request body: the text limit JSON- or form-encoded at worst, plus room."""
        return 12 * self.max_text_chars + 65_536


@dataclass(frozen=True)
class AnalysisRequest:
    """An article to analyse, given as ``text`` or as ``url`` (exactly one).

    Made from a request schema or a form, which have checked the threshold already.
    """

    text: str | None = None
    url: str | None = None
    title: str | None = None
    source: str | None = None
    threshold: float | None = None
    techniques: Sequence[str] | None = None
    #: The name of a model the service offers; ``None`` for its default.
    model: str | None = None
    min_band: str | None = None


@dataclass(frozen=True)
class AnalysisService:
    """Analyses articles with the model each request chooses and keeps every result."""

    models: ModelChoices
    store: Store
    limits: Limits = Limits()
    allow_private_urls: bool = False

    @property
    def detector(self) -> Detector:
        """The model of requests that name none."""
        return self.models.default

    def model(self, name: str | None) -> ModelChoice:
        """The model a request names (``None``: the default), or a 422 listing the names."""
        try:
            return self.models.choice(name)
        except UnknownModel as error:
            raise ServiceError(422, "unknown_model", str(error)) from None

    def analyze(self, request: AnalysisRequest) -> StoredAnalysis:
        """Analyse the requested article and store the result (blocking: call off the loop).

        A model other than the default loads here on first use and stays loaded."""
        self.model(request.model)  # an unknown model fails before any page is fetched
        if request.text is not None and request.url is not None:
            raise ServiceError(
                422, "text_and_url", "give either the article text or its URL, not both"
            )
        title, url, source = request.title, request.url, request.source
        if request.url is not None:
            article = self._fetch(request.url)
            text = article.text
            title = title or article.title
            url = article.url or request.url
            source = source or article.source or urlsplit(url).hostname
        elif request.text is not None:
            text = request.text
        else:
            raise ServiceError(422, "missing_input", "give the article text or its URL")
        self._check_text(text, fetched=request.url is not None)
        try:
            analysis = analyze(
                text,
                self.models.detector(request.model),
                threshold=request.threshold,
                techniques=list(request.techniques) if request.techniques is not None else None,
                min_band=request.min_band,
                title=title,
                url=url,
                source=source,
            )
        except PropscanError as error:
            raise ServiceError(422, "invalid_input", str(error)) from error
        return self.store.save(analysis)

    def get(self, analysis_id: str) -> StoredAnalysis:
        """The stored analysis with this id, or a 404 saying how to find valid ids.

        Analyses stored before the threshold was always recorded (``None``: the model's
        own) get the threshold of the service's model when that model made them.
        """
        stored = self.store.get(analysis_id) if _ANALYSIS_ID.match(analysis_id) else None
        if stored is None:
            raise _not_found(analysis_id)
        analysis, detector = stored.analysis, self.detector
        made_here = (analysis.model.name, analysis.model.version) == (
            detector.name,
            detector.version,
        )
        if analysis.threshold is None and made_here:
            analysis = replace(analysis, threshold=detector.decision_threshold)
            stored = replace(stored, analysis=analysis)
        return stored

    def delete(self, analysis_id: str) -> None:
        """Remove a stored analysis, or raise a 404 if there is none with this id."""
        if not (_ANALYSIS_ID.match(analysis_id) and self.store.delete(analysis_id)):
            raise _not_found(analysis_id)

    def history(self, limit: int, offset: int) -> HistoryPage:
        return self.store.list(limit=limit, offset=offset)

    def _check_text(self, text: str, *, fetched: bool) -> None:
        """Refuse text that is not text, is empty or is over the limit (422, or 413 if sent)."""
        where = "the article at that URL" if fetched else "the article"
        try:
            check_text(text, where, max_chars=self.limits.max_text_chars)
        except TextProblem as problem:
            if problem.reason == "too_long":
                raise ServiceError(422 if fetched else 413, "text_too_long", str(problem)) from None
            code = "empty_text" if problem.reason == "empty" else "invalid_text"
            raise ServiceError(422, code, str(problem)) from None

    def _fetch(self, url: str) -> Article:
        try:
            return fetch_article(
                url,
                allow_private=self.allow_private_urls,
                timeout=self.limits.fetch_timeout,
                max_bytes=self.limits.fetch_max_bytes,
                max_redirects=self.limits.fetch_max_redirects,
            )
        except FetchError as error:
            status = FETCH_ERROR_STATUS.get(error.reason, 422)
            raise ServiceError(status, error.reason, str(error)) from error


def _not_found(analysis_id: str) -> ServiceError:
    return ServiceError(
        404,
        "not_found",
        f"no analysis with id {analysis_id!r}; the history lists the stored ones "
        "(/history, or GET /api/analyses)",
    )
