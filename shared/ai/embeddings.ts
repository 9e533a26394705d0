import { config } from '../config';
import { clientFor, describeFailure, geminiSettings, type GeminiSettings } from './gemini';
import { recordModelFailure, recordModelSuccess } from './health';
import { traced } from '../observability/tracer';

/**
 * Text embeddings through Gemini (`batchEmbedContents` under the SDK's `embedContent`). Every vector is
 * truncated to EMBEDDING_DIMENSIONS by the API (`outputDimensionality`) and L2-normalised here: Gemini only
 * normalises its full-size output, and cosine similarity is then a plain dot product, in SQL or in JS.
 */

/** Dimensions of stored embeddings; the migration's pgvector column has the same. */
export const EMBEDDING_DIMENSIONS = 768;
/** Gemini accepts up to 100 texts in one batch request. */
const BATCH = 100;

export type EmbeddingTask = 'RETRIEVAL_DOCUMENT' | 'RETRIEVAL_QUERY';

export class EmbeddingFailedError extends Error {
  override name = 'EmbeddingFailedError';
}

export const embeddingModel = (): string => config().memory.embeddingModel;

export function normalise(values: ArrayLike<number>): Float32Array {
  const vector = Float32Array.from(values);
  let norm = 0;
  for (const v of vector) norm += v * v;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] /= norm;
  return vector;
}

/** Embeds texts (in order), in batches; throws EmbeddingFailedError when the model fails or answers short. */
export async function embedTexts(
  texts: string[],
  task: EmbeddingTask,
  settings: GeminiSettings = geminiSettings(),
): Promise<Float32Array[]> {
  if (!settings.apiKey) throw new EmbeddingFailedError('Gemini is not configured');
  const client = await clientFor(settings);
  const vectors: Float32Array[] = [];
  for (let start = 0; start < texts.length; start += BATCH) {
    const batch = texts.slice(start, start + BATCH);
    let answer;
    try {
      answer = await traced('gemini.embedContent', () =>
        client.models.embedContent({
          model: embeddingModel(),
          contents: batch,
          config: {
            taskType: task,
            outputDimensionality: EMBEDDING_DIMENSIONS,
            abortSignal: AbortSignal.timeout(settings.timeoutMs * 2),
          },
        }),
      );
      recordModelSuccess();
    } catch (error) {
      recordModelFailure('Embedding', error, settings.maxAttempts);
      throw new EmbeddingFailedError(`Embedding failed: ${describeFailure(error)}`, { cause: error });
    }
    const embeddings = answer.embeddings ?? [];
    if (embeddings.length !== batch.length)
      throw new EmbeddingFailedError(
        `Embedding failed: ${embeddings.length} vectors for ${batch.length} texts`,
      );
    for (const embedding of embeddings) {
      const values = embedding.values ?? [];
      if (values.length !== EMBEDDING_DIMENSIONS)
        throw new EmbeddingFailedError(
          `Embedding failed: ${values.length} dimensions, not ${EMBEDDING_DIMENSIONS}`,
        );
      vectors.push(normalise(values));
    }
  }
  return vectors;
}

/** float32 little-endian bytes, as the `embeddings.embedding` column keeps them. */
export const vectorToBytes = (vector: Float32Array): Buffer =>
  Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);

export function bytesToVector(bytes: Uint8Array): Float32Array {
  // Copied: a Buffer from the driver may not be 4-byte aligned within its pool.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

/** pgvector's text form, `[0.1,0.2,...]`. */
export const vectorLiteral = (vector: Float32Array): string => `[${Array.from(vector).join(',')}]`;
