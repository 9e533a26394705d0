import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { expectError } from '../helpers/expect-error';
import { createTestApi, multipart } from '../helpers/http';
import { fixture } from '../helpers/audio';

useTestDatabase({ clearBetweenTests: false });
const api = createTestApi();

/** The body of the reliability report: a file part that never reaches its closing boundary. */
const TRUNCATED =
  '--X\r\nContent-Disposition: form-data; name="audio"; filename="a.mp3"\r\nContent-Type: audio/mpeg\r\n\r\nABCDEF';

describe('multipart bodies', () => {
  let P: string;
  let personId: string;

  beforeAll(async () => {
    const networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
    P = `/api/v1/${networkId}`;
    personId = (await api.post(`${P}/persons`, { name: 'Alice' })).body.id;
    await api.post(`${P}/service/clients`, { client_id: 'kitchen' });
  });

  const routes = () => [
    ['PATCH', `${P}/persons/${personId}`, 'audio'],
    ['POST', `${P}/persons/${personId}/update`, 'audio'],
    ['POST', `${P}/persons/${personId}/voice`, 'audio_file'],
    ['POST', `${P}/interactions/register`, 'audio'],
    ['POST', `${P}/streams/kitchen/audio`, 'audio_data'],
  ];

  it('answers 400 MALFORMED_MULTIPART to a body cut short inside a file part, on every multipart route', async () => {
    for (const [method, path, field] of routes()) {
      const body = Buffer.from(TRUNCATED.replace('name="audio"', `name="${field}"`));
      const res = await api.request(method, path, {
        headers: { 'content-type': 'multipart/form-data; boundary=X' },
        body,
      });
      expectError(res, 400, 'MALFORMED_MULTIPART');
    }
    // The same process goes on answering.
    expect((await api.get(`${P}/persons/${personId}`)).status).toBe(200);
  });

  it('answers 400 to a body that ends inside the part headers or lacks the final boundary', async () => {
    const cuts = [
      '--X\r\nContent-Disposition: form-data; name="name"',
      '--X\r\nContent-Disposition: form-data; name="name"\r\n\r\nAlice\r\n--X',
      'not multipart at all',
    ];
    for (const cut of cuts) {
      const res = await api.request('PATCH', `${P}/persons/${personId}`, {
        headers: { 'content-type': 'multipart/form-data; boundary=X' },
        body: Buffer.from(cut),
      });
      expect([400, 422]).toContain(res.status);
      expect(res.body.error_code).toMatch(/^(MALFORMED_MULTIPART|VALIDATION_ERROR)$/);
    }
  });

  it('answers 415 to a multipart Content-Type without a boundary', async () => {
    const res = await api.request('PATCH', `${P}/persons/${personId}`, {
      headers: { 'content-type': 'multipart/form-data' },
      body: Buffer.from(TRUNCATED),
    });
    expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 413 to a form with more files than a route takes', async () => {
    const files = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}`, Buffer.from('x')]));
    const res = await api.patch(`${P}/persons/${personId}`, multipart(files));
    expectError(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('still reads a well-formed form, binary-safe', async () => {
    const audio = fixture('voice-a-1.mp3');
    const res = await api.post(
      `${P}/streams/kitchen/audio`,
      multipart({ audio_data: { filename: 'a.mp3', content: audio, mimetype: 'audio/mpeg' } }),
    );
    expect(res.status).toBe(200);
    expect(res.body.is_best_stream).toBe(true);
  });

  it('reads a headerless PCM16 upload named audio.wav as 16 kHz mono, as older desktop clients send it', async () => {
    const pcm = fixture('speech-16k.pcm');
    const stored = await api.post(
      `${P}/interactions/register`,
      multipart({
        audio: { filename: 'audio.wav', content: pcm, mimetype: 'audio/wav' },
        client_id: 'kitchen',
        transcript: 'hello from an old desktop',
      }),
    );
    expect(stored.status).toBe(201);
    expect(stored.body.metadata.audio).toMatchObject({ format: 'pcm16', sample_rate_in: 16000 });
    const enrolled = await api.post(
      `${P}/persons/${personId}/voice`,
      multipart({ audio_file: { filename: 'audio.wav', content: pcm, mimetype: 'audio/wav' } }),
    );
    expect(enrolled.status).toBe(200);
    expect(enrolled.body.has_voice_embedding).toBe(true);
    // A recognised container that is not supported stays 415; odd bytes are no PCM16.
    const ogg = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(64)]);
    expectError(
      await api.post(`${P}/persons/${personId}/voice`, multipart({ audio_file: ogg })),
      415,
      'UNSUPPORTED_AUDIO_FORMAT',
    );
    expectError(
      await api.post(`${P}/persons/${personId}/voice`, multipart({ audio_file: Buffer.alloc(3001, 7) })),
      415,
      'UNSUPPORTED_AUDIO_FORMAT',
    );
  });
});
