import { afterAll, beforeAll } from 'vitest';
import { strictAuth } from './auth';

/** The file's tests run with legacy id-only access off, as in production; the default comes back after. */
export function useStrictAuth(): void {
  let mode: ReturnType<typeof strictAuth> | undefined;
  beforeAll(() => {
    mode = strictAuth();
  });
  afterAll(() => mode?.restore());
}
