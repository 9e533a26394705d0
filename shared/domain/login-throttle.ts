/**
 * Login throttling: after `maxFailures` failed logins within `windowSeconds`, further attempts on the same
 * key (an account, an IP) wait until the oldest of those failures leaves the window. A sliding window rather
 * than a lockout counter: it needs no reset bookkeeping and every Lambda instance reads the same rows.
 */
export interface ThrottlePolicy {
  maxFailures: number;
  windowSeconds: number;
}

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** `failures`: times of the failed attempts on one key (any order; those outside the window are ignored). */
export function decideThrottle(failures: Date[], now: Date, policy: ThrottlePolicy): ThrottleDecision {
  const windowMs = policy.windowSeconds * 1000;
  const recent = failures
    .map((d) => d.getTime())
    .filter((t) => t > now.getTime() - windowMs && t <= now.getTime())
    .sort((a, b) => b - a);
  if (recent.length < policy.maxFailures) return { allowed: true };
  // The attempt that must age out for the count to drop below the limit.
  const blocking = recent[policy.maxFailures - 1];
  const retryAfterSeconds = Math.max(1, Math.ceil((blocking + windowMs - now.getTime()) / 1000));
  return { allowed: false, retryAfterSeconds };
}

/** The stricter of several decisions (the longest wait wins). */
export function combineDecisions(decisions: ThrottleDecision[]): ThrottleDecision {
  let worst: ThrottleDecision = { allowed: true };
  for (const d of decisions) {
    if (!d.allowed && (worst.allowed || d.retryAfterSeconds > worst.retryAfterSeconds)) worst = d;
  }
  return worst;
}

/** Throttle keys: lower-cased so `Ana@x` and `ana@x` share a budget. */
export const accountThrottleKey = (identifier: string): string =>
  `account:${identifier.trim().toLowerCase()}`;
export const ipThrottleKey = (ip: string): string => `ip:${ip}`;
export const registrationThrottleKey = (ip: string): string => `register:${ip}`;
