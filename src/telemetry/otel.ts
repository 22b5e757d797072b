/**
 * The application's `@opentelemetry/api`, if it has one: an optional peer
 * dependency, loaded once, when first needed. Without it, tracing and the
 * OpenTelemetry metrics do nothing (a Reactor's and a Pipeline's own
 * `metrics()` still count).
 */
import type * as Otel from '@opentelemetry/api';

export type Api = typeof Otel;

let api: Api | null | undefined;

export function otelApi(): Api | null {
  if (api === undefined) {
    try {
      api = require('@opentelemetry/api') as Api;
    } catch {
      api = null;
    }
  }
  return api;
}

/** The library's version, for the tracer's and meter's scope. */
export const VERSION = (require('../../package.json') as { version: string }).version;
