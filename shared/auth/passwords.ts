import argon2 from 'argon2';

/**
 * Argon2id at OWASP's recommended minimum (19 MiB, t=2, p=1) rather than the library's 64 MiB x4 lanes: a
 * Lambda has one or two vCPUs and every login pays it. The encoded hash carries its parameters, so they can
 * be raised later without breaking stored hashes.
 */
const OPTIONS = { type: argon2.argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => argon2.hash(password, OPTIONS);

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/** Spend the time of a real check when there is no user, so response time does not reveal which accounts exist. */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword('not a real password');
  await verifyPassword(await dummyHash, password);
}
