"""The REST API under ``/api`` (and ``/healthz``): thin wrappers over the service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from propscan.service.analyses import AnalysisRequest
from propscan.service.deps import Service
from propscan.service.schemas import (
    MAX_LIMIT,
    MAX_OFFSET,
    AnalysisOut,
    AnalyzeRequestBody,
    ErrorOut,
    HealthOut,
    HistoryOut,
    ModelChoiceOut,
    TechniqueOut,
)


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


#: FastAPI's type for a route's extra responses (keys: status codes).
Responses = dict[int | str, dict[str, Any]]

NOT_FOUND: Responses = {404: _error("No analysis with this id.")}
#: Any route can fail unexpectedly; the answer is still the error envelope.
UNEXPECTED: Responses = {
    500: _error("An unexpected error; its message names the request id the log has.")
}

router = APIRouter(responses=UNEXPECTED)


@router.post(
    "/api/analyze",
    status_code=201,
    response_model=AnalysisOut,
    tags=["analyses"],
    summary="Analyse an article and store the result",
    responses={
        400: _error("Invalid JSON, or a URL that is not http(s) or points to a private address."),
        413: _error("The text or the request body is over the size limit."),
        415: _error("The body is not sent as JSON (Content-Type: application/json)."),
        422: _error(
            "Empty text, text with lone surrogates, both or neither of text and url, an unknown "
            "technique, confidence band or model, a threshold outside [0, 1], or a URL that is "
            "unreachable, too large or has no article."
        ),
    },
)
def analyze_article(body: AnalyzeRequestBody, response: Response, service: Service) -> Any:
    """Find propaganda spans in the text (or in the article at the URL) and store them.

    The response is the same object as `propscan analyze --format json` plus its
    permanent `id`; the `Location` header points to it, and its page is `/a/{id}`.
    """
    stored = service.analyze(AnalysisRequest(**body.model_dump()))
    response.headers["Location"] = f"/api/analyses/{stored.id}"
    return stored.to_dict()


@router.get(
    "/api/analyses/{analysis_id}",
    response_model=AnalysisOut,
    tags=["analyses"],
    summary="A stored analysis",
    responses=NOT_FOUND,
)
def get_analysis(analysis_id: str, service: Service) -> Any:
    return service.get(analysis_id).to_dict()


@router.get(
    "/api/analyses",
    response_model=HistoryOut,
    tags=["analyses"],
    summary="Stored analyses, newest first",
    responses={422: _error("limit or offset out of range.")},
)
def list_analyses(
    service: Service,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Analyses to skip.")] = 0,
) -> Any:
    page = service.history(limit, offset)
    return {
        "items": [item.to_dict() for item in page.items],
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
    }


@router.delete(
    "/api/analyses/{analysis_id}",
    status_code=204,
    tags=["analyses"],
    summary="Delete a stored analysis",
    responses=NOT_FOUND,
)
def delete_analysis(analysis_id: str, service: Service) -> Response:
    """Remove the analysis; its article text goes too unless another analysis uses it."""
    service.delete(analysis_id)
    return Response(status_code=204)


@router.get(
    "/api/models",
    response_model=list[ModelChoiceOut],
    tags=["models"],
    summary="The models an analysis may choose, the default first",
)
def list_models(service: Service) -> Any:
    """The service's default model and every installed model package, with size, speed and
    scores from each model card; `model` in POST /api/analyze takes their `name`."""
    return service.models.listing()


@router.get(
    "/api/techniques",
    response_model=list[TechniqueOut],
    tags=["techniques"],
    summary="The propaganda techniques of a model",
    responses={422: _error("An unknown model.")},
)
def list_techniques(
    service: Service,
    model: Annotated[
        str | None,
        Query(
            max_length=200, description="A model's name (see /api/models); omit for the default."
        ),
    ] = None,
) -> Any:
    """Every technique the model names, in its order, with definition and colour."""
    return [
        {
            "label": technique.label,
            "name": technique.name,
            "definition": technique.definition,
            "example": technique.example,
            "colour": technique.colour,
        }
        for technique in service.model(model).description.techniques.descriptions()
    ]


@router.get("/healthz", response_model=HealthOut, tags=["service"], summary="Liveness check")
def health(service: Service) -> Any:
    """The model in use and the database's schema version; 500 if the database fails."""
    detector = service.detector
    return {
        "status": "ok",
        "model": {
            "name": detector.name,
            "version": detector.version,
            "techniques": list(detector.techniques),
        },
        "schema_version": service.store.schema_version,
        "analyses": service.store.count(),
    }
