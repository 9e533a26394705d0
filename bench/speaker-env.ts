/**
 * Imported first by speaker.bench.ts: the quiet, legacy-auth environment of harness.ts must be set before
 * any module reads the configuration (static imports are evaluated before the importing module's body).
 */
process.env.LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.LEGACY_NETWORK_AUTH = 'true';
