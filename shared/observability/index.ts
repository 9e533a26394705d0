import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { config } from '../config';

/**
 * Logger and metrics, configured once per process (Powertools' recommended module singletons). The
 * service name comes from POWERTOOLS_SERVICE_NAME (set per function in AWS), the namespace is Mira's.
 */
export const logger = new Logger({ serviceName: config().serviceName });

/** Powertools' Metrics, with whether it is disabled public: the request line decides by it whether to carry EMF. */
class MiraMetrics extends Metrics {
  public override isDisabled(): boolean {
    return super.isDisabled();
  }
}

export const metrics = new MiraMetrics({
  namespace: config().metricsNamespace,
  serviceName: config().serviceName,
});

export { MetricUnit };

/** Emit one business metric (e.g. `UtterancesStored`) with the request's dimensions. */
export const countMetric = (name: string, value = 1): void => {
  metrics.addMetric(name, MetricUnit.Count, value);
};
