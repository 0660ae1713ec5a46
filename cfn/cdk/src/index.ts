// FargateApp: a CDK construct for the Fargate::App resource of the FargateApp macro.
//
// Props in the style of ecs-patterns' ApplicationLoadBalancedFargateService (`cpu`,
// `memoryLimitMiB`, `vpc`, `image` from ecs.ContainerImage, `secrets` from ecs.Secret,
// `listenerPort`), translated at synth to the App's PascalCase properties; every other property
// of the App is there in camelCase (`scaling`, `loadBalancer`, `discovery`, ...), typed from the
// registry schema (app-properties.ts, generated). Synth fails on a Cpu/Memory pair Fargate does
// not run, from the macro's own table (task-sizes.json, generated from it).
import { Lazy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, DependencyGroup } from 'constructs';
import {
  APP_PROPERTY_SHAPE,
  FargateAppAttributes,
  FargateAppLoadBalancer,
  FargateAppNetwork,
  FargateAppProperties,
  PropertyShape,
} from './app-properties';
import * as sizes from './task-sizes.json';

export * from './app-properties';

/** The App's properties that FargateAppProps gives in the CDK's own terms instead. */
type Translated = 'image' | 'cpu' | 'memory' | 'port' | 'network' | 'secrets';

export interface FargateAppProps extends Omit<FargateAppProperties, Translated> {
  /** The container image: `ecs.ContainerImage.fromRegistry(...)`, `.fromEcrRepository(repo, tag)`. */
  readonly image: ecs.ContainerImage;
  /** CPU units (`Cpu`). Default: 256. */
  readonly cpu?: number;
  /** Task memory in MiB (`Memory`), valid with `cpu`. Default: the lowest valid with `cpu`. */
  readonly memoryLimitMiB?: number;
  /** The container port the ALB forwards to (`Port`). Default: 80. */
  readonly containerPort?: number;
  /** The VPC (`Network.VpcId`). */
  readonly vpc: ec2.IVpc;
  /** The tasks' subnets (`Network.Subnets`). Default: the VPC's private subnets (else public). */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** More security groups for the tasks (`Network.SecurityGroups`; the App creates its own). */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** A public IP per task (`Network.AssignPublicIp`). Default: false. */
  readonly assignPublicIp?: boolean;
  /** The rest of `Network` (`allowFrom`). */
  readonly network?: Omit<FargateAppNetwork, 'vpcId' | 'subnets'>;
  /** Environment variables from Secrets Manager or SSM (`Secrets`). */
  readonly secrets?: { [name: string]: ecs.Secret };
  /** The port of the App's own listener on a shared ALB (`LoadBalancer.ListenerPort`, with `loadBalancer.arn`). */
  readonly listenerPort?: number | 'auto';
  /** A dedicated ALB, internet-facing (true) or internal (false) (`LoadBalancer.Create.Scheme`). */
  readonly publicLoadBalancer?: boolean;
  /** More statements for the task role (`TaskPolicies`), after `taskPolicies`. */
  readonly taskPolicyStatements?: iam.PolicyStatement[];
}

/** One row of the Fargate task size table: the Memory values allowed with a Cpu value. */
interface TaskSize {
  readonly Cpu: number;
  readonly Memory: number[];
}
const TASK_SIZES: TaskSize[] = sizes.TaskSizes;

/** Memory values as the macro words them: a short list, or "FROM to TO in steps of STEP". */
function describeSizes(m: number[]): string {
  return m.length <= 4 ? m.join(', ') : `${m[0]} to ${m[m.length - 1]} in steps of ${m[1] - m[0]}`;
}

/**
 * The Cpu/Memory rule of the macro (`check_task_size` in macro/src/spec/container.rs), from the
 * same table; literal values only (a token is checked at expansion). Fargate's table:
 * https://docs.aws.amazon.com/AmazonECS/latest/userguide/task-cpu-memory-error.html
 */
export function checkTaskSize(cpu: unknown, memory: unknown): string[] {
  if (typeof cpu !== 'number' || Token.isUnresolved(cpu)) return [];
  const row = TASK_SIZES.find((r) => r.Cpu === cpu);
  if (!row) {
    return [`cpu (Cpu): ${cpu} is not a Fargate CPU size (allowed: ${TASK_SIZES.map((r) => r.Cpu).join(', ')})`];
  }
  if (typeof memory !== 'number' || Token.isUnresolved(memory) || row.Memory.includes(memory)) return [];
  return [`memoryLimitMiB (Memory): ${memory} is not valid with cpu ${cpu} (allowed: ${describeSizes(row.Memory)})`];
}

/** camelCase keys to the App's PascalCase ones, along the schema's shape; map keys stay. */
export function toAppProperties(value: unknown, shape: PropertyShape | undefined = APP_PROPERTY_SHAPE): unknown {
  if (value === undefined || value === null || typeof value !== 'object' || !shape || Token.isUnresolved(value)) {
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => toAppProperties(v, shape.i));
  const out: { [k: string]: unknown } = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const named = shape.p?.[k];
    if (named) out[named[0]] = toAppProperties(v, named[1]);
    else out[k] = toAppProperties(v, shape.v);
  }
  return out;
}

/**
 * An `Fn::Join` with an empty delimiter (how the CDK writes `${secret.secretArn}:key::` or an
 * SSM parameter's ARN) as the equal `Fn::Sub`, the form the macro reads a secret's ARN from
 * (`!Sub '${Secret}:json-key::'`, `!Sub arn:...:parameter/...`); other values unchanged.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-sub.html
 */
export function joinToSub(v: unknown): unknown {
  const join = (v as { 'Fn::Join'?: unknown })?.['Fn::Join'];
  if (!Array.isArray(join) || join[0] !== '' || !Array.isArray(join[1]) || Object.keys(v as object).length !== 1) return v;
  let text = '';
  const vars: { [k: string]: unknown } = {};
  for (const part of join[1] as unknown[]) {
    const p = part as { Ref?: unknown; 'Fn::GetAtt'?: unknown };
    if (typeof part === 'string') {
      // A literal `${` is written `${!` in a Sub.
      text += part.replace(/\$\{/g, '${!');
    } else if (typeof p.Ref === 'string' && Object.keys(p).length === 1) {
      text += `\${${p.Ref}}`;
    } else if (Array.isArray(p['Fn::GetAtt']) && Object.keys(p).length === 1) {
      text += `\${${(p['Fn::GetAtt'] as string[]).join('.')}}`;
    } else {
      const name = `Part${Object.keys(vars).length}`;
      vars[name] = part;
      text += `\${${name}}`;
    }
  }
  return { 'Fn::Sub': Object.keys(vars).length ? [text, vars] : text };
}

/**
 * The execution role as an image's `bind` sees it: the grants it asks for are recorded, not
 * made (the macro makes the App's execution role and grants it the image's ECR pull itself).
 */
class ExecutionRoleGrants implements iam.IPrincipal {
  public readonly grantPrincipal: iam.IPrincipal = this;
  public readonly assumeRoleAction = 'sts:AssumeRole';
  public readonly policyFragment = new iam.PrincipalPolicyFragment({});
  public readonly statements: iam.PolicyStatement[] = [];
  constructor(public readonly principalAccount: string) {}
  public addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.statements.push(statement);
    return { statementAdded: true, policyDependable: new DependencyGroup() };
  }
  public addToPolicy(statement: iam.PolicyStatement): boolean {
    return this.addToPrincipalPolicy(statement).statementAdded;
  }
}

/**
 * What the macro's execution role grants for an image of ECR: pull (and the account-wide
 * GetAuthorizationToken). https://docs.aws.amazon.com/AmazonECR/latest/userguide/ECR_on_ECS.html
 */
const PULL_ACTIONS = new Set([
  'ecr:GetAuthorizationToken',
  'ecr:BatchCheckLayerAvailability',
  'ecr:GetDownloadUrlForLayer',
  'ecr:BatchGetImage',
]);

/**
 * A Fargate service declared as one `Fargate::App` resource; the `FargateApp` macro expands it
 * (the construct adds the transform to its stack). Its attributes are typed getters (`url`,
 * `serviceName`, `targetGroupArn`, ...); `connections` is the App's security group.
 */
export class FargateApp extends FargateAppAttributes implements ec2.IConnectable {
  /** The App's security group (`SecurityGroupId`), with the container port as default port. */
  public readonly connections: ec2.Connections;

  constructor(scope: Construct, id: string, props: FargateAppProps) {
    const {
      image, cpu, memoryLimitMiB, containerPort, vpc, vpcSubnets, securityGroups, assignPublicIp,
      network, secrets, listenerPort, publicLoadBalancer, taskPolicyStatements, ...rest
    } = props;
    super(scope, id, { type: 'Fargate::App' });

    const executionRole = new ExecutionRoleGrants(Stack.of(this).account);
    // ContainerImage.bind needs only the task definition's execution role (for ECR pull grants).
    const binding = { taskDefinition: { obtainExecutionRole: () => executionRole } };
    const imageConfig = image.bind(this, binding as unknown as ecs.ContainerDefinition);

    let loadBalancer: FargateAppLoadBalancer | undefined = rest.loadBalancer;
    if (publicLoadBalancer !== undefined) {
      const create = typeof loadBalancer?.create === 'object' ? loadBalancer.create : {};
      const scheme = publicLoadBalancer ? 'internet-facing' : 'internal';
      loadBalancer = { ...(loadBalancer ?? {}), create: { ...create, scheme } };
    }
    if (listenerPort !== undefined) loadBalancer = { ...(loadBalancer ?? {}), listenerPort };

    const taskPolicies = [
      ...(rest.taskPolicies ?? []),
      // Already the App's PascalCase keys (Effect, Action...), which the translation keeps.
      ...(taskPolicyStatements ?? []).map((s) => s.toStatementJson()),
    ];
    const secretValues = Object.fromEntries(Object.entries(secrets ?? {}).map(([name, s]) => [
      name,
      Lazy.any({ produce: () => joinToSub(Stack.of(this).resolve(s.arn)) }),
    ]));
    const app = toAppProperties({
      ...rest,
      image: imageConfig.imageName,
      port: containerPort,
      cpu,
      memory: memoryLimitMiB,
      network: {
        ...(network ?? {}),
        vpcId: vpc.vpcId,
        subnets: vpc.selectSubnets(vpcSubnets).subnetIds,
        assignPublicIp: assignPublicIp ?? network?.assignPublicIp,
        securityGroups: securityGroups
          ? [...(network?.securityGroups ?? []), ...securityGroups.map((g) => g.securityGroupId)]
          : network?.securityGroups,
      },
      secrets: secrets ? secretValues : undefined,
      loadBalancer,
      taskPolicies: taskPolicies.length ? taskPolicies : undefined,
    }) as { [k: string]: unknown };
    for (const [k, v] of Object.entries(app)) if (v !== undefined) this.addPropertyOverride(k, v);

    // The macro must run on any stack holding an App; added once however many Apps there are.
    const stack = Stack.of(this);
    if (!(stack.templateOptions.transforms ?? []).includes('FargateApp')) stack.addTransform('FargateApp');

    this.connections = new ec2.Connections({
      securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(this, 'SecurityGroup', this.securityGroupId, {
        // The App's group allows all outbound traffic (its `SecurityGroupEgress`), so `allowTo`
        // needs no egress rule; ingress rules are added (mutable: the CDK's default).
        allowAllOutbound: true,
      })],
      defaultPort: ec2.Port.tcp(containerPort ?? 80),
    });

    // The macro's rules that synth can check already; CDK prefixes each with this construct's path.
    this.node.addValidation({
      validate: () => {
        const errors = checkTaskSize(cpu ?? 256, memoryLimitMiB);
        const environment = Object.keys(rest.environment ?? {});
        for (const name of Object.keys(secrets ?? {})) {
          if (environment.includes(name)) {
            errors.push(`secrets.${name} (Secrets): also set in environment: a variable comes from one or the other`);
          }
        }
        if (imageConfig.repositoryCredentials) {
          errors.push('image (Image): registry credentials are not supported by Fargate::App; use a public image or ECR');
        }
        const actions = executionRole.statements.flatMap((s) => s.actions).filter((a) => !PULL_ACTIONS.has(a));
        if (actions.length) {
          errors.push(`image (Image): needs ${[...new Set(actions)].join(', ')} on the execution role, which Fargate::App does not grant`);
        }
        return errors;
      },
    });
  }
}
