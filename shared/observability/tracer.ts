// First: decides whether the X-Ray SDK may install its async hook (see ../config/tracing-mode.ts).
import '../config/tracing-mode';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { MiddlewareObj } from '@middy/core';
import { config } from '../config';

/**
 * X-Ray tracing inside the functions (the CDK app turns active tracing on for each): Powertools' tracer, one
 * per process. Each invocation gets a `## index.handler` subsegment (cold start and service annotated, see
 * `traceInvocation`), and the stages that decide a request's latency get their own subsegments through
 * `traced`: database connections and queries (`db.connect`, `db.query`), Gemini calls (`gemini.*`, besides
 * the HTTPS subsegment the tracer records for every outgoing request) and the audio stages (`audio.*`).
 *
 * Tracing is on only inside Lambda (AWS_EXECUTION_ENV set) unless POWERTOOLS_TRACE_ENABLED=false; locally
 * and in tests `traced` just runs the function.
 */
export const tracer = new Tracer({ serviceName: config().serviceName });

type Metadata = Record<string, string | number | boolean | undefined>;

/** Runs `fn` inside a subsegment `name` of the current segment; an error is recorded on it and rethrown. */
export function traced<T>(name: string, fn: () => Promise<T>, metadata?: Metadata): Promise<T> {
  if (!tracer.isTracingEnabled()) return fn();
  return tracer.provider.captureAsyncFunc(name, async (subsegment) => {
    try {
      if (metadata) subsegment?.addMetadata('mira', metadata);
      return await fn();
    } catch (error) {
      subsegment?.addError(error as Error);
      throw error;
    } finally {
      subsegment?.close();
    }
  }) as Promise<T>;
}

/** `traced` for synchronous work. */
export function tracedSync<T>(name: string, fn: () => T): T {
  if (!tracer.isTracingEnabled()) return fn();
  return tracer.provider.captureFunc(name, (subsegment) => {
    try {
      return fn();
    } catch (error) {
      subsegment?.addError(error as Error);
      throw error;
    } finally {
      subsegment?.close();
    }
  }) as T;
}

/**
 * The Middy middleware that opens the invocation's subsegment (responses are not recorded: they hold
 * people's data); first in the chain, so it spans everything the handler does.
 */
export const traceInvocation = <Event, Result>() =>
  captureLambdaHandler(tracer, { captureResponse: false }) as unknown as MiddlewareObj<Event, Result>;
