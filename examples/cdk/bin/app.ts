// A CDK app declaring two Fargate apps with the fargate-app-cdk construct (cfn/cdk): camelCase
// props as in ApplicationLoadBalancedFargateService, checked at synth with the macro's own
// Cpu/Memory table; the construct adds the FargateApp transform (`cdk deploy` passes
// CAPABILITY_AUTO_EXPAND itself). Install the macro and provider first (`make deploy`).
import { App, CfnOutput, DefaultStackSynthesizer, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { FargateApp } from 'fargate-app-cdk';

const app = new App();
const stack = new Stack(app, 'ShopOnFargate', {
  // No CDK bootstrap stack needed: the template has no assets (images come from registries).
  synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
});

// Public subnets only (no NAT gateway): the tasks get public IPs to pull their images.
// An existing VPC: ec2.Vpc.fromLookup(stack, 'Vpc', { vpcId: 'vpc-...' }) (needs an account).
const vpc = new ec2.Vpc(stack, 'Vpc', {
  maxAzs: 2,
  natGateways: 0,
  subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }],
});

// Logical IDs of top-level constructs are their ids: `Users` expands into UsersService,
// UsersTaskDefinition, ... (keep the id stable: renaming it replaces the live resources).
const users = new FargateApp(stack, 'Users', {
  image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27'),
  containerPort: 80,
  cpu: 256,
  memoryLimitMiB: 512,
  vpc,
  assignPublicIp: true,
  publicLoadBalancer: true,
  loadBalancer: { healthCheck: { path: '/' } },
  discovery: { namespaceName: 'shop.local', name: 'users' },
  scaling: { min: 1, max: 3, cpuPercent: 70, memoryPercent: 70 },
});

// A worker (no load balancer) that calls users over Cloud Map.
const orders = new FargateApp(stack, 'Orders', {
  image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/busybox:1.36'),
  command: ['sh', '-c', 'while true; do wget -qO- http://users.shop.local/ >/dev/null; sleep 30; done'],
  vpc,
  assignPublicIp: true,
  environment: { USERS_URL: 'http://users.shop.local' },
});
users.connections.allowDefaultPortFrom(orders, 'orders calls users');

new CfnOutput(stack, 'UsersUrl', { value: users.url });
new CfnOutput(stack, 'UsersService', { value: users.serviceArn });
new CfnOutput(stack, 'UsersDiscoveryName', { value: users.discoveryName });
