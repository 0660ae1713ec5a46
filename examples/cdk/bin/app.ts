// A CDK app using the FargateApp macro through the typed FargateApp construct (lib/): its props
// are generated from the registry schema, so a misspelt property fails `tsc` / `cdk synth`.
// The construct adds the FargateApp transform; `cdk deploy` passes CAPABILITY_AUTO_EXPAND itself.
import { App, CfnOutput, CfnParameter, Stack } from 'aws-cdk-lib';
import { FargateApp } from '../lib/fargate-app';

const app = new App();
const stack = new Stack(app, 'ShopOnFargate');

const vpcId = new CfnParameter(stack, 'VpcId', { type: 'AWS::EC2::VPC::Id' });
const subnets = new CfnParameter(stack, 'Subnets', { type: 'List<AWS::EC2::Subnet::Id>' });

// Logical IDs of top-level constructs are their ids: `Users` expands into UsersService,
// UsersTaskDefinition, ... (keep the id stable: renaming it replaces the live resources).
const users = new FargateApp(stack, 'Users', {
  Image: 'public.ecr.aws/nginx/nginx:1.27',
  Port: 80,
  Cpu: 256,
  Memory: 512,
  Network: { VpcId: vpcId.valueAsString, Subnets: subnets.valueAsList },
  LoadBalancer: { Create: { Scheme: 'internet-facing' }, HealthCheck: { Path: '/' } },
  Discovery: { NamespaceName: 'shop.local', Name: 'users' },
  Scaling: { Min: 1, Max: 3, CpuPercent: 70, MemoryPercent: 70 },
});

new CfnOutput(stack, 'UsersUrl', { value: users.attrUrl });
new CfnOutput(stack, 'UsersService', { value: users.attrServiceArn });
new CfnOutput(stack, 'UsersDiscoveryName', { value: users.attr('DiscoveryName').toString() });
