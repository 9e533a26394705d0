import { awsEnvironment } from '../config';
import { awsTargetFromEnvironment, regionalEndpoint, sendSigned } from './signed-request';

/** Lambda's Invoke is quick to accept an asynchronous call; it must not hold a $connect up. */
const INVOKE_TIMEOUT_MS = 2000;

/**
 * Invokes a Lambda function asynchronously (`X-Amz-Invocation-Type: Event`, answered 202): the function
 * runs with `payload` as its event after the caller has returned. The realtime function uses it on itself
 * to greet a socket once API Gateway has opened it.
 */
export async function invokeAsync(
  functionName: string,
  payload: unknown,
  env = awsEnvironment(),
): Promise<void> {
  const target = awsTargetFromEnvironment(env);
  const url = new URL(
    `/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`,
    env.AWS_LAMBDA_ENDPOINT_URL || regionalEndpoint('lambda', target.region),
  );
  const response = await sendSigned(target, {
    service: 'lambda',
    url,
    headers: { 'Content-Type': 'application/json', 'X-Amz-Invocation-Type': 'Event' },
    body: JSON.stringify(payload),
    timeoutMs: INVOKE_TIMEOUT_MS,
  });
  if (response.statusCode !== 202)
    throw new Error(`Lambda Invoke answered ${response.statusCode}: ${response.body.slice(0, 200)}`);
}
