import { beforeEach, describe, expect, it } from 'vitest';
import { analyzeAudio, decodeAudio } from '../../shared/audio';
import { findVoiceprint } from '../../shared/db/repositories/persons';
import { cosine } from '../../shared/domain/speaker-match';
import { encodeWav, fixture, melody } from '../helpers/audio';
import { useTestDatabase } from '../helpers/db';
import { expectError } from '../helpers/expect-error';
import { reply } from '../helpers/fake-gemini';
import { createTestApi, multipart } from '../helpers/http';
import { useFakeGemini } from '../helpers/use-fake-gemini';

const database = useTestDatabase();
const api = createTestApi();
const gemini = useFakeGemini();
const { fake } = gemini;

const SENTENCE_1 = 'Please remind me to call my sister tomorrow morning at nine.';
const mp3 = (name: string) => ({ filename: name, content: fixture(name), mimetype: 'audio/mpeg' });
const enrichment = (text: string) => ({ text, language: 'en-US', entities: [], topics: [], sentiment: 0 });

const useGemini = (configured: boolean) => gemini.configure({ key: configured });

describe('voice enrolment', () => {
  let networkId: string;
  let P: string;
  let alice: { id: string };

  beforeEach(async () => {
    fake.reset();
    useGemini(false);
    networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
    P = `/api/v1/${networkId}`;
    alice = (await api.post(`${P}/persons`, { name: 'Alice' })).body;
  });

  it('builds a voiceprint from two samples that recognises the same voice better than another one', async () => {
    const first = await api.patch(`${P}/persons/${alice.id}`, multipart({ audio: mp3('voice-a-1.mp3') }));
    const second = await api.post(
      `${P}/persons/${alice.id}/voice`,
      multipart({ audio_file: mp3('voice-a-2.mp3'), description: 'kitchen, evening' }),
    );

    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: alice.id, name: 'Alice', has_voice_embedding: true });
    expect(second.status).toBe(200);
    expect(second.body.has_voice_embedding).toBe(true);
    for (const body of [first.body, second.body]) {
      expect(
        Object.keys(body).some((key) => key.includes('embedding') && key !== 'has_voice_embedding'),
      ).toBe(false);
    }
    const stored = await findVoiceprint(database.db, networkId, alice.id);
    expect(stored!.voice_sample_count).toBe(2);
    const sameVoice = (await analyzeAudio(fixture('voice-a-3.mp3'))).embedding!;
    const otherVoice = (await analyzeAudio(fixture('voice-b-3.mp3'))).embedding!;
    expect(cosine(sameVoice, stored!.voice_embedding!)).toBeGreaterThan(
      cosine(otherVoice, stored!.voice_embedding!),
    );
    const listed = await api.get(`${P}/persons`);
    expect(JSON.stringify(listed.body)).not.toContain('"voice_embedding"');
  });

  it('renames and enrols in one multipart PATCH, and POST .../update answers with a message', async () => {
    const patched = await api.patch(
      `${P}/persons/${alice.id}`,
      multipart({ name: 'Alicia', audio: mp3('voice-a-1.mp3') }),
    );
    const updated = await api.post(
      `${P}/persons/${alice.id}/update`,
      multipart({ audio: mp3('voice-a-2.mp3') }),
    );

    expect(patched.body).toMatchObject({ name: 'Alicia', has_voice_embedding: true });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({
      message: 'Person updated successfully',
      person: expect.objectContaining({ id: alice.id, name: 'Alicia', has_voice_embedding: true }),
    });
    expect((await findVoiceprint(database.db, networkId, alice.id))!.voice_sample_count).toBe(2);
  });

  it('keeps renaming with JSON that has only a name', async () => {
    const res = await api.patch(`${P}/persons/${alice.id}`, { name: 'Alicia' });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'Alicia', has_voice_embedding: false });
  });

  it('checks the transcript against expected_text when Gemini is configured', async () => {
    useGemini(true);
    fake.enqueue(reply.json(enrichment('please remind me to call my sister tomorrow morning at 9')));

    const res = await api.patch(
      `${P}/persons/${alice.id}`,
      multipart({ audio: mp3('voice-a-1.mp3'), expected_text: SENTENCE_1 }),
    );

    expect(res.status).toBe(200);
    expect(res.body.has_voice_embedding).toBe(true);
    expect(fake.requests).toHaveLength(1);
  });

  it('refuses a sample whose transcript is not the expected text, with both texts, and stores nothing', async () => {
    useGemini(true);
    fake.enqueue(reply.json(enrichment('We should buy fresh bread and some apples on the way home.')));

    const res = await api.post(
      `${P}/persons/${alice.id}/update`,
      multipart({ name: 'Mallory', audio: mp3('voice-a-3.mp3'), expected_text: SENTENCE_1 }),
    );

    // The error shape plus its documented fields.
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      error_code: 'VOICE_TEXT_MISMATCH',
      detail: expect.any(String),
      timestamp: expect.any(String),
      similarity: expect.any(Number),
      expected_text: SENTENCE_1,
      transcript: 'We should buy fresh bread and some apples on the way home.',
    });
    const person = await api.get(`${P}/persons/${alice.id}`);
    expect(person.body).toMatchObject({ name: 'Alice', has_voice_embedding: false });
  });

  it('does not check expected_text without a Gemini key', async () => {
    const res = await api.patch(
      `${P}/persons/${alice.id}`,
      multipart({ audio: mp3('voice-a-1.mp3'), expected_text: 'Something else entirely' }),
    );

    expect(res.status).toBe(200);
    expect(res.body.has_voice_embedding).toBe(true);
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses silence with NO_SPEECH before any model call', async () => {
    useGemini(true);

    const res = await api.post(
      `${P}/persons/${alice.id}/voice`,
      multipart({ audio_file: { filename: 'silence.flac', content: fixture('silence.flac') } }),
    );

    expectError(res, 422, 'NO_SPEECH');
    expect(fake.requests).toHaveLength(0);
    expect((await api.get(`${P}/persons/${alice.id}`)).body.has_voice_embedding).toBe(false);
  });

  it("refuses a sample with too little speech with the audio package's AUDIO_TOO_SHORT", async () => {
    const { samples } = await decodeAudio(fixture('voice-a-1.mp3'));
    // A quarter of a second of speech between two seconds of silence.
    const clip = new Float32Array(16_000 * 2.25);
    clip.set(samples.subarray(16_000, 16_000 * 1.25), 16_000);

    const res = await api.post(
      `${P}/persons/${alice.id}/voice`,
      multipart({ audio_file: { filename: 'short.wav', content: encodeWav([clip], { rate: 16_000 }) } }),
    );

    expectError(res, 422, 'AUDIO_TOO_SHORT');
    expect((await api.get(`${P}/persons/${alice.id}`)).body.has_voice_embedding).toBe(false);
  });

  it('refuses a melody, alone or over a voice, and enrols nothing', async () => {
    const tune = melody(4);
    const alone = await api.post(
      `${P}/persons/${alice.id}/voice`,
      multipart({ audio_file: { filename: 'melody.wav', content: encodeWav([tune], { rate: 16_000 }) } }),
    );
    const { samples } = await decodeAudio(fixture('voice-b-1.mp3'));
    // A voice with a tune playing: VAD still hears speech, but the spectrum is mostly the tune's.
    const tuneOver = melody(samples.length / 16_000, 0.3);
    const mixed = samples.map((v, i) => v + tuneOver[i]);
    const over = await api.post(
      `${P}/persons/${alice.id}/voice`,
      multipart({ audio_file: { filename: 'sung.wav', content: encodeWav([mixed], { rate: 16_000 }) } }),
    );

    expect(alone.status).toBe(422);
    expect(['NO_SPEECH', 'VOICE_SAMPLE_NOT_SPEECH']).toContain(alone.body.error_code);
    expect(over.status).toBe(422);
    expect(over.body).toMatchObject({
      error_code: 'VOICE_SAMPLE_NOT_SPEECH',
      detail: expect.stringMatching(/music/),
    });
    expect(over.body.tonality).toBeGreaterThan(0.95);
    expect((await api.get(`${P}/persons/${alice.id}`)).body.has_voice_embedding).toBe(false);
    expect(await database.db.selectFrom('speaker_embeddings').selectAll().execute()).toHaveLength(0);
  });

  it('refuses a sample with less voiced speech than the model card asks for (1 s)', async () => {
    const { samples } = await decodeAudio(fixture('voice-a-1.mp3'));
    // About 0.7 s of speech: enough for an embedding, too little for a voiceprint.
    const clip = new Float32Array(16_000 * 2.7);
    clip.set(samples.subarray(16_000, 16_000 * 1.7), 16_000);

    const res = await api.post(
      `${P}/persons/${alice.id}/voice`,
      multipart({ audio_file: { filename: 'short.wav', content: encodeWav([clip], { rate: 16_000 }) } }),
    );

    expectError(res, 422, 'AUDIO_TOO_SHORT');
    expect(res.body.detail).toMatch(/at least 1 s of speech/);
  });

  it('keeps several embeddings per person, one per sample', async () => {
    for (const name of ['voice-a-1.mp3', 'voice-a-2.mp3'])
      await api.post(`${P}/persons/${alice.id}/voice`, multipart({ audio_file: mp3(name) }));

    const stored = await database.db
      .selectFrom('speaker_embeddings')
      .select(['person_id', 'source', 'embedding'])
      .execute();
    expect(stored.map((e) => [e.person_id, e.source, e.embedding.length])).toEqual([
      [alice.id, 'enrolment', 128 * 4],
      [alice.id, 'enrolment', 128 * 4],
    ]);
  });

  it('counts every sample when several are enrolled at once', async () => {
    const results = await Promise.all(
      ['voice-a-1.mp3', 'voice-a-2.mp3', 'voice-a-3.mp3'].map((name) =>
        api.post(`${P}/persons/${alice.id}/voice`, multipart({ audio_file: mp3(name) })),
      ),
    );

    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await findVoiceprint(database.db, networkId, alice.id))!.voice_sample_count).toBe(3);
  });

  it('refuses audio that is not audio, and expected_text without audio', async () => {
    const garbage = await api.post(
      `${P}/persons/${alice.id}/voice`,
      multipart({ audio_file: { filename: 'notes.txt', content: Buffer.from('not audio at all, sorry') } }),
    );
    const textOnly = await api.patch(`${P}/persons/${alice.id}`, multipart({ expected_text: 'hello' }));
    const noFile = await api.post(`${P}/persons/${alice.id}/voice`, multipart({ audio_file: 'a string' }));

    expect(garbage.status).toBeGreaterThanOrEqual(400);
    expect(garbage.status).toBeLessThan(500);
    expectError(textOnly, 422, 'VALIDATION_ERROR');
    expectError(noFile, 422, 'VALIDATION_ERROR');
  });

  it("answers 404 for an unknown person and for another network's person", async () => {
    const other = (await api.post('/api/v1/networks', { name: 'Office' })).body.id;
    const bob = (await api.post(`/api/v1/${other}/persons`, { name: 'Bob' })).body;

    const unknown = await api.post(
      `${P}/persons/00000000-0000-4000-8000-000000000000/voice`,
      multipart({ audio_file: mp3('voice-a-1.mp3') }),
    );
    const foreign = await api.patch(`${P}/persons/${bob.id}`, multipart({ audio: mp3('voice-b-1.mp3') }));

    expectError(unknown, 404, 'PERSON_NOT_FOUND');
    expectError(foreign, 404, 'PERSON_NOT_FOUND');
    expect((await api.get(`/api/v1/${other}/persons/${bob.id}`)).body.has_voice_embedding).toBe(false);
  });
});
