import { warmUpAudioModelsInLambda } from '../../shared/audio/warm-up';
import { createHandler } from '../../shared/http/pipeline';
import { streamRoutes } from './routes';

export const handler = createHandler(streamRoutes);

// The first upload of a cold instance should not wait for the model sessions: see shared/audio/warm-up.ts.
warmUpAudioModelsInLambda();
