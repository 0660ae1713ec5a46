// The app tests/cdk/pack.sh synthesizes with the packed fargate-app-cdk tarball installed:
// `Props` uses every translated prop (ECR and asset images, secrets of both stores, vpc, listenerPort...)
// and some generated camelCase ones; `BadSize` (context bad=1) has a Cpu/Memory pair Fargate
// does not run, which synth must refuse.
import { App, CfnOutput, DefaultStackSynthesizer, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { FargateApp } from 'fargate-app-cdk';

const app = new App();
const synthesizer = () => new DefaultStackSynthesizer({ generateBootstrapVersionRule: false });
const stack = new Stack(app, 'Props', { synthesizer: synthesizer() });
const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
const repository = new ecr.Repository(stack, 'Repo');
const secret = new secretsmanager.Secret(stack, 'DbSecret');
const parameter = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'ApiKey', {
  parameterName: '/shop/api-key',
});
const client = new ec2.SecurityGroup(stack, 'Client', { vpc });

const api = new FargateApp(stack, 'Api', {
  image: ecs.ContainerImage.fromEcrRepository(repository, 'v1'),
  cpu: 512,
  memoryLimitMiB: 2048,
  desiredCount: 2,
  containerPort: 8080,
  vpc,
  secrets: {
    DB_PASSWORD: ecs.Secret.fromSecretsManager(secret, 'password'),
    API_KEY: ecs.Secret.fromSsmParameter(parameter),
  },
  environment: { LOG_LEVEL: 'info' },
  tags: { 'cost-center': 'shop' },
  loadBalancer: { arn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shared/1', securityGroup: 'sg-0123456789abcdef0', dnsName: 'shared.example.com' },
  listenerPort: 8443,
  discovery: { namespaceName: 'shop.local', name: 'api' },
  healthCheck: { command: 'curl -f http://localhost:8080/health', startPeriod: 10 },
  taskPolicyStatements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::shop-assets/*'] })],
});
api.connections.allowDefaultPortFrom(client);

// An image built from a directory: synth stages it as a Docker image asset (cdk deploy builds
// and pushes it to the bootstrap stack's repository); no Docker is needed to synthesize.
new FargateApp(stack, 'Worker', {
  image: ecs.ContainerImage.fromAsset('asset'), // relative to the app's directory
  vpc,
});

new CfnOutput(stack, 'Url', { value: api.url });
new CfnOutput(stack, 'ServiceName', { value: api.serviceName });
new CfnOutput(stack, 'TargetGroupArn', { value: api.targetGroupArn });

// Each App of BadSize breaks one rule that synth checks (tests/cdk/pack.sh expects each message).
if (app.node.tryGetContext('bad')) {
  const bad = new Stack(app, 'BadSize', { synthesizer: synthesizer() });
  const badVpc = new ec2.Vpc(bad, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }] });
  const nginx = ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27');
  const token = secretsmanager.Secret.fromSecretCompleteArn(bad, 'Token', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:token-AbCdEf');
  new FargateApp(bad, 'Api', { image: nginx, cpu: 256, memoryLimitMiB: 4096, vpc: badVpc });
  new FargateApp(bad, 'Twice', { image: nginx, vpc: badVpc, environment: { TOKEN: 'x' }, secrets: { TOKEN: ecs.Secret.fromSecretsManager(token) } });
  new FargateApp(bad, 'Private', { image: ecs.ContainerImage.fromRegistry('registry.example.com/app:1', { credentials: token }), vpc: badVpc });
}
