import { describe, expect, it } from 'vitest';
import { accountThrottleKey, combineDecisions, decideThrottle } from '../../shared/domain/login-throttle';

const now = new Date('2026-01-01T12:00:00Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);
const policy = { maxFailures: 3, windowSeconds: 600 };

describe('login throttle', () => {
  it('allows attempts below the limit', () => {
    expect(decideThrottle([ago(10), ago(20)], now, policy)).toEqual({ allowed: true });
  });

  it('blocks at the limit until the oldest counted failure leaves the window', () => {
    expect(decideThrottle([ago(10), ago(20), ago(100)], now, policy)).toEqual({
      allowed: false,
      retryAfterSeconds: 500,
    });
  });

  it('ignores failures older than the window', () => {
    expect(decideThrottle([ago(10), ago(20), ago(601), ago(900)], now, policy)).toEqual({ allowed: true });
  });

  it('waits for the failure that brings the count below the limit, not the oldest of all', () => {
    const decision = decideThrottle([ago(5), ago(10), ago(20), ago(500)], now, policy);
    expect(decision).toEqual({ allowed: false, retryAfterSeconds: 580 });
  });

  it('never asks for less than one second', () => {
    expect(decideThrottle([ago(600 - 0.2), ago(1), ago(2)], now, policy)).toEqual({
      allowed: false,
      retryAfterSeconds: 1,
    });
  });

  it('keeps the longest wait when combining decisions', () => {
    expect(
      combineDecisions([
        { allowed: true },
        { allowed: false, retryAfterSeconds: 30 },
        { allowed: false, retryAfterSeconds: 90 },
      ]),
    ).toEqual({ allowed: false, retryAfterSeconds: 90 });
    expect(combineDecisions([{ allowed: true }])).toEqual({ allowed: true });
  });

  it('counts an account under one key whatever the case', () => {
    expect(accountThrottleKey(' Ana@Example.com ')).toBe(accountThrottleKey('ana@example.com'));
  });
});
