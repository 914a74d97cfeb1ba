"""The route class of every ``/xapi/`` endpoint: version negotiation, the version header, errors as xAPI says.

- A request without ``X-Experience-API-Version`` (or with one the LRS does not speak) is 400, except on
  routes that opt out (``/xapi/about``).
- Every response carries ``X-Experience-API-Version`` (the negotiated one, else the latest).
- Every refusal is a problem document; request validation (FastAPI's 422) becomes 400, as xAPI requires.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from learnloop_shared.auth import AuthError
from learnloop_shared.http.problems import Problem, problem_response
from starlette.exceptions import HTTPException

from ...domain.xapi.errors import XapiError
from ...domain.xapi.versions import HEADER, LATEST, negotiate


def xapi_version(request: Request) -> str:
    """The version this request speaks (set by :class:`XapiRoute`)."""
    return str(getattr(request.state, "xapi_version", LATEST))


class XapiRoute(APIRoute):
    """See the module docstring. ``requires_version = False`` on a subclass opts out of the header check."""

    requires_version = True

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        requires_version = self.requires_version

        async def xapi_handler(request: Request) -> Response:
            version = LATEST
            try:
                header = request.headers.get(HEADER)
                if requires_version or header is not None:
                    version = negotiate(header)
                request.state.xapi_version = version
                response = await handler(request)
            except XapiError as exc:
                response = problem_response(request, exc.status, str(exc))
            except RequestValidationError as exc:
                errors = "; ".join(
                    f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()
                )
                response = problem_response(request, 400, f"the request is invalid: {errors}")
            except AuthError as exc:
                response = problem_response(
                    request, 401, str(exc), headers={"WWW-Authenticate": 'Basic realm="xapi", Bearer'}
                )
            except Problem as exc:
                response = problem_response(
                    request, exc.status, exc.detail, exc.title, headers=exc.headers, **exc.extra
                )
            except HTTPException as exc:
                response = problem_response(request, exc.status_code, str(exc.detail), headers=exc.headers)
            response.headers[HEADER] = version
            return response

        return xapi_handler


class XapiAboutRoute(XapiRoute):
    """``/xapi/about`` answers without the version header."""

    requires_version = False
