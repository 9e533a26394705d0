import { Duration, IgnoreMode, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CA_BUNDLE_FILE, DOCKERFILE, imageBuildArgs, LAMBDA_TASK_ROOT, ROOT } from '../config/build';
import type { FunctionSizing } from '../config/stages';

export interface ContextFunctionProps {
  /** The folder under functions/ (the Dockerfile's CONTEXT build argument). */
  context: string;
  sizing: FunctionSizing;
  vpc: ec2.IVpc;
  securityGroups: ec2.ISecurityGroup[];
  environment: Record<string, string>;
  logRetention: logs.RetentionDays;
  removalPolicy: RemovalPolicy;
  description: string;
}

/**
 * One bounded context's Lambda: a container image built from `functions/Dockerfile` with the context as
 * build argument, x86_64 (onnxruntime-node's Lambda binaries), in the VPC's private subnets with egress,
 * with its own log group and the Powertools environment. At synth the image is only staged (no Docker
 * needed); `.dockerignore` keeps the staged build context to the sources the Dockerfile copies.
 */
export class ContextFunction extends Construct {
  readonly function: lambda.DockerImageFunction;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ContextFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.function = new lambda.DockerImageFunction(this, 'Function', {
      description: props.description,
      code: lambda.DockerImageCode.fromImageAsset(ROOT, {
        file: DOCKERFILE,
        buildArgs: imageBuildArgs(props.context),
        platform: Platform.LINUX_AMD64,
        ignoreMode: IgnoreMode.DOCKER,
      }),
      architecture: lambda.Architecture.X86_64,
      memorySize: props.sizing.memorySize,
      timeout: Duration.seconds(props.sizing.timeoutSeconds),
      vpc: props.vpc,
      vpcSubnets: { subnetGroupName: 'app' },
      securityGroups: props.securityGroups,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        POWERTOOLS_SERVICE_NAME: `mira-${props.context}`,
        POWERTOOLS_METRICS_NAMESPACE: 'Mira',
        DATABASE_CA_FILE: `${LAMBDA_TASK_ROOT}/${CA_BUNDLE_FILE}`,
        ...props.environment,
      },
    });
    // The managed policies CDK attaches: AWSLambdaBasicExecutionRole (logs) and
    // AWSLambdaVPCAccessExecutionRole (ENIs); both are exactly what a VPC Lambda needs.
    for (const policy of ['AWSLambdaBasicExecutionRole', 'AWSLambdaVPCAccessExecutionRole']) {
      Validations.of(this.function.role!).acknowledge({
        id: `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${policy}]`,
        reason: `${policy} is the AWS-managed minimum for a Lambda in a VPC (logs, ENIs); a copy would only drift`,
      });
    }
    // X-Ray and ENI management have no resource-level permissions.
    Validations.of(this.function.role!).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'xray:PutTraceSegments and PutTelemetryRecords support no resource-level scoping',
    });
  }
}
