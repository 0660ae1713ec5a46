// tsc must accept the valid props and reject each marked mistake: `@ts-expect-error` fails the
// compile when the line after it has no error, so a generated type that lets a misspelt property
// through (an index signature, a loose type) fails make test.
import { FargateAppProps } from '../../examples/cdk/lib/fargate-app-props';

export const valid: FargateAppProps = {
  Image: 'public.ecr.aws/nginx/nginx:1.27',
  Memory: 1024,
  Network: { VpcId: 'vpc-1', Subnets: ['subnet-1'] },
  LoadBalancer: { Arn: 'arn:alb', SecurityGroup: 'sg-1', ListenerPort: 'auto' },
  Scaling: { Min: 1, Max: 3, CpuPercent: 70 },
  LoadTest: { Rate: 50, Thresholds: { P99Ms: 800 } },
};

export const mistakes: FargateAppProps[] = [
  {
    Image: 'x',
    Network: { VpcId: 'vpc-1', Subnets: ['subnet-1'] },
    // @ts-expect-error misspelt top-level property
    Memroy: 512,
  },
  {
    Image: 'x',
    Network: { VpcId: 'vpc-1', Subnets: ['subnet-1'] },
    // @ts-expect-error misspelt nested property
    Scaling: { Min: 1, Max: 3, CpuPrecent: 70 },
  },
  {
    Image: 'x',
    Network: { VpcId: 'vpc-1', Subnets: ['subnet-1'] },
    // @ts-expect-error a value outside the allowed ones
    Architecture: 'arm64',
  },
  {
    Image: 'x',
    Network: { VpcId: 'vpc-1', Subnets: ['subnet-1'] },
    // @ts-expect-error a string where a number goes
    Port: '80',
  },
  // @ts-expect-error Network is required
  { Image: 'x' },
];
