"""The browser pages: HTML files from ``static/`` (docs/service_ui.md).

The pages are public: they hold no data. Each one asks the API for what it shows (the API
authorises every request) and sends the visitor to the login page when the API answers 401.
Their scripts and styles come from ``/static/``; nothing is loaded from another site, which the
Content-Security-Policy header enforces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from keepsight.service.policy import public

router = APIRouter(tags=["pages"])

STATIC_DIR = Path(__file__).parents[1] / "static"
HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}},
                                               "description": "the page; its data comes from the API"}}
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
                               "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
}


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / f"{name}.html", media_type="text/html", headers=HEADERS)


@router.get("/", response_class=HTMLResponse, responses=HTML, dependencies=[public()])
def home() -> FileResponse:
    """The start page: the signed-in user's jobs (the login page when nobody is signed in)."""
    return _page("jobs")


@router.get("/ui/login", response_class=HTMLResponse, responses=HTML, dependencies=[public()])
def login_page() -> FileResponse:
    """Sign in with a user name and password."""
    return _page("login")


@router.get("/ui/jobs", response_class=HTMLResponse, responses=HTML, dependencies=[public()])
def jobs_page() -> FileResponse:
    """My jobs (annotators), or every job with filters (staff, reviewers, viewers)."""
    return _page("jobs")


@router.get("/ui/jobs/{job_id}/annotate", response_class=HTMLResponse, responses=HTML, dependencies=[public()])
def annotate_page(job_id: int) -> FileResponse:
    """The annotation page of a job's images (``?item=`` opens one image)."""
    return _page("annotate")


@router.get("/ui/jobs/{job_id}/review", response_class=HTMLResponse, responses=HTML, dependencies=[public()])
def review_page(job_id: int) -> FileResponse:
    """The review page: accept or reject each image of a submitted job, then decide the job."""
    return _page("review")


@router.get("/ui/labelbook", response_class=HTMLResponse, responses=HTML, dependencies=[public()])
def labelbook_index_page() -> FileResponse:
    """The label book: the house rules and every class."""
    return _page("labelbook")


@router.get("/ui/labelbook/{name}", response_class=HTMLResponse, responses=HTML, dependencies=[public()])
def labelbook_class_page(name: str) -> FileResponse:
    """One class of the label book: description, tools, orientation, examples and counter-examples."""
    return _page("labelbook")
