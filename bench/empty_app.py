"""The ceiling of our server stack: Starlette on uvicorn, one POST handler that does nothing.

Run with the settings `tinytrail serve` uses (uvloop and httptools when installed, one worker,
no access log, no server header), so that the ingestion figures can be read against it.

    python -m bench.empty_app --port 8001
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def accept(request: Request) -> Response:
    await request.body()
    return Response(status_code=202)


async def health(request: Request) -> Response:
    return Response(b"ok")


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/{path:path}", accept, methods=["POST"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(
        create_app(),
        host="127.0.0.1",
        port=args.port,
        access_log=False,
        log_level="warning",
        server_header=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
