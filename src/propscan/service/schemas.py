"""JSON shapes of the REST API, as the OpenAPI spec documents them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from propscan.core.article_score import MEANING
from propscan.core.checks import check_threshold, unicode_problem
from propscan.core.confidence import BAND_NAMES, BANDS, parse_band
from propscan.errors import PropscanError

#: Largest ``offset`` of the history listing: far beyond any real history, and well
#: inside SQLite's 64-bit integers.
MAX_OFFSET = 1_000_000_000
#: Characters a title or an outlet name may have, in the API and the form alike.
MAX_TITLE_CHARS = 1000
#: Largest page size of the history listing.
MAX_LIMIT = 100


class AnalyzeRequestBody(BaseModel):
    """An article to analyse: its ``text``, or the ``url`` of a news page (exactly one)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(
        None, description="The article text. Over the size limit: 413; empty: 422."
    )
    url: str | None = Field(
        None,
        description=(
            "An http(s) URL of a news article to fetch and extract. Not http(s) or a private, "
            "loopback or link-local address: 400; unreachable, too large or no article text "
            "on the page: 422."
        ),
    )
    title: str | None = Field(
        None, max_length=MAX_TITLE_CHARS, description="Title to store with it."
    )
    source: str | None = Field(
        None, max_length=MAX_TITLE_CHARS, description="Outlet name to store with it."
    )
    threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="Detection threshold; omit for the model's tuned one."
    )
    techniques: list[str] | None = Field(
        None, description="Keep only spans of these technique labels (see /api/techniques)."
    )
    model: str | None = Field(
        None,
        max_length=200,
        description=(
            "The name of the model to analyse with (see /api/models); omit for the service's "
            "default. Models other than the default load on first use. Unknown: 422."
        ),
    )
    min_band: str | None = Field(
        None,
        description=(
            f"Keep only spans of this confidence band or a stronger one ({', '.join(BAND_NAMES)})."
            " An unknown band: 422."
        ),
    )

    @field_validator("min_band")
    @classmethod
    def _known_band(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return parse_band(value).name
        except PropscanError as error:
            raise ValueError(str(error)) from None

    @field_validator("text", "url", "title", "source", "techniques", "model", mode="before")
    @classmethod
    def _valid_unicode(cls, value: Any) -> Any:
        """Lone surrogates (JSON escapes such as \\ud800) cannot be analysed or stored."""
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and (problem := unicode_problem(item)):
                raise ValueError(problem)
        return value

    @field_validator("threshold", mode="before")
    @classmethod
    def _number_in_range(cls, value: Any) -> float | None:
        """The threshold rule of the CLI and Python: a JSON number, not true or "0.5"."""
        try:
            return check_threshold(value)
        except PropscanError as error:
            raise ValueError(str(error).removeprefix("threshold ")) from None

    @model_validator(mode="after")
    def _text_or_url(self) -> AnalyzeRequestBody:
        if (self.text is None) == (self.url is None):
            raise ValueError("give exactly one of 'text' and 'url'")
        return self


_BANDS = ", ".join(f"{band.name} from {band.lowest:.2f}" for band in BANDS)


class QuoteOut(BaseModel):
    start: int = Field(description="Offset of the quotation's opening mark.")
    end: int = Field(description="Offset after its closing mark.")
    speaker: str | None = Field(description="Whose words, as the text names them; null: unnamed.")


class EvidenceOut(BaseModel):
    word: str = Field(description="text[start:end]")
    start: int
    end: int
    score: float = Field(description="The model's propaganda probability for the word.")


class SpanOut(BaseModel):
    start: int = Field(description="Offset of the first character (Python code points).")
    end: int = Field(description="Offset after the last character.")
    technique: str | None
    score: float | None = Field(
        description="Calibrated confidence: about this share of such a fragment's characters "
        "lay inside annotated propaganda on held-out articles."
    )
    band: str = Field(description=f"The score in words: {_BANDS}.")
    fragment: str = Field(description="text[start:end]")
    quote: QuoteOut | None = Field(
        description="The quotation the span lies in; null: the outlet's own voice."
    )
    evidence: list[EvidenceOut] = Field(
        description="The words of the span with the highest token probabilities, best first."
    )


class SentenceOut(BaseModel):
    start: int
    end: int
    score: float = Field(description="Score of the most confident span in the sentence, else 0.")


class ArticleScoreOut(BaseModel):
    """One number per article, with what it is ranked against."""

    marked_sentences: int
    sentences: int
    share: float = Field(description="marked_sentences / sentences")
    percentile: float | None = Field(
        description=MEANING + " Null when the article cannot be ranked (see note)."
    )
    reference: str | None = Field(description="What the article is ranked against.")
    note: str | None = Field(description="Why the article is not ranked, if it is not.")


class ModelOut(BaseModel):
    name: str
    version: str


class ModelTechniquesOut(ModelOut):
    techniques: list[str] = Field(description="The model's technique set, in its order.")


class AnalysisOut(BaseModel):
    """The same object as ``propscan analyze --format json``, plus the permanent ``id``."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="Permanent id; the page is /a/{id}.")
    schema_version: int
    text: str
    title: str | None
    url: str | None
    source: str | None
    spans: list[SpanOut]
    sentences: list[SentenceOut]
    model: ModelTechniquesOut
    threshold: float | None = Field(
        description="The decision threshold the spans were made at (the model's tuned one "
        "unless one was given); null only for analyses stored by an older propscan whose "
        "model is not this service's."
    )
    min_band: str | None = Field(description="The lowest band kept; null: all marks.")
    kept_techniques: list[str] | None = Field(description="The techniques kept; null: all.")
    article_score: ArticleScoreOut


class AnalysisSummaryOut(BaseModel):
    id: str
    created_at: str = Field(description="UTC time, ISO 8601.")
    title: str = Field(description="The given title, else the article's first line.")
    source: str | None
    url: str | None
    span_count: int
    characters: int
    model: ModelOut
    article_score: ArticleScoreOut | None = Field(
        description="Null for analyses stored before article scores were kept."
    )


class HistoryOut(BaseModel):
    items: list[AnalysisSummaryOut]
    total: int
    limit: int
    offset: int


class TechniqueOut(BaseModel):
    label: str = Field(description="The exact label, as spans carry it.")
    name: str
    definition: str
    example: str
    colour: str


class ModelChoiceOut(BaseModel):
    """A model a request may name, with what its card says about choosing it."""

    name: str = Field(description="What the `model` field of POST /api/analyze takes.")
    default: bool = Field(description="Used when a request names no model.")
    loaded: bool = Field(description="Loaded already; another loads on its first analysis.")
    package: str | None = Field(description="The package offering it; null: shipped or given.")
    model: ModelTechniquesOut
    size_bytes: int | None = Field(description="Size on disk.")
    articles_per_second: float | None = Field(description="Speed on PTC dev, from its card.")
    scores: dict[str, dict[str, float]] = Field(
        description="Split (dev, validation) -> si_f1, tc_micro_f1, flc_f1, from its card."
    )
    description: str | None


class HealthOut(BaseModel):
    status: str
    model: ModelTechniquesOut
    schema_version: int
    analyses: int


class ErrorOut(BaseModel):
    """Every error of the API: a stable machine-readable code and a message for people."""

    error: str = Field(description="Stable code, e.g. empty_text, text_too_long, not_found.")
    message: str
