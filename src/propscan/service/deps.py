"""FastAPI dependencies shared by the API and the web pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from propscan.service.analyses import AnalysisService


def get_service(request: Request) -> AnalysisService:
    """The service that the application's lifespan created."""
    service: AnalysisService = request.app.state.service
    return service


Service = Annotated[AnalysisService, Depends(get_service)]
