"""OpenTelemetry tracing for Django, on when OTEL_ENABLED.

Spans are exported over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (a collector's base URL or its
`/v1/traces` URL). Incoming W3C `traceparent` headers continue the caller's trace, and the
request's `X-Trace-Id`/log `trace_id` is the span's trace id, so logs and traces join up.
Must run before Django loads its middleware (asgi.py, wsgi.py): the instrumentor adds its
middleware to MIDDLEWARE, and this adds it to the API stack too.
"""

from __future__ import annotations

from django.conf import settings


def _traces_url(endpoint: str) -> str:
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def tracing_configure() -> bool:
    """Install the tracer provider and Django instrumentation; False when tracing is off."""
    if not settings.OTEL_ENABLED:
        return False
    from opentelemetry import trace
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    instrumentor = DjangoInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        return True
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME})
    )
    if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=_traces_url(settings.OTEL_EXPORTER_OTLP_ENDPOINT))
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    instrumentor.instrument(tracer_provider=provider)
    otel_middleware = DjangoInstrumentor._opentelemetry_middleware
    if otel_middleware not in settings.API_MIDDLEWARE:
        settings.API_MIDDLEWARE = [otel_middleware, *settings.API_MIDDLEWARE]
    return True


def current_span_trace_id() -> str | None:
    """The active span's trace id as 32 hex digits, when tracing is on and a span is active."""
    if not settings.OTEL_ENABLED:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
