"""OpenTelemetry for one Learnloop process: traces, metrics and the Prometheus ``/metrics`` registry.

Configured only by the standard ``OTEL_*`` environment variables (:class:`TelemetrySettings` lists the
ones Learnloop reads itself; the SDK and the OTLP exporters read the rest, e.g. ``OTEL_TRACES_SAMPLER``,
``OTEL_BSP_*``, ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_METRIC_EXPORT_INTERVAL``). Unlike the SDK's own
defaults, both exporters default to ``none``: with nothing configured no provider, processor, reader,
middleware or database listener is created, so telemetry off costs nothing.

:func:`setup_telemetry` is called once per process by ``runtime.main``. Traces go through the
:class:`Telemetry` object (explicit tracer providers, so several services can share one test process);
metrics go through the global meter provider (see :mod:`learnloop_shared.metrics`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Literal

from opentelemetry import metrics as otel_metrics
from opentelemetry import trace
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Tracer
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from . import metrics as learnloop_metrics
from .mongo_tracing import MongoCommandTracer

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricReader
    from prometheus_client import CollectorRegistry
    from pymongo.monitoring import CommandListener

log = logging.getLogger(__name__)

TRACES_EXPORTERS = ("otlp", "console", "none")
METRICS_EXPORTERS = ("prometheus", "otlp", "console", "none")
DEFAULT_EXCLUDED_URLS = "healthz,readyz,metrics"


def _exporters(value: str, allowed: tuple[str, ...]) -> str:
    names = [v.strip().lower() for v in value.split(",") if v.strip()] or ["none"]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValueError(f"unknown exporter {', '.join(unknown)}; use one of {', '.join(allowed)}")
    return ",".join(names)


class TelemetrySettings(BaseSettings):
    """The standard OpenTelemetry variables Learnloop reads (validated at start-up like ``LEARNLOOP_*``)."""

    model_config = SettingsConfigDict(env_prefix="OTEL_", extra="ignore", frozen=True)

    sdk_disabled: bool = Field(False, description="`true` turns all telemetry off, whatever else is set")
    traces_exporter: str = Field(
        "none", description="`otlp`, `console` or `none` (comma-separated for several); `none` is the default"
    )
    metrics_exporter: str = Field(
        "none",
        description="`prometheus` (served at `GET /metrics` on the service port), `otlp`, `console` or `none`",
    )
    service_name: str | None = Field(
        None, description="`service.name` of traces and metrics (default `learnloop-<service>`)"
    )
    resource_attributes: str | None = Field(
        None, description="Extra resource attributes, `key=value,...` (e.g. `k8s.pod.name=...`)"
    )
    exporter_otlp_endpoint: str | None = Field(
        None, description="OTLP collector endpoint (default `http://localhost:4317`, or `:4318` for HTTP)"
    )
    exporter_otlp_protocol: Literal["grpc", "http/protobuf"] = Field(
        "grpc", description="OTLP transport: `grpc` or `http/protobuf`"
    )
    semconv_stability_opt_in: str = Field(
        "http",
        description="HTTP semantic conventions: `http` (stable: `http.server.request.duration` in seconds, "
        "with `http.route`), `http/dup` (stable and old) or empty (old only)",
    )

    @field_validator("traces_exporter")
    @classmethod
    def _traces(cls, value: str) -> str:
        return _exporters(value, TRACES_EXPORTERS)

    @field_validator("metrics_exporter")
    @classmethod
    def _metrics(cls, value: str) -> str:
        return _exporters(value, METRICS_EXPORTERS)

    def wanted(self, kind: Literal["traces", "metrics"]) -> list[str]:
        if self.sdk_disabled:
            return []
        value = self.traces_exporter if kind == "traces" else self.metrics_exporter
        return [n for n in value.split(",") if n != "none"]


@dataclass
class Telemetry:
    """What a process records with. ``tracer_provider`` is None when tracing is off (the default)."""

    service: str
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    registry: CollectorRegistry | None = None  # set when metrics are served at /metrics

    @classmethod
    def disabled(cls, service: str = "learnloop") -> Telemetry:
        return cls(service)

    @property
    def tracing(self) -> bool:
        return self.tracer_provider is not None

    def tracer(self, name: str) -> Tracer | None:
        """A tracer, or None when tracing is off (callers then skip span work entirely)."""
        return self.tracer_provider.get_tracer(name) if self.tracer_provider is not None else None

    def mongo_listeners(self) -> list[CommandListener]:
        tracer = self.tracer("learnloop.mongo")
        return [MongoCommandTracer(tracer)] if tracer is not None else []

    def instrument_app(self, app: FastAPI) -> None:
        """HTTP server spans and metrics; must run when the app is created (not in its lifespan)."""
        if self.tracer_provider is None and self.meter_provider is None:
            return
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.metrics import NoOpMeterProvider

        env_excluded = os.environ.get("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS") or os.environ.get(
            "OTEL_PYTHON_EXCLUDED_URLS"
        )
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.tracer_provider or trace.NoOpTracerProvider(),
            meter_provider=self.meter_provider or NoOpMeterProvider(),
            excluded_urls=None if env_excluded else DEFAULT_EXCLUDED_URLS,
            exclude_spans=["receive", "send"],
        )

    def shutdown(self) -> None:
        """Flush what is buffered (called once the service has stopped)."""
        for provider in (self.tracer_provider, self.meter_provider):
            if provider is not None:
                try:
                    provider.shutdown()
                except Exception as exc:
                    log.warning("telemetry shutdown failed: %r", exc)


def _version() -> str:
    try:
        return version("learnloop")
    except PackageNotFoundError:
        return "0"


def _resource(default_name: str, role: str) -> Resource:
    base = Resource.create(
        {
            "service.name": default_name,
            "service.namespace": "learnloop",
            "service.version": _version(),
            "learnloop.role": role,
        }
    )
    return base.merge(OTELResourceDetector().detect())  # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win


def _span_exporter(name: str, settings: TelemetrySettings) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if settings.exporter_otlp_protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

        return HttpSpanExporter()
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _metric_reader(name: str, settings: TelemetrySettings, registry: CollectorRegistry) -> MetricReader:
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    if name == "prometheus":
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        return PrometheusMetricReader(registry=registry)
    if name == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return PeriodicExportingMetricReader(ConsoleMetricExporter())
    if settings.exporter_otlp_protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter

        return PeriodicExportingMetricReader(HttpMetricExporter())
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

    return PeriodicExportingMetricReader(OTLPMetricExporter())


def _prometheus_registry() -> CollectorRegistry:
    from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def setup_telemetry(
    service: str,
    role: str,
    settings: TelemetrySettings | None = None,
    *,
    span_exporter: SpanExporter | None = None,
    set_global: bool = True,
) -> Telemetry:
    """Build this process's telemetry from ``OTEL_*``; ``span_exporter`` adds one (tests: in-memory).

    With ``set_global`` the providers also become OpenTelemetry's global ones (metrics instruments in
    :mod:`learnloop_shared.metrics` record through the global meter provider).
    """
    settings = settings or TelemetrySettings()
    traces, metric_names = settings.wanted("traces"), settings.wanted("metrics")
    default_name = f"learnloop-{service}"
    if not traces and not metric_names and span_exporter is None:
        return Telemetry.disabled(default_name)
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", settings.semconv_stability_opt_in)
    resource = _resource(default_name, role)
    tel = Telemetry(str(resource.attributes.get("service.name", default_name)))
    if traces or span_exporter is not None:
        tel.tracer_provider = TracerProvider(resource=resource)
        for name in traces:
            tel.tracer_provider.add_span_processor(BatchSpanProcessor(_span_exporter(name, settings)))
        if span_exporter is not None:
            tel.tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
        if set_global:
            trace.set_tracer_provider(tel.tracer_provider)
    if metric_names:
        from opentelemetry.sdk.metrics import MeterProvider

        registry = _prometheus_registry()
        readers = [_metric_reader(name, settings, registry) for name in metric_names]
        tel.registry = registry if "prometheus" in metric_names else None
        tel.meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        if set_global:
            otel_metrics.set_meter_provider(tel.meter_provider)
            learnloop_metrics.enable()
    log.info(
        "telemetry on",
        extra={"otel_service": tel.service, "traces": traces or ["none"], "metrics": metric_names or ["none"]},
    )
    return tel
