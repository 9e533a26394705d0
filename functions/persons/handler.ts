import { warmUpAudioModelsInLambda } from '../../shared/audio/warm-up';
import { createHandler } from '../../shared/http/pipeline';
import { personRoutes } from './routes';

export const handler = createHandler(personRoutes);

// The first upload of a cold instance should not wait for the model sessions: see shared/audio/warm-up.ts.
warmUpAudioModelsInLambda();
