// Generated from schema/Fargate-App.json by tests/cdk/gen-props.mjs: do not edit.
// make test regenerates it and fails when this file differs.

export type Port = number;
/**
 * The container command. Default: the image's.
 */
export type CommandLine = string | string[];
/**
 * The container entry point. Default: the image's.
 */
export type CommandLine1 = string | string[];
/**
 * This interface was referenced by `undefined`'s JSON-Schema definition
 * via the `patternProperty` "^[A-Za-z_][A-Za-z0-9_]*$".
 */
export type NonEmptyString = string;
/**
 * The subnets the tasks run in.
 *
 * @minItems 1
 */
export type StringList = NonEmptyString[];
/**
 * More security groups for the tasks.
 */
export type StringList1 = NonEmptyString[];
/**
 * The ALB's subnets, in at least two Availability Zones. Default: Network.Subnets.
 *
 * @minItems 2
 */
export type StringList2 = NonEmptyString[];
/**
 * Path patterns of the rule, each starting with /.
 *
 * @maxItems 3
 */
export type PathCondition = string | string[];
/**
 * Host headers of the rule.
 *
 * @maxItems 3
 */
export type HostCondition = string | string[];
/**
 * CloudWatch alarm names that roll a deployment back.
 *
 * @minItems 1
 */
export type StringList3 = NonEmptyString[];
export type LifecycleStage =
  | 'RECONCILE_SERVICE'
  | 'PRE_SCALE_UP'
  | 'POST_SCALE_UP'
  | 'TEST_TRAFFIC_SHIFT'
  | 'POST_TEST_TRAFFIC_SHIFT'
  | 'PRE_PRODUCTION_TRAFFIC_SHIFT'
  | 'PRODUCTION_TRAFFIC_SHIFT'
  | 'POST_PRODUCTION_TRAFFIC_SHIFT';
/**
 * What serves while the alarm is OK: { FunctionArn } or { TargetGroupArn }, or a plain value whose kind is inferred (a literal Lambda function or target-group ARN, !GetAtt of a function's Arn, !Ref of a target group of the template; a parameter needs the object form).
 */
export type Standby = StandbyObject | string;

/**
 * One Fargate service with everything it needs (roles, log group, security group, task definition, ECS service, and where asked an ALB or a listener on a shared one, Cloud Map registration, target-tracking scaling, weighted failover and a load-test gate). Expanded by the FargateApp macro: the template needs `Transform: FargateApp`. Intrinsic functions are accepted wherever a value is.
 */
export interface FargateAppProps {
  /**
   * The container image to run.
   */
  Image: string;
  /**
   * The container port; the ALB forwards here (1-65535). Default: 80.
   */
  Port?: number;
  /**
   * More container ports, reachable by Network.AllowFrom peers only.
   */
  ExtraPorts?: Port[];
  /**
   * CPU units. Default: 256.
   */
  Cpu?: 256 | 512 | 1024 | 2048 | 4096 | 8192 | 16384;
  /**
   * MiB, valid with Cpu: 256: 512, 1024, 2048; 512: 1024-4096; 1024: 2048-8192; 2048: 4096-16384 (steps of 1024); 4096: 8192-30720 (1024); 8192: 16384-61440 (4096); 16384: 32768-122880 (8192). Default: the lowest valid with Cpu.
   */
  Memory?:
    | 512
    | 1024
    | 2048
    | 3072
    | 4096
    | 5120
    | 6144
    | 7168
    | 8192
    | 9216
    | 10240
    | 11264
    | 12288
    | 13312
    | 14336
    | 15360
    | 16384
    | 17408
    | 18432
    | 19456
    | 20480
    | 21504
    | 22528
    | 23552
    | 24576
    | 25600
    | 26624
    | 27648
    | 28672
    | 29696
    | 30720
    | 32768
    | 36864
    | 40960
    | 45056
    | 49152
    | 53248
    | 57344
    | 61440
    | 65536
    | 73728
    | 81920
    | 90112
    | 98304
    | 106496
    | 114688
    | 122880;
  /**
   * Default: X86_64.
   */
  Architecture?: 'X86_64' | 'ARM64';
  Command?: CommandLine;
  EntryPoint?: CommandLine1;
  /**
   * Map of variable name to value (numbers and booleans become strings).
   */
  Environment?: {
    /**
     * This interface was referenced by `undefined`'s JSON-Schema definition
     * via the `patternProperty` "^[A-Za-z_][A-Za-z0-9_]*$".
     */
    [k: string]: string | number | boolean;
  };
  /**
   * Map of variable name to an SSM parameter name (/prod/db), SSM parameter ARN or Secrets Manager secret ARN (a JSON-key suffix is allowed). The execution role may read exactly those.
   */
  Secrets?: {
    [k: string]: NonEmptyString;
  };
  /**
   * ARNs of the customer-managed KMS keys the Secrets are encrypted with (arn:aws:kms:REGION:ACCOUNT:key/ID): the execution role may kms:Decrypt with exactly those.
   *
   * @minItems 1
   */
  SecretsKmsKeys?: string[];
  HealthCheck?: ContainerHealthCheck;
  /**
   * Days CloudWatch Logs keeps the log group. Default: 30.
   */
  LogRetentionDays?:
    | 1
    | 3
    | 5
    | 7
    | 14
    | 30
    | 60
    | 90
    | 120
    | 150
    | 180
    | 365
    | 400
    | 545
    | 731
    | 1096
    | 1827
    | 2192
    | 2557
    | 2922
    | 3288
    | 3653;
  /**
   * IAM statements for the task role.
   */
  TaskPolicies?: PolicyStatement[];
  /**
   * ECS Exec (adds the SSM channel permissions to the task role). Default: false.
   */
  ExecuteCommand?: boolean;
  /**
   * Map of tag key to value; on every resource that takes tags, propagated to tasks.
   */
  Tags?: {
    /**
     * This interface was referenced by `undefined`'s JSON-Schema definition
     * via the `patternProperty` "^(?!aws:).{1,128}$".
     */
    [k: string]: string | number | boolean;
  };
  /**
   * An ECS cluster name or ARN. Default: one FargateAppCluster per template.
   */
  Cluster?: string;
  /**
   * Tasks (0-5000). Default: Scaling.Min, else 0 with Failover, else 1. Dropped (with a warning) beside Scaling.
   */
  DesiredCount?: number;
  Network: Network;
  /**
   * Fargate Spot (X86_64, or ARM64 on platform 1.4.0+): true (all Spot) or the capacity provider weights.
   */
  Spot?: boolean | SpotWeights;
  LoadBalancer?: LoadBalancer;
  Discovery?: Discovery;
  Scaling?: Scaling;
  Deployment?: Deployment;
  Failover?: Failover;
  LoadTest?: LoadTest;
}
/**
 * The container's own health check (ECS runs it inside the task).
 */
export interface ContainerHealthCheck {
  /**
   * A string runs with CMD-SHELL; a list starts with CMD or CMD-SHELL.
   */
  Command: string | string[];
  /**
   * Seconds between checks (5-300).
   */
  Interval?: number;
  /**
   * Seconds to wait for a check (2-60), less than Interval.
   */
  Timeout?: number;
  /**
   * Failures before the container is unhealthy (1-10).
   */
  Retries?: number;
  /**
   * Grace period in seconds before failures count (0-300).
   */
  StartPeriod?: number;
}
/**
 * An IAM policy statement of an identity policy (no Principal).
 */
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: {};
}
export interface Network {
  /**
   * The VPC of the app's security group.
   */
  VpcId: string;
  Subnets: StringList;
  /**
   * Give each task a public IP (needed in public subnets without a NAT). Default: false.
   */
  AssignPublicIp?: boolean;
  SecurityGroups?: StringList1;
  /**
   * Who may reach every port of the app: other Fargate::App resources of the template (logical IDs), security group IDs (sg-...) or IPv4 CIDR blocks.
   */
  AllowFrom?: string[];
}
export interface SpotWeights {
  /**
   * Tasks always on demand (0-1000). Default: 0.
   */
  OnDemandBase?: number;
  /**
   * Weight of on-demand capacity (0-1000). Default: 0.
   */
  OnDemandWeight?: number;
  /**
   * Weight of Spot capacity (0-1000). Default: 1.
   */
  SpotWeight?: number;
}
/**
 * Routing through an ALB. Exactly one of: Create (a dedicated ALB); Arn with ListenerPort (a listener of the app's own on a shared ALB); Listener with Path and/or Host and Priority (a rule on an existing listener). Absent: an internal worker with no ALB.
 */
export interface LoadBalancer {
  /**
   * A dedicated ALB with its own security group: true, or { Scheme, Subnets }.
   */
  Create?: true | CreateLoadBalancer;
  /**
   * The shared ALB's ARN.
   */
  Arn?: string;
  /**
   * The shared ALB's security group (required with Arn or Listener).
   */
  SecurityGroup?: string;
  /**
   * An existing listener's ARN: the app gets a rule on it.
   */
  Listener?: string;
  Path?: PathCondition;
  Host?: HostCondition;
  /**
   * The rule's priority (1-50000), or auto: a free one taken at deploy time.
   */
  Priority?: number | 'auto';
  /**
   * With Priority auto: FROM-TO. Default: 1-50000.
   */
  PriorityRange?: string;
  /**
   * The port of the app's own listener on the shared ALB (1-65535), or auto: a free one claimed at deploy time.
   */
  ListenerPort?: number | 'auto';
  /**
   * With ListenerPort auto: FROM-TO. Default: 8000-8999.
   */
  PortRange?: string;
  /**
   * Default: HTTPS with CertificateArn, else HTTP.
   */
  Protocol?: 'HTTP' | 'HTTPS';
  /**
   * An ACM certificate: the listener speaks HTTPS (a dedicated ALB also redirects 80 to 443).
   */
  CertificateArn?: string;
  /**
   * The shared ALB's DNS name, for the Url attribute.
   */
  DnsName?: string;
  /**
   * Who may reach the listener. Default: 0.0.0.0/0.
   */
  IngressCidr?: string;
  HealthCheck?: TargetHealthCheck;
  /**
   * Seconds to drain a target (0-3600). Default: 30.
   */
  DeregistrationDelay?: number;
  /**
   * true (one day), or the cookie duration in seconds (1-604800).
   */
  Stickiness?: boolean | number;
}
export interface CreateLoadBalancer {
  /**
   * Default: internet-facing.
   */
  Scheme?: 'internet-facing' | 'internal';
  Subnets?: StringList2;
}
/**
 * The ALB target group's health check.
 */
export interface TargetHealthCheck {
  /**
   * Default: /.
   */
  Path?: string;
  /**
   * HTTP codes that mean healthy (200-499): 200, 200,204 or 200-299. Default: 200-399.
   */
  Matcher?: string | number;
  /**
   * Seconds between checks (5-300).
   */
  Interval?: number;
  /**
   * Seconds to wait (2-120), less than Interval.
   */
  Timeout?: number;
  /**
   * 2-10.
   */
  HealthyThreshold?: number;
  /**
   * 2-10.
   */
  UnhealthyThreshold?: number;
  /**
   * Seconds ECS ignores failing ALB health checks after a task starts. Default: 60.
   */
  GracePeriod?: number;
}
/**
 * Registers the tasks in Cloud Map as Name.Namespace (A records, multivalue). Give Namespace (an existing namespace ID, plus NamespaceName to make DiscoveryName available) or NamespaceName alone (a private DNS namespace created once per template).
 */
export interface Discovery {
  /**
   * A DNS label: letters, digits and -, at most 63.
   */
  Name: string;
  /**
   * An existing Cloud Map namespace ID.
   */
  Namespace?: string;
  /**
   * The namespace's DNS name (a literal).
   */
  NamespaceName?: string;
  /**
   * Seconds (0-2147483647). Default: 10.
   */
  Ttl?: number;
}
/**
 * Target-tracking auto scaling: one policy per metric given (at least one).
 */
export interface Scaling {
  /**
   * 0-5000.
   */
  Min: number;
  /**
   * 1-5000, at least Min.
   */
  Max: number;
  /**
   * Target average CPU (1-100).
   */
  CpuPercent?: number;
  /**
   * Target average memory (1-100).
   */
  MemoryPercent?: number;
  /**
   * Target ALB requests per task (1-1000000); needs a LoadBalancer.
   */
  RequestsPerTarget?: number;
  /**
   * Seconds (0-86400).
   */
  ScaleInCooldown?: number;
  /**
   * Seconds (0-86400).
   */
  ScaleOutCooldown?: number;
}
export interface Deployment {
  /**
   * 0-100. Default: 100.
   */
  MinHealthyPercent?: number;
  /**
   * 100-200. Default: 200.
   */
  MaxPercent?: number;
  /**
   * ECS deployment circuit breaker with rollback. Default: true.
   */
  CircuitBreaker?: boolean;
  Alarms?: StringList3;
  /**
   * Rolling (today's rolling update), or an ECS-native BlueGreen, Canary or Linear deployment with a test route; with LoadTest the gate then runs as a lifecycle hook at POST_TEST_TRAFFIC_SHIFT, before production traffic moves. Default: Rolling.
   */
  Strategy?: 'Rolling' | 'BlueGreen' | 'Canary' | 'Linear';
  /**
   * Minutes both revisions stay up after production traffic moved (BakeTimeInMinutes), 0-1440. Default with a strategy: 15.
   */
  BakeTime?: number;
  Canary?: CanaryDeployment;
  Linear?: LinearDeployment;
  /**
   * Your own Lambda lifecycle hooks (BlueGreen, Canary, Linear).
   */
  Hooks?: DeploymentHook[];
}
/**
 * With Strategy Canary: the share of production traffic moved first, and how long it bakes.
 */
export interface CanaryDeployment {
  /**
   * Percent of production traffic in the canary phase: 0.1-100 in steps of 0.1. Default: 5.
   */
  Percent?: number;
  /**
   * Minutes the canary bakes before the rest moves, 0-1440. Default: 10.
   */
  BakeTime?: number;
}
/**
 * With Strategy Linear: the share of production traffic moved per step, and the wait between steps.
 */
export interface LinearDeployment {
  /**
   * Percent of production traffic per step: 3-100 in steps of 0.1. Default: 10.
   */
  StepPercent?: number;
  /**
   * Minutes between steps, 0-1440. Default: 6.
   */
  StepBakeTime?: number;
}
/**
 * A Lambda function ECS invokes at a deployment stage; it answers SUCCEEDED, FAILED or IN_PROGRESS.
 */
export interface DeploymentHook {
  /**
   * The stage, or a list of stages.
   */
  Stage: LifecycleStage | LifecycleStage[];
  /**
   * The function's ARN (!GetAtt Fn.Arn; !Ref of a function is its name).
   */
  FunctionArn: string;
  /**
   * An object ECS passes to the function as hookDetails.
   */
  Details?: {};
}
/**
 * Weighted failover between the app and a standby, switched by a CloudWatch alarm (provider-backed). Needs a LoadBalancer. Give exactly one of AlarmName or Trigger.
 */
export interface Failover {
  Standby: Standby;
  /**
   * An existing alarm.
   */
  AlarmName?: string;
  Trigger?: Trigger;
  /**
   * Tasks to run when the alarm fires (1-5000). Default: 1.
   */
  StandbyCount?: number;
  /**
   * Seconds to wait for healthy targets (30-3600). Default: 600.
   */
  HealthyTimeout?: number;
  /**
   * Seconds traffic stays on the service after it moved there before it may move back (0-86400). Default: 0.
   */
  MinServiceTime?: number;
  /**
   * The condition under which traffic may move back to the standby: an alarm created like Trigger, in ALARM while the condition holds. Without it, the trigger's OK is enough.
   */
  Recovery?: Trigger;
}
/**
 * The standby named explicitly: exactly one of FunctionArn or TargetGroupArn.
 */
export interface StandbyObject {
  /**
   * A Lambda function (a target group for it is created).
   */
  FunctionArn?: string;
  /**
   * Any existing target group.
   */
  TargetGroupArn?: string;
}
/**
 * A CloudWatch alarm created for the failover.
 */
export interface Trigger {
  Namespace: NonEmptyString;
  MetricName: NonEmptyString;
  Dimensions?: ScalarMap;
  /**
   * Default by metric kind: Sum for counts (Errors, RequestCount, HTTPCode_*), Maximum for gauges (ConcurrentExecutions, UnHealthyHostCount), Average for latencies and utilisation; required for a metric the expansion does not know.
   */
  Statistic?: 'Average' | 'Maximum' | 'Minimum' | 'Sum' | 'SampleCount';
  Threshold: number;
  /**
   * Default: GreaterThanOrEqualToThreshold.
   */
  ComparisonOperator?:
    | 'GreaterThanOrEqualToThreshold'
    | 'GreaterThanThreshold'
    | 'LessThanThreshold'
    | 'LessThanOrEqualToThreshold';
  /**
   * Seconds: 10, 20, 30 or a multiple of 60 (up to 86400). Default: 60.
   */
  Period?: number;
  /**
   * 1-100. Default: 1.
   */
  EvaluationPeriods?: number;
  /**
   * M of the last EvaluationPeriods periods that must breach (1-100, at most EvaluationPeriods). Default: EvaluationPeriods.
   */
  DatapointsToAlarm?: number;
  /**
   * How the alarm counts missing data. Default: notBreaching for Trigger, breaching for Recovery.
   */
  TreatMissingData?: "breaching" | "notBreaching" | "ignore" | "missing";
}
/**
 * Map of dimension name to value.
 */
export interface ScalarMap {
  /**
   * This interface was referenced by `ScalarMap`'s JSON-Schema definition
   * via the `patternProperty` "^.+$".
   *
   * This interface was referenced by `ScalarMap1`'s JSON-Schema definition
   * via the `patternProperty` "^.+$".
   */
  [k: string]: string | number | boolean;
}
/**
 * A load test after every deployment (provider-backed); a missed threshold fails the stack operation so CloudFormation rolls back. Give exactly one of Rate or Concurrency.
 */
export interface LoadTest {
  /**
   * Default: the app's URL.
   */
  Url?: string;
  /**
   * Default: /.
   */
  Path?: string;
  /**
   * Requests per second, open model (1-100000).
   */
  Rate?: number;
  /**
   * Parallel clients, closed model (1-10000).
   */
  Concurrency?: number;
  /**
   * Seconds (1-600). Default: 30.
   */
  Duration?: number;
  /**
   * Seconds to wait for the first good answer (0-600). Default: 60.
   */
  WarmUp?: number;
  /**
   * Parallel Lambda invocations (1-50). Default: 1.
   */
  Workers?: number;
  /**
   * Default: GET.
   */
  Method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
  Headers?: ScalarMap1;
  Body?: string;
  /**
   * 100-599. Default: 200.
   */
  ExpectedStatus?: number;
  /**
   * Per request (1-60000). Default: 5000.
   */
  TimeoutMs?: number;
  Thresholds?: Thresholds;
  /**
   * The name to present (TLS SNI and Host) while connecting to the ALB, when its certificate covers your domain, not the ALB's own name. A DNS name, no scheme or port.
   */
  Host?: string;
  /**
   * Where the load starts: internet (the provider Lambda) or vpc (worker functions in the App's subnets, admitted by the ALB's security group). Default: vpc behind an internal ALB the App creates, else internet.
   */
  From?: 'internet' | 'vpc';
}
/**
 * Map of header name to value.
 */
export interface ScalarMap1 {
  /**
   * This interface was referenced by `ScalarMap`'s JSON-Schema definition
   * via the `patternProperty` "^.+$".
   *
   * This interface was referenced by `ScalarMap1`'s JSON-Schema definition
   * via the `patternProperty` "^.+$".
   */
  [k: string]: string | number | boolean;
}
/**
 * The gate fails the deployment when one is missed.
 */
export interface Thresholds {
  /**
   * Milliseconds (1-600000).
   */
  P50Ms?: number;
  /**
   * Milliseconds (1-600000).
   */
  P90Ms?: number;
  /**
   * Milliseconds (1-600000).
   */
  P99Ms?: number;
  /**
   * A fraction (0-1).
   */
  MaxErrorRate?: number;
  /**
   * Requests per second achieved (0-10000000).
   */
  MinRps?: number;
}

/** The attributes of a Fargate::App (`Fn::GetAtt`). */
export type FargateAppAttribute =
  | 'Url'
  | 'ServiceName'
  | 'ServiceArn'
  | 'ClusterName'
  | 'TaskDefinitionArn'
  | 'TaskRoleArn'
  | 'ExecutionRoleArn'
  | 'TargetGroupArn'
  | 'ListenerArn'
  | 'RuleArn'
  | 'ListenerPort'
  | 'LoadBalancerDnsName'
  | 'SecurityGroupId'
  | 'LogGroupName'
  | 'DiscoveryName'
  | 'DiscoveryServiceArn';
