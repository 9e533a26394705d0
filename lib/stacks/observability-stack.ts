import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stages';

export interface ObservabilityStackProps extends StackProps {
  config: StageConfig;
  api: apigw.HttpApi;
  functions: Map<string, lambda.IFunction>;
  database: rds.DatabaseInstance;
  proxy: rds.DatabaseProxy;
  /** Register v2's utterance queue and its dead-letter queue: alarms on their age and depth. */
  queues?: { queue: sqs.IQueue; deadLetterQueue: sqs.IQueue };
}

/** An accepted utterance older than this on the queue means the worker is not keeping up (or is down). */
const QUEUE_AGE_ALARM_SECONDS = 120;

const FIVE_MINUTES = Duration.minutes(5);

/** Metric names the request pipeline emits itself; anything else in the Mira namespace is a business metric. */
const PIPELINE_METRICS = ['RequestCount', 'Latency', 'Errors', 'ClientErrors', 'ColdStart'];

/**
 * One dashboard (per-function invocations, errors, p95 duration and throttles; API 4xx/5xx and latency;
 * database connections and CPU; Mira's EMF metrics) and the alarms an operator is paged for, all sent
 * to one SNS topic, whose subscribers come from the stage config (a prod stage without any fails synth).
 */
export class ObservabilityStack extends Stack {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { config, api, functions, database, proxy } = props;
    // CloudWatch cannot publish to a topic encrypted with the AWS-managed key (alias/aws/sns): its key
    // policy grants CloudWatch nothing and cannot be changed. So the topic has a key of its own.
    const topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: `Mira ${config.stage}: encrypts the alarm topic`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToTheEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `Mira ${config.stage} alarms`,
      enforceSSL: true,
      masterKey: topicKey,
    });
    // enforceSSL writes a topic policy, which replaces SNS's default one: CloudWatch's alarms of this
    // account need their own allow.
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: {
            'aws:SourceArn': `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:*`,
          },
        },
      }),
    );
    const { emails, httpsUrls } = config.alarms.subscriptions;
    for (const email of emails) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    for (const url of httpsUrls) {
      this.alarmTopic.addSubscription(
        new subscriptions.UrlSubscription(url, { protocol: sns.SubscriptionProtocol.HTTPS }),
      );
    }
    this.node.addValidation({
      validate: () => [
        ...(config.stage === 'prod' && emails.length + httpsUrls.length === 0
          ? [
              'The prod alarm topic has no subscribers: set alarms.subscriptions in lib/config/stages.ts or -c alarmEmails=...',
            ]
          : []),
        ...emails
          .filter((e) => !/^[^@\s,]+@[^@\s,]+\.[^@\s,]+$/.test(e))
          .map((e) => `Not an email address: "${e}"`),
        ...httpsUrls
          .filter((u) => !u.startsWith('https://'))
          .map((u) => `Alarm endpoints must be https: "${u}"`),
      ],
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.alarmTopic.topicArn,
      description:
        'Subscribe to alarms: aws sns subscribe --topic-arn <this> --protocol email --notification-endpoint you@example.com',
    });
    const action = new SnsAction(this.alarmTopic);
    const alarm = (
      id: string,
      props: cloudwatch.CreateAlarmOptions & { metric: cloudwatch.Metric | cloudwatch.MathExpression },
    ) => {
      const created = props.metric.createAlarm(this, id, {
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...props,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      return created;
    };

    const perFunction = [...functions].map(([name, fn]) => ({
      name,
      invocations: fn.metricInvocations({ period: FIVE_MINUTES, label: name }),
      errors: fn.metricErrors({ period: FIVE_MINUTES, label: name }),
      duration: fn.metricDuration({ period: FIVE_MINUTES, statistic: 'p95', label: name }),
      throttles: fn.metricThrottles({ period: FIVE_MINUTES, label: name }),
    }));

    for (const f of perFunction) {
      alarm(`${f.name}ErrorRate`, {
        alarmDescription: `${f.name}: more than ${config.alarms.functionErrorRatePercent}% of invocations failed`,
        metric: new cloudwatch.MathExpression({
          expression: 'IF(invocations > 0, 100 * errors / invocations, 0)',
          usingMetrics: { invocations: f.invocations, errors: f.errors },
          period: FIVE_MINUTES,
          label: `${f.name} error rate (%)`,
        }),
        threshold: config.alarms.functionErrorRatePercent,
        evaluationPeriods: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
    }
    alarm('Api5xx', {
      alarmDescription: 'The API answered 5xx',
      metric: api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' }),
      threshold: config.alarms.api5xxPerFiveMinutes,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    alarm('ApiLatencyP95', {
      alarmDescription: `API p95 latency above ${config.alarms.p95LatencyMs} ms`,
      metric: api.metricLatency({ period: FIVE_MINUTES, statistic: 'p95' }),
      threshold: config.alarms.p95LatencyMs,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    alarm('DatabaseConnections', {
      alarmDescription: `More than ${config.alarms.databaseConnections} connections on the database`,
      metric: database.metricDatabaseConnections({ period: FIVE_MINUTES, statistic: 'Maximum' }),
      threshold: config.alarms.databaseConnections,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });

    if (props.queues) {
      alarm('UtteranceQueueAge', {
        alarmDescription: `An accepted utterance waited more than ${QUEUE_AGE_ALARM_SECONDS} s for the worker`,
        metric: props.queues.queue.metricApproximateAgeOfOldestMessage({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: QUEUE_AGE_ALARM_SECONDS,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
      alarm('UtteranceDeadLetters', {
        alarmDescription:
          'Utterance jobs reached the dead-letter queue (the worker could not even mark them failed)',
        metric: props.queues.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
    }

    const proxyConnections = new cloudwatch.Metric({
      namespace: 'AWS/RDS',
      metricName: 'ClientConnections',
      dimensionsMap: { ProxyName: proxy.dbProxyName },
      period: FIVE_MINUTES,
      statistic: 'Maximum',
      label: 'proxy client connections',
    });
    const graph = (title: string, left: cloudwatch.IMetric[], width = 12) =>
      new cloudwatch.GraphWidget({ title, left, width, height: 6 });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${config.prefix}-overview`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      graph(
        'Function invocations',
        perFunction.map((f) => f.invocations),
      ),
      graph(
        'Function errors',
        perFunction.map((f) => f.errors),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Function duration p95 (ms)',
        perFunction.map((f) => f.duration),
      ),
      graph(
        'Function throttles',
        perFunction.map((f) => f.throttles),
      ),
    );
    this.dashboard.addWidgets(
      graph('API 4xx / 5xx', [
        api.metricClientError({ period: FIVE_MINUTES, statistic: 'Sum', label: '4xx' }),
        api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum', label: '5xx' }),
      ]),
      graph('API latency (ms)', [
        api.metricLatency({ period: FIVE_MINUTES, statistic: 'p50', label: 'p50' }),
        api.metricLatency({ period: FIVE_MINUTES, statistic: 'p95', label: 'p95' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Database connections', [
        database.metricDatabaseConnections({ period: FIVE_MINUTES, statistic: 'Maximum', label: 'instance' }),
        proxyConnections,
      ]),
      graph('Database CPU (%)', [database.metricCPUUtilization({ period: FIVE_MINUTES })]),
    );
    // EMF metrics from Powertools (namespace Mira): per-route requests, and the business metrics the
    // contexts add (e.g. UtterancesStored); SEARCH picks up new ones without a deploy.
    this.dashboard.addWidgets(
      graph('Mira requests by service', [
        new cloudwatch.MathExpression({
          expression: `SEARCH('{Mira,service} MetricName="RequestCount"', 'Sum', 300)`,
          label: '',
          period: FIVE_MINUTES,
        }),
      ]),
      graph('Mira business metrics', [
        new cloudwatch.MathExpression({
          expression: `SEARCH('{Mira,service} NOT MetricName=(${PIPELINE_METRICS.map((m) => `"${m}"`).join(' OR ')})', 'Sum', 300)`,
          label: '',
          period: FIVE_MINUTES,
        }),
      ]),
    );
  }
}
