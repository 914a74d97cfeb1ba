"""The HTTP guard every service installs: unexpected errors are a 500 problem on a connection that stays open."""

from __future__ import annotations

import asyncio
import socket

import httpx
import uvicorn
from fastapi import FastAPI
from learnloop_shared.http.problems import install_problem_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app, max_body_bytes=1024)

    @app.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("a bug")

    @app.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    return app


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> tuple[int, bytes]:
    """One request on an open connection; its status and body ((0, b"") if the server closed it)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        return 0, b""
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return int(status_line.split()[1]), await reader.readexactly(length)


async def test_a_500_keeps_the_connection_and_bodies_are_capped():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(_app(), host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(3):  # one keep-alive connection throughout
                status, body = await _exchange(reader, writer, "/boom")
                assert status == 500 and b'"internal error"' in body
                status, _ = await _exchange(reader, writer, "/docs")
                assert status == 200, "the server closed the connection after its 500"
        finally:
            writer.close()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            r = await client.get("/boom")
            assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
            r = await client.post("/echo", json={"a": "b" * 2000})
            assert r.status_code == 413 and r.json()["max_bytes"] == 1024

            async def chunks():
                for _ in range(4):
                    yield b" " * 512

            r = await client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
            assert r.status_code == 413 and "1024 bytes" in r.json()["detail"]
            assert (await client.post("/echo", json={"a": "b"})).status_code == 200
    finally:
        server.should_exit = True
        await task


async def test_a_problem_may_carry_response_headers():
    from learnloop_shared.http.problems import Problem

    app = FastAPI()
    install_problem_handlers(app, max_body_bytes=1024)

    @app.post("/slow-down")
    async def slow_down() -> None:
        raise Problem(429, "try again later", headers={"Retry-After": "42"})

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        r = await client.post("/slow-down")
    assert r.status_code == 429 and r.headers["retry-after"] == "42"
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == "try again later" and "headers" not in r.json()
