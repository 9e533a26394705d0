import { tmpdir } from 'node:os';

// Test defaults: quiet logs and metrics (the observability test turns them on for itself), and every
// response checked against the schema its route documents.
process.env.LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_LOG_LEVEL ??= process.env.LOG_LEVEL;
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.VALIDATE_RESPONSES ??= 'true';
process.env.DATABASE_STALE_AFTER_MS ??= '0';
// Suites written before accounts existed reach networks by id alone; auth suites set this to 'false' themselves.
process.env.LEGACY_NETWORK_AUTH ??= 'true';
process.env.JWT_SECRET ??= 'test-only-jwt-secret-0123456789abcdef-0123456789abcdef-0123456789';
// Suites register many accounts from one address; the registration throttle has its own test.
process.env.REGISTRATIONS_PER_IP ??= '100000';
// The X-Ray SDK's context hook stays off outside Lambda (shared/config/tracing-mode.ts); a test file
// may load the SDK before that module runs, so the suite says it first.
process.env.AWS_XRAY_MANUAL_MODE ??= 'true';
// Summaries are model calls: suites that script the fake Gemini call by call would see extra ones. The memory
// suites turn them on for themselves; no background sweep runs in a test unless it starts one.
process.env.MEMORY_SUMMARIZE_ON_END ??= 'false';
process.env.MEMORY_SWEEP_SECONDS ??= '0';
// Register v2: accepted audio in a temporary folder of this run; quick retries of failed jobs.
process.env.MIRA_STORAGE_DIR ??= `${tmpdir()}/mira-test-audio-${process.pid}`;
process.env.QUEUE_RETRY_BASE_MS ??= '10';
