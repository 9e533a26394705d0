import { RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stages';

export interface NetworkStackProps extends StackProps {
  config: StageConfig;
}

/**
 * VPC over two AZs: public subnets only for the NAT gateways (Gemini egress), `app` subnets (private,
 * with egress) for the Lambdas, `data` subnets (isolated) for the database and its proxy. Flow logs go to
 * CloudWatch; Secrets Manager is reached through an interface endpoint, so reading secrets at cold start
 * neither needs nor waits on the NAT.
 */
export class NetworkStack extends Stack {
  readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const { config } = props;
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: config.logRetentionDays,
      removalPolicy: config.stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: config.vpc.maxAzs,
      natGateways: config.vpc.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
    });
    const endpoint = this.vpc.addInterfaceEndpoint('SecretsManager', {
      service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      subnets: { subnetGroupName: 'app' },
      privateDnsEnabled: true,
    });
    // cdk-nag cannot evaluate the rule because the ingress source is the VPC CIDR token.
    Validations.of(endpoint).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'The endpoint accepts HTTPS from the VPC CIDR only (CDK default), not from 0.0.0.0/0',
    });
  }
}
