"""The web pages: the form, the result with highlights, the history and the techniques.

Pages are rendered on the server (Jinja, autoescaped: article text is always shown as
text); ``static/app.js`` adds tooltips (technique, band, voice, key words, definition and
example of every span under the pointer), the legend filter and the band filter.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from fastapi import APIRouter, Query, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from propscan.core.analysis import Analysis
from propscan.core.article_score import MEANING
from propscan.core.checks import check_threshold
from propscan.core.confidence import BANDS, band_of
from propscan.core.spans import Span
from propscan.core.techniques import Technique, TechniqueSet
from propscan.errors import PropscanError
from propscan.ptc.io import EncodingProblem, decode_utf8
from propscan.render.formats import download_format, downloads
from propscan.render.layout import (
    band_text,
    display_title,
    fill_and_underline,
    layout,
    rank_by_confidence,
    score_text,
    technique_index,
    technique_style,
    voice_text,
)
from propscan.render.text import bands_text, evidence_text, filter_text, threshold_text
from propscan.service.analyses import AnalysisRequest, ServiceError
from propscan.service.deps import Service
from propscan.service.schemas import MAX_OFFSET, MAX_TITLE_CHARS
from propscan.service.store import StoredAnalysis
from propscan.version import __version__

HISTORY_PAGE_SIZE = 20
#: Last history page that the paging bound of the API allows.
MAX_HISTORY_PAGE = MAX_OFFSET // HISTORY_PAGE_SIZE + 1

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["version"] = __version__
templates.env.globals["article_score_meaning"] = MEANING
templates.env.globals["bands"] = BANDS

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class SegmentView:
    text: str
    classes: str
    span_ids: str
    tooltip: str


@dataclass(frozen=True)
class RowView:
    score: float | None
    #: The band and score of the sentence's most confident mark ("" where it holds none).
    band: str
    new_paragraph: bool
    segments: tuple[SegmentView, ...]


@dataclass(frozen=True)
class LegendEntry:
    slot: str
    technique: Technique
    count: int


def slot_of(label: str | None, techniques: TechniqueSet) -> str:
    """The colour slot of a technique in CSS class names: its index in the model's technique
    set, else ``x``."""
    index = technique_index(label, techniques)
    return "x" if index is None else str(index)


def highlight_classes(
    span_ids: Sequence[int], spans: Sequence[Span], techniques: TechniqueSet
) -> str:
    """CSS classes of a segment: fill colour of its most confident span, underline of the
    most confident span of another technique, and ``multi`` when spans overlap."""
    if not span_ids:
        return ""
    fill, underline = fill_and_underline(spans, span_ids)
    classes = [f"t{slot_of(spans[fill].technique, techniques)}"]
    if underline is not None:
        classes.append(f"u{slot_of(spans[underline].technique, techniques)}")
    if len(span_ids) > 1:
        classes.append("multi")
    return " ".join(classes)


def result_rows(analysis: Analysis) -> tuple[RowView, ...]:
    """The article as sentence rows of text pieces (escaped by the template) to highlight.

    A piece where a span inside a quotation starts carries the ``quote-start`` class: the
    page puts a quotation mark before it.
    """
    text, spans, techniques = analysis.text, analysis.spans, analysis.model.techniques
    quoted = {index + 1 for index, span in enumerate(spans) if analysis.quote_of(span)}

    def tooltip(span_ids: tuple[int, ...]) -> str:
        return "; ".join(
            f"{technique_style(spans[i].technique, techniques).name}, {band_text(spans[i].score)}"
            for i in rank_by_confidence(spans, span_ids)
        )

    def classes(span_ids: tuple[int, ...], openers: tuple[int, ...]) -> str:
        found = highlight_classes(span_ids, spans, techniques)
        return f"{found} quote-start" if quoted.intersection(openers) else found

    return tuple(
        RowView(
            score=row.score,
            band=band_text(row.score) if row.score else "",
            new_paragraph=row.new_paragraph,
            segments=tuple(
                SegmentView(
                    text=text[segment.start : segment.end],
                    classes=classes(segment.span_ids, segment.openers),
                    span_ids=" ".join(map(str, segment.span_ids)),
                    tooltip=tooltip(segment.span_ids) if segment.span_ids else "",
                )
                for segment in row.segments
            ),
        )
        for row in layout(text, spans, analysis.sentences)
    )


def script_data(analysis: Analysis) -> dict[str, object]:
    """What ``app.js`` needs: each span's colour slot, score, band, voice and key words, each
    technique's name, definition and example, and the bands the filter offers."""
    techniques = analysis.model.techniques
    labels = dict.fromkeys(span.technique for span in analysis.spans)
    return {
        "spans": [
            {
                "slot": slot_of(span.technique, techniques),
                "score": span.score,
                "band": band_of(span.score).name,
                "score_text": "" if span.score is None else score_text(span.score),
                "voice": voice_text(analysis.quote_of(span)),
                "quoted": analysis.quote_of(span) is not None,
                "evidence": evidence_text(analysis, span),
            }
            for span in analysis.spans
        ],
        "techniques": {
            slot_of(label, techniques): {
                "label": label,
                "name": technique_style(label, techniques).name,
                "definition": technique_style(label, techniques).definition if label else "",
                "example": techniques.describe(label).example if label else "",
            }
            for label in labels
        },
        "bands": [{"name": band.name, "lowest": band.lowest} for band in BANDS],
    }


def result_context(stored: StoredAnalysis) -> dict[str, object]:
    """Everything the result page shows about one stored analysis."""
    analysis = stored.analysis
    techniques = analysis.model.techniques
    counts = Counter(span.technique for span in analysis.spans)
    legend = [
        LegendEntry(slot_of(technique.label, techniques), technique, counts[technique.label])
        for technique in techniques.descriptions()
        if counts[technique.label]
    ]
    return {
        "stored": stored,
        "analysis": analysis,
        "title": display_title(analysis.title, analysis.text),
        "rows": result_rows(analysis),
        "legend": legend,
        "span_list": [
            (
                index,
                slot_of(span.technique, techniques),
                technique_style(span.technique, techniques).name,
                span,
                band_text(span.score),
                voice_text(analysis.quote_of(span)),
                evidence_text(analysis, span),
            )
            for index, span in enumerate(analysis.spans)
        ],
        "threshold": threshold_text(analysis),
        "filters": filter_text(analysis).removeprefix(" · "),
        "bands_text": bands_text(analysis),
        "script_data": script_data(analysis),
        "downloads": downloads(),
        # the colours of this analysis's technique set, whichever model the service runs now
        "technique_stylesheet": f"/a/{stored.id}/techniques.css",
    }


def model_label(entry: dict[str, Any]) -> str:
    """A model as the form's menu shows it: name and version, then size, speed and dev SI."""
    facts = []
    if entry.get("size_bytes"):
        facts.append(f"{entry['size_bytes'] / 1e6:.0f} MB")
    if entry.get("articles_per_second"):
        facts.append(f"{entry['articles_per_second']:.1f} articles/s")
    dev_si = (entry.get("scores") or {}).get("dev", {}).get("si_f1")
    if dev_si is not None:
        facts.append(f"dev SI F1 {dev_si:.2f}")
    label = f"{entry['model']['name']} {entry['model']['version']}"
    return f"{label} ({', '.join(facts)})" if facts else label


def render_error(request: Request, status: int, message: str) -> Response:
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message}, status_code=status
    )


def _form_page(
    request: Request, service: Service, form: dict[str, str], error: str | None, status: int
) -> Response:
    context = {
        "form": form,
        "error": error,
        "max_chars": service.limits.max_text_chars,
        "technique_count": len(service.detector.techniques),
        "models": [(entry["name"], model_label(entry)) for entry in service.models.listing()],
        "chosen_model": form.get("model") or service.models.default_name,
    }
    return templates.TemplateResponse(request, "index.html", context, status_code=status)


def parse_form(body: bytes, content_type: str) -> dict[str, str]:
    """The fields of a URL-encoded form (first value of each), each checked to be UTF-8."""
    if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise ServiceError(
            415, "unsupported_media_type", "send the form as application/x-www-form-urlencoded"
        )
    fields: dict[str, str] = {}
    for pair in body.split(b"&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        name = _form_text(raw_name, "a form field name")
        fields.setdefault(name, _form_text(raw_value, f"the form field {name!r}"))
    return fields


def _form_text(raw: bytes, what: str) -> str:
    """One percent-decoded name or value, which must be UTF-8 like the page that sent it."""
    try:
        return decode_utf8(unquote_to_bytes(raw.replace(b"+", b" ")), what, "text")
    except EncodingProblem as error:
        message = f"{what} is not valid UTF-8 (byte {error.byte}); send the form as UTF-8"
        raise ServiceError(400, "invalid_form", message) from None


def form_request(form: dict[str, str]) -> AnalysisRequest:
    """The analysis a submitted form asks for.

    Browsers send textarea line breaks as CRLF whatever was pasted, so they are turned
    back into LF before the offsets are computed.
    """
    text = form.get("text", "").replace("\r\n", "\n")
    url = form.get("url", "").strip()
    title = form.get("title", "").strip() or None
    if title is not None and len(title) > MAX_TITLE_CHARS:
        raise ServiceError(
            422,
            "title_too_long",
            f"the title has {len(title):,} characters; shorten it to {MAX_TITLE_CHARS:,}",
        )
    threshold = parse_threshold(form.get("threshold", ""))
    model = form.get("model", "").strip() or None
    if url and text.strip():
        raise ServiceError(
            422, "text_and_url", "fill in either the article text or its URL, not both"
        )
    if url:
        return AnalysisRequest(url=url, title=title, threshold=threshold, model=model)
    return AnalysisRequest(text=text, title=title, threshold=threshold, model=model)


def parse_threshold(value: str) -> float | None:
    """The threshold field of the form: empty for the model's own, else a number in 0..1."""
    if not value.strip():
        return None
    try:
        return check_threshold(float(value))
    except (ValueError, PropscanError):
        raise ServiceError(
            422, "invalid_threshold", f"threshold {value!r} is not a number between 0 and 1"
        ) from None


@router.get("/", response_class=HTMLResponse)
def home(request: Request, service: Service) -> Response:
    return _form_page(request, service, {}, None, 200)


@router.post("/analyze")
async def submit(request: Request, service: Service) -> Response:
    """Analyse the form's article and go to its permanent page (or show the form again)."""
    form: dict[str, str] = {}
    try:
        form = parse_form(await request.body(), request.headers.get("content-type", ""))
        stored = await run_in_threadpool(service.analyze, form_request(form))
    except ServiceError as error:
        return _form_page(request, service, form, error.message, error.status)
    return RedirectResponse(f"/a/{stored.id}", status_code=303)


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


@router.get("/a/{analysis_id}.json")
def download_json(analysis_id: str, service: Service) -> Response:
    stored = service.get(analysis_id)
    return JSONResponse(stored.to_dict(), headers=_attachment(f"propscan-{analysis_id}.json"))


@router.get("/a/{analysis_id}.txt")
def download_text(analysis_id: str, service: Service) -> Response:
    """The article text exactly as analysed: the offsets of the labels file index it."""
    stored = service.get(analysis_id)
    return PlainTextResponse(stored.analysis.text, headers=_attachment(f"article{analysis_id}.txt"))


@router.get("/a/{analysis_id}.{suffix}")
def download(analysis_id: str, suffix: str, service: Service) -> Response:
    """The analysis in each output format that has a download suffix (``.labels``: PTC FLC
    lines with the analysis id as article id, ``.html``: the self-contained report page)."""
    chosen = download_format(suffix)
    if chosen is None:
        raise ServiceError(404, "not_found", f"no download ending in .{suffix}")
    stored = service.get(analysis_id)
    return Response(
        chosen.render(stored.analysis, analysis_id),
        media_type=chosen.media_type,
        headers=_attachment(f"article{analysis_id}.{suffix}"),
    )


@router.get("/a/{analysis_id}", response_class=HTMLResponse)
def result(analysis_id: str, request: Request, service: Service) -> Response:
    stored = service.get(analysis_id)
    return templates.TemplateResponse(request, "result.html", result_context(stored))


@router.get("/a/{analysis_id}/techniques.css")
def analysis_stylesheet(analysis_id: str, service: Service) -> Response:
    """The colours of the technique set of the model that made this analysis."""
    return _stylesheet(service.get(analysis_id).analysis.model.techniques)


@router.post("/a/{analysis_id}/delete")
def delete(analysis_id: str, service: Service) -> Response:
    service.delete(analysis_id)
    return RedirectResponse("/history", status_code=303)


@router.get("/history", response_class=HTMLResponse)
def history(
    request: Request, service: Service, page: Annotated[int, Query(ge=1, le=MAX_HISTORY_PAGE)] = 1
) -> Response:
    listing = service.history(HISTORY_PAGE_SIZE, (page - 1) * HISTORY_PAGE_SIZE)
    pages = max(1, math.ceil(listing.total / HISTORY_PAGE_SIZE))
    context = {"listing": listing, "page": page, "pages": pages}
    return templates.TemplateResponse(request, "history.html", context)


@router.get("/about", response_class=HTMLResponse)
def about(request: Request, service: Service) -> Response:
    techniques = [
        (str(slot), t) for slot, t in enumerate(service.detector.techniques.descriptions())
    ]
    return templates.TemplateResponse(request, "about.html", {"techniques": techniques})


@router.get("/assets/techniques.css")
def technique_stylesheet(service: Service) -> Response:
    """Each technique's colour as CSS classes: ``tN`` fills with it, ``uN`` underlines (the
    default model's set; a result page links the set of the model that made it)."""
    return _stylesheet(service.detector.techniques)


def _stylesheet(techniques: TechniqueSet) -> Response:
    return Response(
        technique_css(techniques),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@functools.cache
def technique_css(techniques: TechniqueSet) -> str:
    """The stylesheet of the model's technique set (slot ``N`` is its ``N``-th technique)."""
    rules = [
        f".t{slot}{{--c:{t.colour}}}\n.u{slot}{{--u:{t.colour}}}\n"
        for slot, t in enumerate(techniques.descriptions())
    ]
    rules.append(".tx{--c:#dddddd}\n.ux{--u:#888888}\n")
    return "".join(rules)
