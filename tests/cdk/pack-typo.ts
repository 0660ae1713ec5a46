// Compiled in the scratch app of tests/cdk/pack.sh against the packed declarations: tsc must
// accept the valid props and reject each marked mistake (`@ts-expect-error` fails the compile
// when the line after it has no error), so a type that lets a misspelt property through fails.
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { FargateApp, FargateAppProps } from 'fargate-app-cdk';

declare const vpc: ec2.IVpc;
const image = ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27');

export const valid: FargateAppProps = {
  image,
  vpc,
  memoryLimitMiB: 1024,
  loadBalancer: { arn: 'arn:alb', securityGroup: 'sg-1', listenerPort: 'auto' },
  scaling: { min: 1, max: 3, cpuPercent: 70 },
  loadTest: { rate: 50, thresholds: { p99Ms: 800 } },
};

export const mistakes: FargateAppProps[] = [
  // @ts-expect-error misspelt top-level property
  { image, vpc, memoryLimitMib: 512 },
  // @ts-expect-error the App's PascalCase name where the construct's camelCase one goes
  { image, vpc, Memory: 512 },
  // @ts-expect-error misspelt nested property
  { image, vpc, scaling: { min: 1, max: 3, cpuPrecent: 70 } },
  // @ts-expect-error a value outside the allowed ones
  { image, vpc, architecture: 'arm64' },
  // @ts-expect-error a string where a number goes
  { image, vpc, containerPort: '80' },
  // @ts-expect-error an image name where an ecs.ContainerImage goes
  { image: 'nginx', vpc },
  // @ts-expect-error vpc is required
  { image },
];

export function attributes(app: FargateApp): string[] {
  // @ts-expect-error an attribute the App does not have
  const wrong: string = app.urll;
  return [app.url, app.serviceName, app.targetGroupArn, app.securityGroupId, wrong];
}
