import { awsTargetFromEnvironment, sendSigned } from '../aws/signed-request';
import { awsEnvironment, config } from '../config';
import type { Db } from '../db/client';
import {
  claimJob,
  deferJob,
  deleteJob,
  failJob,
  insertJob,
  nextJobInMs,
  type ClaimedJob,
} from '../db/repositories/queue-jobs';
import { logger } from '../observability';

/**
 * The job queue between accepting an upload and processing it: SQS in AWS (with a dead-letter queue; the
 * worker Lambda consumes it with partial batch failures), a PostgreSQL table locally, drained by an
 * in-process worker (`LocalWorker`). Both deliver at least once, so a handler must be idempotent.
 *
 * A handler answers a delivery by returning (done), returning `{ retryAfterMs }` (not yet: delivered again
 * later without counting an attempt, e.g. while a rival copy is still being processed), or throwing (a
 * failure: retried with backoff until the last attempt, which the handler is told about so it can give up
 * cleanly instead of throwing).
 */
export interface Delivery<T> {
  body: T;
  /** This delivery's number, from 1. */
  attempt: number;
  /** No delivery follows a failure of this one. */
  lastAttempt: boolean;
}

export type JobOutcome = void | { retryAfterMs: number };
export type JobHandler<T> = (delivery: Delivery<T>) => Promise<JobOutcome>;

export interface JobQueue<T> {
  send(body: T, options?: { delayMs?: number }): Promise<void>;
}

/** Backoff of the local queue after a failed attempt: base, 2x, 4x... capped at a minute. */
export const backoffMs = (attempt: number, baseMs = config().pipeline.retryBaseMs) =>
  Math.min(60_000, baseMs * 2 ** Math.max(0, attempt - 1));

const SQS_TIMEOUT_MS = 5_000;

/**
 * SQS's JSON protocol, one signed request (the AWS SDK client would cost the accept path's cold start).
 * SQS delays are whole seconds (up to 15 minutes): a delay is rounded up.
 */
export function sqsQueue<T>(queueUrl: string, env = awsEnvironment()): JobQueue<T> {
  return {
    send: async (body, options = {}) => {
      const target = awsTargetFromEnvironment(env);
      const delaySeconds = Math.min(900, Math.ceil((options.delayMs ?? 0) / 1000));
      const endpoint = env.AWS_SQS_ENDPOINT_URL
        ? new URL(env.AWS_SQS_ENDPOINT_URL)
        : new URL(`https://sqs.${target.region}.amazonaws.com/`);
      const response = await sendSigned(target, {
        service: 'sqs',
        url: endpoint,
        headers: {
          'Content-Type': 'application/x-amz-json-1.0',
          'X-Amz-Target': 'AmazonSQS.SendMessage',
        },
        body: JSON.stringify({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(body),
          DelaySeconds: delaySeconds,
        }),
        timeoutMs: SQS_TIMEOUT_MS,
      });
      if (response.statusCode !== 200)
        throw new Error(`SQS SendMessage answered ${response.statusCode}: ${response.body.slice(0, 200)}`);
    },
  };
}

export interface LocalWorkerOptions<T> {
  queue: string;
  db: () => Promise<Db>;
  handler: JobHandler<T>;
  concurrency?: number;
  visibilityMs?: number;
  maxAttempts?: number;
}

/** Longest sleep of an idle worker that still has jobs queued for later (it is woken by `send` too). */
const IDLE_POLL_MS = 250;
/** Longest pause between tries while the database is unavailable. */
const OUTAGE_POLL_MAX_MS = 5_000;

/**
 * The local queue's worker, in the server's own process. It runs while the queue holds jobs (sleeping until
 * the next becomes visible) and stops when it is empty; `send` and `start` wake it. A job whose worker died
 * (the process crashed) becomes visible again after the visibility timeout and is delivered again.
 */
export class LocalWorker<T> implements JobQueue<T> {
  private running: Promise<void> | undefined;
  private active = 0;
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: LocalWorkerOptions<T>) {}

  private get settings() {
    const pipeline = config().pipeline;
    return {
      concurrency: this.options.concurrency ?? pipeline.workerConcurrency,
      visibilityMs: this.options.visibilityMs ?? pipeline.visibilityMs,
      maxAttempts: this.options.maxAttempts ?? pipeline.maxAttempts,
    };
  }

  async send(body: T, options: { delayMs?: number } = {}): Promise<void> {
    const db = await this.options.db();
    await insertJob(db, {
      queue: this.options.queue,
      body,
      delayMs: options.delayMs ?? 0,
      maxAttempts: this.settings.maxAttempts,
    });
    this.start();
  }

  /** Starts draining (or wakes the running loop); jobs left by an earlier process are picked up too. */
  start(): void {
    this.stopped = false;
    if (this.running) return void this.wakeUp?.();
    this.running = this.loop().finally(() => (this.running = undefined));
  }

  /**
   * Stops taking jobs. `abandon` (a crash, for tests): the jobs in flight are left as they are, to be
   * delivered again after their visibility timeout; otherwise they are awaited.
   */
  async stop({ abandon = false } = {}): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.running;
    if (!abandon) await Promise.allSettled([...this.inFlight]);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let db: Db;
      let waitMs: number | undefined;
      try {
        db = await this.options.db();
        const { concurrency, visibilityMs } = this.settings;
        while (!this.stopped && this.active < concurrency) {
          const job = await claimJob(db, this.options.queue, visibilityMs);
          if (!job) break;
          this.run(db, job);
        }
        waitMs = await nextJobInMs(db, this.options.queue);
        failures = 0;
      } catch (error) {
        // The database is away (an outage, a restart): keep trying, more slowly, so the jobs taken before
        // it and those queued meanwhile are processed as soon as it is back.
        failures++;
        logger.warn('local queue: the database is unavailable', { error, failures });
        waitMs = Math.min(OUTAGE_POLL_MAX_MS, 100 * 2 ** Math.min(failures, 6));
      }
      if (waitMs === undefined && this.active === 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(
          resolve,
          failures ? waitMs! : Math.min(IDLE_POLL_MS, Math.max(1, waitMs ?? IDLE_POLL_MS)),
        );
        timer.unref();
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private run(db: Db, job: ClaimedJob): void {
    this.active++;
    const generation = this.generation;
    // A delivery of a worker that crashed settles nothing (its process would be gone).
    const orphaned = () => generation !== this.generation;
    const work = (async () => {
      try {
        const outcome = await this.options.handler({
          body: job.body as T,
          attempt: job.attempts,
          lastAttempt: job.attempts >= job.maxAttempts,
        });
        if (orphaned()) return;
        if (outcome && 'retryAfterMs' in outcome) await deferJob(db, job, outcome.retryAfterMs);
        else await deleteJob(db, job);
      } catch (error) {
        if (orphaned()) return;
        logger.warn('local queue: job failed', { jobId: job.id, attempt: job.attempts, error });
        await failJob(
          db,
          job,
          error instanceof Error ? error.message : String(error),
          backoffMs(job.attempts),
        ).catch(() => undefined);
      }
    })().finally(() => {
      if (orphaned()) return;
      this.active--;
      this.inFlight.delete(work);
      this.wakeUp?.();
    });
    this.inFlight.add(work);
  }

  private generation = 0;

  /**
   * Tests: a crash of the worker. Its jobs in flight are left to the visibility timeout, and whatever they
   * still do settles no job; `start` afterwards is the restarted process.
   */
  async crash(): Promise<void> {
    this.generation++;
    this.active = 0;
    await this.stop({ abandon: true });
  }
}
