/**
 * Imported by ./tracer.ts before the Powertools tracer, which loads the X-Ray SDK: on import that SDK turns
 * on an async hook for its context (every promise of the process pays for it), unless
 * AWS_XRAY_MANUAL_MODE is set. Where the tracer stays off (outside Lambda, or POWERTOOLS_TRACE_ENABLED=false:
 * the local server, tests, benches) that hook would be pure cost, so manual mode is set here.
 */
export const tracingEnabled =
  Boolean(process.env.AWS_EXECUTION_ENV) &&
  (process.env.POWERTOOLS_TRACE_ENABLED ?? 'true').toLowerCase() !== 'false';

if (!tracingEnabled) process.env.AWS_XRAY_MANUAL_MODE ??= 'true';
