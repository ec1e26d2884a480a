import { FetchHttpClient } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { AppConfig } from "../config.js"

/** The OTLP/HTTP traces URL under a base endpoint, as the OpenTelemetry exporters build it. */
export const tracesUrl = (endpoint: string): string => `${endpoint.replace(/\/+$/, "")}/v1/traces`

/**
 * When OTEL_EXPORTER_OTLP_ENDPOINT is set, every span (the HTTP server span of each request, the
 * `Effect.fn` spans of the services) is exported over OTLP/HTTP as JSON, in batches every
 * OTEL_BSP_SCHEDULE_DELAY and once more when the process stops. Unset, the exporter is not even
 * imported and spans are switched off (Effect makes a no-op span in their place: no ids, no
 * attributes, nothing kept), so no request pays for spans nobody reads.
 * A collector that is down costs no request anything: the exporter drops the batch and pauses.
 */
export const TracingLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const { tracing } = yield* AppConfig
    if (Option.isNone(tracing.endpoint)) return Layer.setTracerEnabled(false)
    const [OtlpTracer, OtlpSerialization] = yield* Effect.promise(() =>
      Promise.all([import("@effect/opentelemetry/OtlpTracer"), import("@effect/opentelemetry/OtlpSerialization")])
    )
    return OtlpTracer.layer({
      url: tracesUrl(tracing.endpoint.value),
      resource: { serviceName: tracing.serviceName },
      exportInterval: tracing.exportInterval
    }).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(FetchHttpClient.layer))
  })
)
