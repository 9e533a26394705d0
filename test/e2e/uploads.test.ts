import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalServer } from '../../bin/serve';
import { decodeAudio } from '../../shared/audio';
import { resetConfig } from '../../shared/config';
import { audioStorage } from '../../shared/storage';
import { encodeWav, fixture } from '../helpers/audio';
import { useTestDatabase } from '../helpers/db';
import { expectError } from '../helpers/expect-error';
import { reply } from '../helpers/fake-gemini';
import { createServerApi, multipart, type TestApi } from '../helpers/http';
import { useFakeGemini } from '../helpers/use-fake-gemini';

/**
 * `POST P/uploads` (issue 14): a recording too large for the API's body goes to a URL of its own, then is
 * registered by id and goes through the same accept, settle and process as any upload. Locally the URL is
 * the local server's own PUT, so these tests run the whole flow over real HTTP.
 */
const database = useTestDatabase();
const gemini = useFakeGemini();
const { fake } = gemini;
const savedEnv = { ...process.env };

let server: Server;
let api: TestApi;
let P: string;
let networkId: string;
let speech: Buffer;

beforeAll(async () => {
  // Above the API's own body limit, to show the upload does not go through it.
  process.env.MAX_BODY_BYTES = String(256 * 1024);
  process.env.UPLOAD_MAX_BYTES = String(4 * 1024 * 1024);
  resetConfig();
  const { samples } = await decodeAudio(fixture('voice-a-1.mp3'));
  // 48 kHz stereo: what a desktop records, several times the API's body limit set above.
  const at48k = new Float32Array(samples.length * 3).map((_, i) => samples[Math.floor(i / 3)]);
  speech = encodeWav([at48k, at48k], { rate: 48_000 });
  server = await startLocalServer(0, '127.0.0.1');
  api = createServerApi(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  process.env = savedEnv;
  resetConfig();
});

beforeEach(async () => {
  fake.reset();
  gemini.configure();
  networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
  P = `/api/v1/${networkId}`;
  await api.post(`${P}/service/client/register/kitchen`);
});

const ask = (size: number, extra: Record<string, unknown> = {}) =>
  api.post(`${P}/uploads`, { client_id: 'kitchen', content_type: 'audio/wav', size, ...extra });

const put = (upload: { url: string; headers: Record<string, string> }, body: Buffer) =>
  fetch(upload.url, {
    method: 'PUT',
    headers: { 'Content-Type': upload.headers['Content-Type'] },
    body: new Uint8Array(body),
  });

async function until<T>(probe: () => Promise<T | undefined>, polls = 800): Promise<T> {
  for (let i = 0; i < polls; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not met');
}

describe('POST P/uploads', () => {
  it('takes a recording larger than the API body limit: ask, PUT, register, stored with one model call', async () => {
    fake.respondWith(() =>
      reply.json({ text: 'Dinner is ready', language: 'en', entities: [], topics: [], sentiment: 0 }),
    );
    expect(speech.length).toBeGreaterThan(256 * 1024);
    const inBody = await api.post(
      `${P}/interactions/register`,
      multipart({ audio: { filename: 'u.wav', content: speech }, client_id: 'kitchen' }),
    );
    expect(inBody.status).toBe(413);

    const asked = await ask(speech.length, { captured_at: '2026-01-01T09:00:00.000Z' });
    expect(asked.status).toBe(201);
    expect(asked.body).toMatchObject({
      method: 'PUT',
      headers: { 'Content-Type': 'audio/wav', 'Content-Length': String(speech.length) },
      max_bytes: 4 * 1024 * 1024,
    });
    expect(Date.parse(asked.body.expires_at)).toBeGreaterThan(Date.now());
    const uploaded = await put(asked.body, speech);
    expect(uploaded.status).toBe(200);
    expect(await audioStorage().get(`${networkId}/${asked.body.upload_id}`)).toEqual(speech);

    const registered = await api.post(`${P}/interactions/register`, { upload_id: asked.body.upload_id });
    expect(registered.status).toBe(202);
    expect(registered.body).toEqual({ utterance_id: expect.any(String), status: 'accepted' });
    const stored = await until(async () => {
      const status = (await api.get(`${P}/utterances/${registered.body.utterance_id}`)).body;
      return status.status === 'stored' ? status : undefined;
    });
    const interaction = (await api.get(`${P}/interactions/${stored.interaction_id}`)).body;
    expect(interaction).toMatchObject({
      text: 'Dinner is ready',
      client_id: 'kitchen',
      timestamp: '2026-01-01T09:00:00.000Z',
    });
    expect(fake.requests).toHaveLength(1);

    // Registering it again is the same utterance (the key is the upload), nothing more is stored.
    const again = await api.post(
      `${P}/interactions/register`,
      multipart({ upload_id: asked.body.upload_id, client_id: 'kitchen' }),
    );
    expect(again.status).toBe(202);
    expect(again.body.utterance_id).toBe(registered.body.utterance_id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(fake.requests).toHaveLength(1);
    const count = await database.db
      .selectFrom('interactions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('network_id', '=', networkId)
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
  });

  it('refuses a size over the limit at once (413), and a PUT larger or smaller than asked', async () => {
    expectError(await ask(4 * 1024 * 1024 + 1), 413, 'AUDIO_TOO_LARGE');
    expectError(await ask(0), 422, 'VALIDATION_ERROR');

    const asked = (await ask(1000)).body;
    const larger = await put(asked, Buffer.alloc(1001, 1));
    expectError({ status: larger.status, body: await larger.json() }, 413, 'AUDIO_TOO_LARGE');
    const smaller = await put(asked, Buffer.alloc(999, 1));
    expectError({ status: smaller.status, body: await smaller.json() }, 400, 'UPLOAD_SIZE_MISMATCH');
    // A body over the largest upload is refused without being held.
    const huge = await fetch(asked.url, { method: 'PUT', body: new Uint8Array(4 * 1024 * 1024 + 10) });
    expectError({ status: huge.status, body: await huge.json() }, 413, 'AUDIO_TOO_LARGE');
    expect(await audioStorage().get(`${networkId}/${asked.upload_id}`)).toBeUndefined();

    // Nothing was put: registering it says so, and nothing is accepted.
    expectError(
      await api.post(`${P}/interactions/register`, { upload_id: asked.upload_id }),
      409,
      'UPLOAD_INCOMPLETE',
    );
  });

  it('refuses an expired URL and a forged one', async () => {
    const asked = (await ask(speech.length)).body;
    const forged = await put({ ...asked, url: asked.url.replace(/token=[^&]+/, 'token=forged') }, speech);
    expectError({ status: forged.status, body: await forged.json() }, 403, 'UPLOAD_URL_INVALID');

    await database.db
      .updateTable('audio_uploads')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', asked.upload_id)
      .execute();
    const late = await put(asked, speech);
    expectError({ status: late.status, body: await late.json() }, 403, 'UPLOAD_EXPIRED');
    const registered = await api.post(`${P}/interactions/register`, { upload_id: asked.upload_id });
    expectError(registered, 409, 'UPLOAD_INCOMPLETE');
    expect(registered.body.detail).toMatch(/expired/);
  });

  it("does not register another network's upload, nor for another client", async () => {
    await api.post(`${P}/service/client/register/hall`);
    const asked = (await ask(speech.length)).body;
    expect((await put(asked, speech)).status).toBe(200);
    const other = (await api.post('/api/v1/networks', { name: 'Neighbours' })).body.id;
    await api.post(`/api/v1/${other}/service/client/register/kitchen`);

    expectError(
      await api.post(`/api/v1/${other}/interactions/register`, { upload_id: asked.upload_id }),
      404,
      'UPLOAD_NOT_FOUND',
    );
    expectError(
      await api.post(`${P}/interactions/register`, { upload_id: asked.upload_id, client_id: 'hall' }),
      422,
      'VALIDATION_ERROR',
    );
    expectError(
      await api.post(`${P}/uploads`, { client_id: 'garage', content_type: 'audio/wav', size: 10 }),
      404,
      'CLIENT_NOT_FOUND',
    );
    expect(
      await database.db.selectFrom('utterances').select('id').where('network_id', '=', other).execute(),
    ).toEqual([]);
  });

  it('needs audio or upload_id, not both', async () => {
    expectError(
      await api.post(`${P}/interactions/register`, multipart({ client_id: 'kitchen' })),
      422,
      'VALIDATION_ERROR',
    );
    expectError(
      await api.post(`${P}/interactions/register`, { client_id: 'kitchen' }),
      422,
      'VALIDATION_ERROR',
    );
  });
});
