// A CDK app using the FargateApp macro: the stack declares the transform, and each app is one
// CfnResource of type Fargate::App. `cdk deploy` passes CAPABILITY_AUTO_EXPAND by itself.
import { App, CfnOutput, CfnParameter, CfnResource, Fn, Stack } from 'aws-cdk-lib';

const app = new App();
const stack = new Stack(app, 'ShopOnFargate');
stack.addTransform('FargateApp');

const vpcId = new CfnParameter(stack, 'VpcId', { type: 'AWS::EC2::VPC::Id' });
const subnets = new CfnParameter(stack, 'Subnets', { type: 'List<AWS::EC2::Subnet::Id>' });

// Logical IDs of top-level constructs are their ids: `Users` expands into UsersService,
// UsersTaskDefinition, ... (keep the id stable: renaming it replaces the live resources).
const users = new CfnResource(stack, 'Users', {
  type: 'Fargate::App',
  properties: {
    Image: 'public.ecr.aws/nginx/nginx:1.27',
    Port: 80,
    Cpu: 256,
    Memory: 512,
    Network: { VpcId: vpcId.valueAsString, Subnets: subnets.valueAsList },
    LoadBalancer: { Create: { Scheme: 'internet-facing' }, HealthCheck: { Path: '/' } },
    Discovery: { NamespaceName: 'shop.local', Name: 'users' },
    Scaling: { Min: 1, Max: 3, CpuPercent: 70, MemoryPercent: 70 },
  },
});

new CfnOutput(stack, 'UsersUrl', { value: users.getAtt('Url').toString() });
new CfnOutput(stack, 'UsersService', { value: Fn.ref('Users') });
