import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createDb, type Db } from '../../shared/db/client';
import {
  claimUtterance,
  finaliseClaim,
  releaseClaim,
  type ClaimOutcome,
} from '../../shared/db/repositories/arbitration';
import { createNetwork, upsertClient } from '../../shared/db/repositories/networks';
import { useTestDatabase } from '../helpers/db';

const database = useTestDatabase();

/**
 * One database handle per simulated Lambda: on a server each has its own connection (pool of one, as in
 * Lambda), so the claims really race; PGlite has a single connection and serialises them.
 */
let lambdas: Db[] = [];
beforeAll(async () => {
  lambdas = database.url
    ? await Promise.all(Array.from({ length: 5 }, () => createDb({ connectionString: database.url })))
    : Array.from({ length: 5 }, () => database.db);
});
afterAll(async () => {
  if (database.url) await Promise.all(lambdas.map((db) => db.destroy()));
});

let networkId: string;
const at = new Date('2026-11-28T10:00:00.000Z');
const plus = (ms: number) => new Date(at.getTime() + ms);

beforeEach(async () => {
  const network = await createNetwork(database.db, 'Home');
  networkId = network.id;
  for (const name of ['c1', 'c2', 'c3', 'c4', 'c5']) await upsertClient(database.db, networkId, name);
});

/** What the pipeline does with a winning claim: store in a transaction that finalises the claim first. */
const store = (db: Db, claimId: string) =>
  db.transaction().execute(async (trx) => {
    const result = await finaliseClaim(trx, claimId);
    if (result.outcome === 'stored')
      await trx
        .insertInto('interactions')
        .values({
          network_id: networkId,
          interaction_type: 'audio',
          entities: '[]',
          topics: '[]',
          metadata: '{}',
        })
        .execute();
    return result;
  });

const interactions = async () =>
  Number(
    (
      await sql<{
        n: string;
      }>`SELECT count(*) AS n FROM interactions WHERE network_id = ${networkId}`.execute(database.db)
    ).rows[0].n,
  );

describe('arbitration', () => {
  it('lets a lone upload win and store', async () => {
    const claim = await claimUtterance(database.db, {
      networkId,
      clientId: 'c1',
      capturedAt: at,
      score: 0.5,
    });

    expect(claim).toMatchObject({ outcome: 'winner', claimId: expect.any(String) });
    expect(await store(database.db, (claim as any).claimId)).toEqual({ outcome: 'stored' });
  });

  it('drops a worse or equal copy within the window, naming the best client and score', async () => {
    await claimUtterance(database.db, { networkId, clientId: 'c1', capturedAt: at, score: 0.8 });

    const worse = await claimUtterance(database.db, {
      networkId,
      clientId: 'c2',
      capturedAt: plus(900),
      score: 0.4,
    });
    const equal = await claimUtterance(database.db, {
      networkId,
      clientId: 'c3',
      capturedAt: plus(-900),
      score: 0.8,
    });

    expect(worse).toMatchObject({
      outcome: 'dropped',
      bestClientId: 'c1',
      bestScore: expect.closeTo(0.8, 5),
    });
    expect(equal).toMatchObject({ outcome: 'dropped', bestClientId: 'c1' });
  });

  it('treats captures further apart than the window, or from the same client, as different utterances', async () => {
    await claimUtterance(database.db, { networkId, clientId: 'c1', capturedAt: at, score: 0.8 });

    const later = await claimUtterance(database.db, {
      networkId,
      clientId: 'c2',
      capturedAt: plus(1_600),
      score: 0.1,
    });
    const same = await claimUtterance(database.db, {
      networkId,
      clientId: 'c1',
      capturedAt: plus(-500),
      score: 0.1,
    });
    const narrow = await claimUtterance(database.db, {
      networkId,
      clientId: 'c3',
      capturedAt: plus(400),
      score: 0.1,
      windowMs: 300,
    });

    expect([later.outcome, same.outcome, narrow.outcome]).toEqual(['winner', 'winner', 'winner']);
  });

  it('lets a better copy supersede a winner still processing; the superseded one cannot store', async () => {
    const first = (await claimUtterance(database.db, {
      networkId,
      clientId: 'c1',
      capturedAt: at,
      score: 0.3,
    })) as any;
    const better = (await claimUtterance(database.db, {
      networkId,
      clientId: 'c2',
      capturedAt: plus(200),
      score: 0.9,
    })) as any;

    expect(better).toMatchObject({ outcome: 'winner', supersededClaimIds: [first.claimId] });
    expect(await store(database.db, first.claimId)).toMatchObject({
      outcome: 'superseded',
      bestClientId: 'c2',
      bestScore: expect.closeTo(0.9, 5),
    });
    expect(await store(database.db, better.claimId)).toEqual({ outcome: 'stored' });
    expect(await interactions()).toBe(1);
  });

  it('drops a better copy once a worse one is already stored: one interaction per utterance', async () => {
    const first = (await claimUtterance(database.db, {
      networkId,
      clientId: 'c1',
      capturedAt: at,
      score: 0.3,
    })) as any;
    await store(database.db, first.claimId);

    const better = await claimUtterance(database.db, {
      networkId,
      clientId: 'c2',
      capturedAt: plus(100),
      score: 0.9,
    });

    expect(better).toMatchObject({ outcome: 'dropped', bestClientId: 'c1' });
    expect(await interactions()).toBe(1);
  });

  it('stops blocking later copies once the winner releases its claim', async () => {
    const first = (await claimUtterance(database.db, {
      networkId,
      clientId: 'c1',
      capturedAt: at,
      score: 0.9,
    })) as any;
    await releaseClaim(database.db, first.claimId);

    const next = await claimUtterance(database.db, {
      networkId,
      clientId: 'c2',
      capturedAt: plus(100),
      score: 0.2,
    });

    expect(next.outcome).toBe('winner');
  });

  it.each([2, 3, 5])(
    'stores exactly one interaction, the best copy, when %i clients upload at once',
    async (n) => {
      const scores = [0.42, 0.91, 0.17, 0.66, 0.55].slice(0, n);
      const best = scores.indexOf(Math.max(...scores));

      const claims: ClaimOutcome[] = await Promise.all(
        scores.map((score, i) =>
          claimUtterance(lambdas[i], { networkId, clientId: `c${i + 1}`, capturedAt: plus(i * 100), score }),
        ),
      );
      const results = await Promise.all(
        claims.map((claim, i) =>
          claim.outcome === 'winner' ? store(lambdas[i], claim.claimId) : Promise.resolve(claim),
        ),
      );

      const storedBy = results.flatMap((r, i) => (r.outcome === 'stored' ? [i] : []));
      expect(storedBy).toEqual([best]);
      // Each loser is told of a better copy (the best known when it was decided, not always the final one).
      for (const [i, r] of results.entries()) {
        if (i === best) continue;
        const named = (r as { bestClientId: string }).bestClientId;
        expect(scores[Number(named.slice(1)) - 1]).toBeGreaterThan(scores[i]);
      }
      expect(await interactions()).toBe(1);
    },
  );

  it('agrees when the stores race the claims', async () => {
    // Claim and store immediately, all at once: whatever the interleaving, one interaction.
    const scores = [0.3, 0.8, 0.5, 0.9, 0.1];
    const results = await Promise.all(
      scores.map(async (score, i) => {
        const claim = await claimUtterance(lambdas[i], {
          networkId,
          clientId: `c${i + 1}`,
          capturedAt: at,
          score,
        });
        return claim.outcome === 'winner' ? store(lambdas[i], claim.claimId) : claim;
      }),
    );

    expect(results.filter((r) => r.outcome === 'stored')).toHaveLength(1);
    expect(await interactions()).toBe(1);
  });
});
