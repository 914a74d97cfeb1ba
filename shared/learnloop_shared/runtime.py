"""The one place that wires a service together: clients created in the lifespan and injected.

A service describes itself with a :class:`ServiceDefinition`; :func:`create_app` builds the FastAPI
app for its role (api, worker or both) and :func:`main` runs it under uvicorn.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from .auth import TokenVerifier
from .http.metrics import metrics_router
from .http.problems import PROBLEM_RESPONSES, install_problem_handlers
from .jobs import Job, JobRunner
from .kafka.consumers import ConsumerSpec
from .kafka.dead_letters import DeadLetters
from .kafka.publisher import Publisher
from .kafka.runner import ConsumerRunner
from .kafka.topics import ensure_topics
from .logging import configure_logging
from .mongo import Doc, create_client, ping
from .outbox import Outbox
from .recovery import ClusterMarks, Step, broker_cluster_id, recover_if_new_cluster
from .settings import Role, ServiceSettings, load_settings
from .telemetry import Telemetry, TelemetrySettings, setup_telemetry

log = logging.getLogger(__name__)
S = TypeVar("S", bound=ServiceSettings)
D = TypeVar("D")


@dataclass
class Runtime(Generic[S]):
    """Everything a request handler or consumer needs; built once per process."""

    settings: S
    mongo: AsyncMongoClient[Doc]
    db: AsyncDatabase[Doc]
    publisher: Publisher
    verifier: TokenVerifier
    outbox: Outbox
    dead_letters: DeadLetters
    consumers: ConsumerRunner | None = None
    deps: object = None  # the service's own dependencies (see ServiceDefinition); typed where they are used
    jobs: JobRunner | None = None
    telemetry: Telemetry = field(default_factory=Telemetry.disabled)

    @property
    def source(self) -> str:
        return f"/learnloop/{self.settings.service_name}"


@dataclass(frozen=True)
class ServiceDefinition(Generic[S, D]):
    """A service: its settings, routes, and the dependencies (``D``: repositories, use cases, handlers) that
    its consumers, jobs and recovery steps are declared from."""

    name: str
    title: str
    settings_cls: type[S]
    routers: Sequence[APIRouter]
    build_deps: Callable[[Runtime[S]], Awaitable[D]]
    consumers: Callable[[Runtime[S], D], Sequence[ConsumerSpec]] = lambda _rt, _deps: ()
    # Periodic jobs (see jobs.py); each runs in the processes of its role. The outbox relay is the runtime's own.
    jobs: Callable[[Runtime[S], D], Sequence[Job]] = lambda _rt, _deps: ()
    # Consumer-side steps to run when the Kafka cluster is new (see recovery.py), by name.
    recovery: Callable[[Runtime[S], D], Mapping[str, Step]] = lambda _rt, _deps: {}


def create_app(defn: ServiceDefinition[S, Any], settings: S, telemetry: Telemetry | None = None) -> FastAPI:
    tel = telemetry or Telemetry.disabled(f"learnloop-{defn.name}")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = await _start_runtime(defn, settings, tel)
        app.state.runtime = rt
        try:
            yield
        finally:
            await _stop_runtime(rt)

    app = FastAPI(
        title=defn.title,
        version="1.0.0",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
    )
    install_problem_handlers(app, settings.http_max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"],
        )
    app.include_router(_health_router())
    if tel.registry is not None:
        app.include_router(metrics_router(tel.registry))
    tel.instrument_app(app)
    if settings.role.serves_api:
        for router in defn.routers:
            app.include_router(router)
    return app


async def _start_runtime(defn: ServiceDefinition[S, D], settings: S, tel: Telemetry) -> Runtime[S]:
    mongo = create_client(settings, tel.mongo_listeners())
    publisher = Publisher(settings, tel.tracer("learnloop.kafka"))
    if settings.kafka_create_topics:
        await _retry("create topics", lambda: ensure_topics(settings))
    await _retry("connect to Kafka", publisher.start)
    db = mongo[settings.mongo_db]
    rt: Runtime[S] = Runtime(
        settings=settings,
        mongo=mongo,
        db=db,
        publisher=publisher,
        verifier=TokenVerifier(settings),
        outbox=Outbox(db, publisher),
        dead_letters=DeadLetters(publisher, settings.topics.dead_letters, f"/learnloop/{settings.service_name}"),
        telemetry=tel,
    )
    await _retry("prepare MongoDB", rt.outbox.ensure_indexes)
    deps = await defn.build_deps(rt)
    rt.deps = deps
    await _retry("recover after a new Kafka cluster", lambda: _recover(defn, rt, deps))
    jobs = [Job("outbox-relay", rt.outbox.relay_once, every_s=1.0, runs_on="api"), *defn.jobs(rt, deps)]
    rt.jobs = JobRunner([j for j in jobs if _runs_here(j, settings.role)])
    rt.jobs.start()
    if settings.role.consumes:
        specs = defn.consumers(rt, deps)
        if specs:
            rt.consumers = ConsumerRunner(settings, specs, rt.dead_letters, tel.tracer("learnloop.kafka"))
            await rt.consumers.start()
    # Everything built so far lives as long as the process: keep it out of the cyclic collector's full
    # passes, which otherwise walk it again and again while a consumer churns through events.
    gc.collect()
    gc.freeze()
    log.info("service started", extra={"role": settings.role.value})
    return rt


def _runs_here(job: Job, role: Role) -> bool:
    return role.serves_api if job.runs_on == "api" else role.consumes


async def _recover(defn: ServiceDefinition[S, D], rt: Runtime[S], deps: D) -> None:
    """Before anything consumes or relays: re-send what a new (empty) Kafka cluster lacks."""
    steps: dict[str, Step] = {}
    if rt.settings.role.serves_api:
        steps["outbox"] = rt.outbox.resend
    if rt.settings.role.consumes:
        steps.update(defn.recovery(rt, deps))
    if steps:
        window = timedelta(seconds=rt.settings.kafka_recovery_window_s)
        await recover_if_new_cluster(ClusterMarks(rt.db), await broker_cluster_id(rt.settings), steps, window)


async def _stop_runtime(rt: Runtime[Any]) -> None:
    if rt.consumers is not None:
        await rt.consumers.stop()
    if rt.jobs is not None:
        await rt.jobs.stop()
    await rt.outbox.close()
    await rt.publisher.stop()
    await rt.mongo.close()
    log.info("service stopped")


async def _retry(what: str, fn: Callable[[], Awaitable[Any]], attempts: int = 30) -> None:
    for i in range(attempts):
        try:
            await fn()
            return
        except Exception as exc:
            if i == attempts - 1:
                raise
            log.warning("could not %s yet (%r); retrying", what, exc)
            await asyncio.sleep(min(2.0, 0.2 * (i + 1)))


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        # Liveness: a worker whose consumers stayed out of their group (even after being asked to rejoin)
        # is only restarted by failing here.
        rt: Runtime[Any] | None = getattr(request.app.state, "runtime", None)
        runner = rt.consumers if rt is not None else None
        if runner is not None and not runner.alive:
            return JSONResponse({"status": "consumers out of their group"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        rt: Runtime[Any] | None = getattr(request.app.state, "runtime", None)
        checks: dict[str, bool] = {"started": rt is not None}
        body: dict[str, Any] = {}
        if rt is not None:
            checks["mongo"] = await ping(rt.mongo)
            checks["kafka"] = await rt.publisher.ready()
            if rt.settings.role.consumes and rt.consumers is not None:
                checks["consumers"] = rt.consumers.ready
                stalled = rt.consumers.stalled()
                checks["progress"] = not stalled
                if stalled:
                    body["stalled"] = [
                        {"topic": s.topic, "partition": s.partition, "seconds": round(s.seconds)} for s in stalled
                    ]
        ok = all(checks.values())
        return JSONResponse({"ready": ok, "checks": checks, **body}, status_code=200 if ok else 503)

    return router


def main(defn: ServiceDefinition[S, Any], argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog=f"python -m learnloop_{defn.name}", description=defn.title)
    parser.add_argument("role", nargs="?", choices=[r.value for r in Role], help="which part to run (default: all)")
    parser.add_argument("--port", type=int, help="HTTP port (default from LEARNLOOP_HTTP_PORT)")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.role:
        overrides["role"] = Role(args.role)
    if args.port is not None:
        overrides["http_port"] = args.port
    settings = load_settings(defn.settings_cls, **overrides)
    otel = load_settings(TelemetrySettings)
    configure_logging(f"{defn.name}-{settings.role.value}", settings.log_level, settings.log_json)
    telemetry = setup_telemetry(defn.name, settings.role.value, otel)
    app = create_app(defn, settings, telemetry)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_http_timeout_s)),
        lifespan="on",
    )
    try:
        uvicorn.Server(config).run()
    finally:
        telemetry.shutdown()
