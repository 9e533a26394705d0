import type { QualityMetrics } from '../../shared/audio';
import { findStreamQuality, upsertStreamQuality } from '../../shared/db/repositories/streams';
import type { Executor } from '../../shared/db/transaction';
import type { StreamQuality } from '../../shared/db/types';
import { streamScore, type StreamLocation } from '../../shared/domain/stream-score';

/**
 * One audio copy's stream score (its acoustics with the client's stored location and RSSI), folded into the
 * client's running stream quality. The register pipeline arbitrates on the score; the streams context
 * answers both.
 */
export async function measureCopy(
  db: Executor,
  networkId: string,
  clientId: string,
  quality: QualityMetrics,
): Promise<{ score: number; stream: StreamQuality }> {
  const current = await findStreamQuality(db, networkId, clientId);
  const score = streamScore({
    snr: quality.snrDb,
    speechClarity: quality.speechClarity,
    volumeLevel: quality.volumeRms,
    location: (current?.location ?? null) as StreamLocation | null,
    rssi: current?.rssi ?? null,
  });
  const stream = await upsertStreamQuality(db, {
    networkId,
    clientId,
    sample: {
      snr: quality.snrDb,
      speechClarity: quality.speechClarity,
      volumeLevel: quality.volumeRms,
      noiseLevel: quality.noiseLevel,
      speechRatio: quality.speechRatio,
    },
  });
  return { score, stream };
}
