/**
 * Imported first by a bench (ES modules evaluate imports before the importer's body, and the configuration
 * is read once): no logs or metrics on stdout, and network-id access as old clients call, so a figure
 * measures the pipeline and the database rather than token verification.
 */
process.env.LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.LEGACY_NETWORK_AUTH = 'true';
