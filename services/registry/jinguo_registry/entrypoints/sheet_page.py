"""The year-end sheet as a web page at `<prefix>/sheet/`: three static files, no build step.

The page holds no data: it asks for an API key and sends it with its own data calls. So it is
served in front of the API's admission, which would refuse the browser's plain GET of the page
for want of a key it has no way to send.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from jinguo_shared.http.problems import problem

FILES = Path(__file__).with_name("sheet_page")
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "sheet.js": "text/javascript; charset=utf-8",
    "sheet.css": "text/css; charset=utf-8",
}
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # nothing from elsewhere, nothing inline: a key typed into this page goes nowhere but here
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
        " img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


async def asset(request: Request) -> Response:
    name = request.path_params.get("name", "index.html")
    if name not in ASSETS:
        return problem(404, "not-found", "Not found", f"the sheet page has no {name}", request)
    return FileResponse(FILES / name, media_type=ASSETS[name], headers=HEADERS)


async def with_slash(request: Request) -> Response:
    # relative: right under whatever prefix the registry is mounted at
    return RedirectResponse("sheet/", status_code=308)


page = Router(
    routes=[
        Route("/sheet", with_slash),
        Route("/sheet/", asset),
        Route("/sheet/{name}", asset),
    ],
    redirect_slashes=False,
)


class SheetPage:
    """ASGI middleware: the page's paths to `page`, everything else on to the API."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_page(scope):
            await page(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _is_page(scope: Scope) -> bool:
    """A GET of the page; any other method goes on to the API, which refuses it as it refuses
    any request without a key."""
    if scope["method"] not in ("GET", "HEAD"):
        return False
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path == "/sheet" or path.startswith("/sheet/")


def install(app: FastAPI) -> None:
    """Serve the page from `app`, outside (in front of) its authentication."""
    app.add_middleware(SheetPage)
