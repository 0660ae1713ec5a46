// Generated from schema/Fargate-App.json by tests/cdk/gen-props.mjs: do not edit.
// make test regenerates it and fails when this file differs:
//   node tests/cdk/gen-props.mjs > cfn/cdk/src/app-properties.ts
import { CfnResource } from 'aws-cdk-lib';

/**
 * One Fargate service with everything it needs (roles, log group, security group, task definition, ECS service, and where asked an ALB or a listener on a shared one, Cloud Map registration, target-tracking scaling, weighted failover and a load-test gate). Expanded by the FargateApp macro: the template needs `Transform: FargateApp`. Intrinsic functions are accepted wherever a value is.
 */
export interface FargateAppProperties {
  /**
   * The container image to run.
   */
  image?: string;
  /**
   * The container port; the ALB forwards here (1-65535). Default: 80.
   */
  port?: number;
  /**
   * More container ports, reachable by Network.AllowFrom peers only.
   */
  extraPorts?: number[];
  /**
   * CPU units. Default: 256.
   */
  cpu?: 256 | 512 | 1024 | 2048 | 4096 | 8192 | 16384;
  /**
   * MiB, valid with Cpu: 256: 512, 1024, 2048; 512: 1024-4096; 1024: 2048-8192; 2048: 4096-16384 (steps of 1024); 4096: 8192-30720 (1024); 8192: 16384-61440 (4096); 16384: 32768-122880 (8192). Default: the lowest valid with Cpu.
   */
  memory?:
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
  architecture?: 'X86_64' | 'ARM64';
  /**
   * The container command. Default: the image's.
   */
  command?: string | string[];
  /**
   * The container entry point. Default: the image's.
   */
  entryPoint?: string | string[];
  /**
   * Map of variable name to value (numbers and booleans become strings).
   */
  environment?: {
    /**
     * This interface was referenced by `undefined`'s JSON-Schema definition
     * via the `patternProperty` "^[A-Za-z_][A-Za-z0-9_]*$".
     */
    [k: string]: string | number | boolean;
  };
  /**
   * Map of variable name to an SSM parameter name (/prod/db), SSM parameter ARN or Secrets Manager secret ARN (a JSON-key suffix is allowed). The execution role may read exactly those.
   */
  secrets?: {
    /**
     * This interface was referenced by `undefined`'s JSON-Schema definition
     * via the `patternProperty` "^[A-Za-z_][A-Za-z0-9_]*$".
     */
    [k: string]: string;
  };
  /**
   * ARNs of the customer-managed KMS keys the Secrets are encrypted with (arn:aws:kms:REGION:ACCOUNT:key/ID): the execution role may kms:Decrypt with exactly those.
   *
   * @minItems 1
   */
  secretsKmsKeys?: string[];
  healthCheck?: FargateAppContainerHealthCheck;
  /**
   * The base of the names of the App's resources (seed 004: !Sub my-project-${Branch}): target group <Name>-tg-<hash> (with a Strategy the second <Name>-tg2-<hash>; the hash is of Port and VpcId, so a change that replaces the target groups renames them), service <Name>-service, task family <Name>, log group /fargate-app/<Name>, a dedicated ALB <Name>-alb (<Name>-int-alb when internal). Lower-cased, other characters than a-z0-9 become hyphens, cut with a hash of the whole name past a limit. A literal, or Ref or Fn::Sub of parameters (known when the macro runs). Absent: CloudFormation generates the names.
   */
  name?: string;
  /**
   * A task definition revision that exists (seed 004: a currently deployed one), as family:revision or its ARN (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION), often a parameter. The App then registers no task definition, roles or log group; Image, Cpu, Memory, Architecture, Command, EntryPoint, Environment, Secrets, SecretsKmsKeys, HealthCheck, LogRetentionDays, TaskPolicies, ExecuteCommand, ExtraPorts and ServiceConnect are refused beside it, and with a LoadBalancer ContainerName, Port and LoadBalancer.HealthCheck.Path are required.
   */
  taskDefinition?: string;
  /**
   * Seed 004's notifications: an SNS topic receives '<stack> <App> <status>: <Url>' when the stack is created (CREATE_COMPLETE, after the service is stable) and when its deletion starts (DELETE_IN_PROGRESS), through an EventBridge rule on the stack's own status events. TopicArn: a topic that exists (its policy must let events.amazonaws.com publish). CreateTopic: true: a topic of the App's own, with a policy for this rule only, and an optional Email subscription. Needs a LoadBalancer whose URL is known.
   */
  notify?: {
    /**
     * A topic that exists.
     */
    topicArn?: string;
    /**
     * Create the App's own topic.
     */
    createTopic?: true;
    /**
     * With CreateTopic: an email address subscribed to the topic (SNS sends a confirmation first).
     */
    email?: string;
  };
  /**
   * Seed 004's deployment Lambda (migrations, data loading), with any strategy, Rolling included: the provider invokes the function once after the service is created and stable (and after the gate), with {RequestType, StackId, LogicalResourceId, Cluster, ServiceName, Url, Payload}. A function error fails the stack operation with the function's message; a repeated request never invokes it twice. The function must carry the tag fargate-app:post-create=true (the provider may invoke only such functions).
   */
  postCreate?: {
    /**
     * The function (name, ARN, or ARN with a version or alias).
     */
    functionArn: string;
    /**
     * Passed to the function as Payload, as written.
     */
    payload?: {
      [k: string]: unknown;
    };
    /**
     * Also run on each stack update that deploys a new task definition (not during a rollback). Default: false.
     */
    runOnUpdate?: boolean;
  };
  /**
   * With TaskDefinition and LoadBalancer: the name of the given revision's container the load balancer sends to (Port is its containerPort).
   */
  containerName?: string;
  /**
   * Days CloudWatch Logs keeps the log group. Default: 30.
   */
  logRetentionDays?:
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
  taskPolicies?: FargateAppPolicyStatement[];
  /**
   * ECS Exec (adds the SSM channel permissions to the task role). Default: false.
   */
  executeCommand?: boolean;
  /**
   * Map of tag key to value; on every resource that takes tags, propagated to tasks.
   */
  tags?: {
    /**
     * This interface was referenced by `undefined`'s JSON-Schema definition
     * via the `patternProperty` "^(?!aws:).{1,128}$".
     */
    [k: string]: string | number | boolean;
  };
  /**
   * An ECS cluster name or ARN. Default: one FargateAppCluster per template.
   */
  cluster?: string;
  /**
   * Tasks (0-5000). Default: Scaling.Min, else 0 with Failover, else 1. Dropped (with a warning) beside Scaling.
   */
  desiredCount?: number;
  network: FargateAppNetwork;
  /**
   * Fargate Spot (X86_64, or ARM64 on platform 1.4.0+): true (all Spot) or the capacity provider weights.
   */
  spot?: boolean | FargateAppSpotWeights;
  loadBalancer?: FargateAppLoadBalancer;
  discovery?: FargateAppDiscovery;
  scaling?: FargateAppScaling;
  deployment?: FargateAppDeployment;
  failover?: FargateAppFailover;
  loadTest?: FargateAppLoadTest;
  scalingCheck?: FargateAppScalingCheck;
  serviceConnect?: FargateAppServiceConnect;
  domain?: FargateAppDomain;
}
/**
 * The container's own health check (ECS runs it inside the task).
 */
export interface FargateAppContainerHealthCheck {
  /**
   * A string runs with CMD-SHELL; a list starts with CMD or CMD-SHELL.
   */
  command: string | string[];
  /**
   * Seconds between checks (5-300). A number of seconds, or with a unit: 90s, 2m, 1h.
   */
  interval?: number | string;
  /**
   * Seconds to wait for a check (2-60), less than Interval. A number of seconds, or with a unit: 90s, 2m, 1h.
   */
  timeout?: number | string;
  /**
   * Failures before the container is unhealthy (1-10).
   */
  retries?: number;
  /**
   * Grace period in seconds before failures count (0-300). A number of seconds, or with a unit: 90s, 2m, 1h.
   */
  startPeriod?: number | string;
}
/**
 * An IAM policy statement of an identity policy (no Principal).
 */
export interface FargateAppPolicyStatement {
  sid?: string;
  effect: 'Allow' | 'Deny';
  action?: string | string[];
  notAction?: string | string[];
  resource?: string | string[];
  notResource?: string | string[];
  condition?: {};
}
export interface FargateAppNetwork {
  /**
   * The VPC of the app's security group.
   */
  vpcId: string;
  /**
   * The subnets the tasks run in.
   *
   * @minItems 1
   */
  subnets: string[];
  /**
   * Give each task a public IP (needed in public subnets without a NAT). Default: false.
   */
  assignPublicIp?: boolean;
  /**
   * More security groups for the tasks.
   */
  securityGroups?: string[];
  /**
   * Who may reach every port of the app: other Fargate::App resources of the template (logical IDs), security group IDs (sg-...) or IPv4 CIDR blocks.
   */
  allowFrom?: string[];
}
export interface FargateAppSpotWeights {
  /**
   * Tasks always on demand (0-1000). Default: 0.
   */
  onDemandBase?: number;
  /**
   * Weight of on-demand capacity (0-1000). Default: 0.
   */
  onDemandWeight?: number;
  /**
   * Weight of Spot capacity (0-1000). Default: 1.
   */
  spotWeight?: number;
}
/**
 * Routing through an ALB. Exactly one of: Create (a dedicated ALB); Arn with ListenerPort (a listener of the app's own on a shared ALB); Listener with Path and/or Host and Priority (a rule on an existing listener). Absent: an internal worker with no ALB.
 */
export interface FargateAppLoadBalancer {
  /**
   * A dedicated ALB with its own security group: true, or { Scheme, Subnets }.
   */
  create?: true | FargateAppCreateLoadBalancer;
  /**
   * The shared ALB's ARN.
   */
  arn?: string;
  /**
   * The shared ALB's security group (required with Arn or Listener).
   */
  securityGroup?: string;
  /**
   * An existing listener's ARN: the app gets a rule on it.
   */
  listener?: string;
  /**
   * Path patterns of the rule, each starting with /.
   *
   * @maxItems 3
   */
  path?: string | string[];
  /**
   * Host headers of the rule.
   *
   * @maxItems 3
   */
  host?: string | string[];
  /**
   * The rule's priority (1-50000), or auto: a free one taken at deploy time.
   */
  priority?: number | 'auto';
  /**
   * With Priority auto: FROM-TO. Default: 1-50000.
   */
  priorityRange?: string;
  /**
   * The port of the app's own listener on the shared ALB (1-65535), or auto: a free one claimed at deploy time.
   */
  listenerPort?: number | 'auto';
  /**
   * With ListenerPort auto: FROM-TO. Default: 8000-8999.
   */
  portRange?: string;
  /**
   * With ListenerPort auto: Lowest (the lowest free port) or LeastRecentlyUsed (ports freed lately go last, recorded in a tag of the ALB, so a deleted stack's port is not handed to the next at once). Default: Lowest.
   */
  portChoice?: 'Lowest' | 'LeastRecentlyUsed';
  /**
   * Default: HTTPS with CertificateArn, else HTTP.
   */
  protocol?: 'HTTP' | 'HTTPS';
  /**
   * An ACM certificate: the listener speaks HTTPS (a dedicated ALB also redirects 80 to 443).
   */
  certificateArn?: string;
  /**
   * The shared ALB's DNS name, for the Url attribute.
   */
  dnsName?: string;
  /**
   * Who may reach the listener. Default: 0.0.0.0/0.
   */
  ingressCidr?: string;
  healthCheck?: FargateAppTargetHealthCheck;
  /**
   * Seconds to drain a target (0-3600). Default: 30. A number of seconds, or with a unit: 90s, 2m, 1h.
   */
  deregistrationDelay?: number | string;
  /**
   * true (one day), or the cookie duration in seconds (1-604800).
   */
  stickiness?: boolean | number;
}
export interface FargateAppCreateLoadBalancer {
  /**
   * Default: internet-facing.
   */
  scheme?: 'internet-facing' | 'internal';
  /**
   * The ALB's subnets, in at least two Availability Zones. Default: Network.Subnets.
   *
   * @minItems 2
   */
  subnets?: string[];
}
/**
 * The ALB target group's health check.
 */
export interface FargateAppTargetHealthCheck {
  /**
   * Default: /.
   */
  path?: string;
  /**
   * HTTP codes that mean healthy (200-499): 200, 200,204 or 200-299. Default: 200-399.
   */
  matcher?: string | number;
  /**
   * Seconds between checks (5-300). A number of seconds, or with a unit: 90s, 2m, 1h.
   */
  interval?: number | string;
  /**
   * Seconds to wait (2-120), less than Interval. A number of seconds, or with a unit: 90s, 2m, 1h.
   */
  timeout?: number | string;
  /**
   * 2-10.
   */
  healthyThreshold?: number;
  /**
   * 2-10.
   */
  unhealthyThreshold?: number;
  /**
   * Seconds ECS ignores failing ALB health checks after a task starts. Default: 60. A number of seconds, or with a unit: 90s, 2m, 1h.
   */
  gracePeriod?: number | string;
}
/**
 * Registers the tasks in Cloud Map as Name.Namespace (A records, multivalue). Give Namespace (an existing namespace ID, plus NamespaceName to make DiscoveryName available) or NamespaceName alone (a private DNS namespace created once per template).
 */
export interface FargateAppDiscovery {
  /**
   * A DNS label: letters, digits and -, at most 63.
   */
  name: string;
  /**
   * An existing Cloud Map namespace ID.
   */
  namespace?: string;
  /**
   * The namespace's DNS name (a literal).
   */
  namespaceName?: string;
  /**
   * Seconds (0-2147483647). Default: 10.
   */
  ttl?: number;
}
/**
 * Target-tracking auto scaling: one policy per metric given (at least one).
 */
export interface FargateAppScaling {
  /**
   * 0-5000.
   */
  min: number;
  /**
   * 1-5000, at least Min.
   */
  max: number;
  /**
   * Target average CPU (1-100).
   */
  cpuPercent?: number;
  /**
   * Target average memory (1-100).
   */
  memoryPercent?: number;
  /**
   * Target ALB requests per task (1-1000000); needs a LoadBalancer.
   */
  requestsPerTarget?: number;
  /**
   * Seconds (0-86400).
   */
  scaleInCooldown?: number;
  /**
   * Seconds (0-86400).
   */
  scaleOutCooldown?: number;
}
export interface FargateAppDeployment {
  /**
   * 0-100. Default: 100.
   */
  minHealthyPercent?: number;
  /**
   * 100-200. Default: 200.
   */
  maxPercent?: number;
  /**
   * ECS deployment circuit breaker with rollback. Default: true.
   */
  circuitBreaker?: boolean;
  /**
   * CloudWatch alarm names that roll a deployment back.
   *
   * @minItems 1
   */
  alarms?: string[];
  /**
   * Rolling (today's rolling update), or an ECS-native BlueGreen, Canary or Linear deployment with a test route; with LoadTest the gate then runs as a lifecycle hook at POST_TEST_TRAFFIC_SHIFT, before production traffic moves. Canary and Linear need a LoadBalancer or a ServiceConnect that serves. A literal, or Ref of a parameter (its value when the macro runs). Default: Rolling.
   */
  strategy?: 'Rolling' | 'BlueGreen' | 'Canary' | 'Linear';
  /**
   * Minutes both revisions stay up after production traffic moved (BakeTimeInMinutes), 0-1440. Default with a strategy: 15.
   */
  bakeTime?: number;
  canary?: FargateAppCanaryDeployment;
  linear?: FargateAppLinearDeployment;
  /**
   * Your own Lambda lifecycle hooks (BlueGreen, Canary, Linear).
   */
  hooks?: FargateAppDeploymentHook[];
}
/**
 * With Strategy Canary: the share of production traffic moved first, and how long it bakes.
 */
export interface FargateAppCanaryDeployment {
  /**
   * Percent of production traffic in the canary phase: 0.1-100 in steps of 0.1. Default: 5.
   */
  percent?: number;
  /**
   * Minutes the canary bakes before the rest moves, 0-1440. Default: 10.
   */
  bakeTime?: number;
}
/**
 * With Strategy Linear: the share of production traffic moved per step, and the wait between steps.
 */
export interface FargateAppLinearDeployment {
  /**
   * Percent of production traffic per step: 3-100 in steps of 0.1. Default: 10.
   */
  stepPercent?: number;
  /**
   * Minutes between steps, 0-1440. Default: 6.
   */
  stepBakeTime?: number;
}
/**
 * A Lambda function ECS invokes at a deployment stage; it answers SUCCEEDED, FAILED or IN_PROGRESS.
 */
export interface FargateAppDeploymentHook {
  /**
   * The stage, or a list of stages.
   */
  stage:
    | (
        | 'RECONCILE_SERVICE'
        | 'PRE_SCALE_UP'
        | 'POST_SCALE_UP'
        | 'TEST_TRAFFIC_SHIFT'
        | 'POST_TEST_TRAFFIC_SHIFT'
        | 'PRE_PRODUCTION_TRAFFIC_SHIFT'
        | 'PRODUCTION_TRAFFIC_SHIFT'
        | 'POST_PRODUCTION_TRAFFIC_SHIFT'
      )
    | (
        | 'RECONCILE_SERVICE'
        | 'PRE_SCALE_UP'
        | 'POST_SCALE_UP'
        | 'TEST_TRAFFIC_SHIFT'
        | 'POST_TEST_TRAFFIC_SHIFT'
        | 'PRE_PRODUCTION_TRAFFIC_SHIFT'
        | 'PRODUCTION_TRAFFIC_SHIFT'
        | 'POST_PRODUCTION_TRAFFIC_SHIFT'
      )[];
  /**
   * The function's ARN (!GetAtt Fn.Arn; !Ref of a function is its name).
   */
  functionArn: string;
  /**
   * An object ECS passes to the function as hookDetails.
   */
  details?: {};
}
/**
 * Weighted failover between the app and a standby, switched by a CloudWatch alarm (provider-backed). Needs a LoadBalancer. Give exactly one of AlarmName or Trigger.
 */
export interface FargateAppFailover {
  /**
   * What serves while the alarm is OK: { FunctionArn } or { TargetGroupArn }, or a plain value whose kind is inferred (a literal Lambda function or target-group ARN, !GetAtt of a function's Arn, !Ref of a target group of the template; a parameter needs the object form).
   */
  standby: FargateAppStandbyObject | string;
  /**
   * An existing alarm.
   */
  alarmName?: string;
  trigger?: FargateAppTrigger;
  /**
   * Tasks to run when the alarm fires (1-5000). Default: 1.
   */
  standbyCount?: number;
  /**
   * Seconds to wait for healthy targets (30-3600). Default: 600. A number of seconds, or with a unit: 90s, 2m, 1h.
   */
  healthyTimeout?: number | string;
  /**
   * Seconds traffic stays on the service after it moved there before it may move back (0-86400). Default: 0. A number of seconds, or with a unit: 90s, 10m, 1h.
   */
  minServiceTime?: number | string;
  recovery?: FargateAppTrigger1;
}
/**
 * The standby named explicitly: exactly one of FunctionArn or TargetGroupArn.
 */
export interface FargateAppStandbyObject {
  /**
   * A Lambda function (a target group for it is created).
   */
  functionArn?: string;
  /**
   * Any existing target group.
   */
  targetGroupArn?: string;
}
/**
 * A CloudWatch alarm created for the failover.
 */
export interface FargateAppTrigger {
  namespace: string;
  metricName: string;
  dimensions?: FargateAppScalarMap;
  /**
   * Default by metric kind: Sum for counts (Errors, RequestCount, HTTPCode_*), Maximum for gauges (ConcurrentExecutions, UnHealthyHostCount), Average for latencies and utilisation; required for a metric the expansion does not know.
   */
  statistic?: 'Average' | 'Maximum' | 'Minimum' | 'Sum' | 'SampleCount';
  threshold: number;
  /**
   * Default: GreaterThanOrEqualToThreshold.
   */
  comparisonOperator?:
    | 'GreaterThanOrEqualToThreshold'
    | 'GreaterThanThreshold'
    | 'LessThanThreshold'
    | 'LessThanOrEqualToThreshold';
  /**
   * Seconds: 10, 20, 30 or a multiple of 60 (up to 86400). Default: 60. A number of seconds, or with a unit: 90s, 2m, 1h.
   */
  period?: number | string;
  /**
   * 1-100. Default: 1.
   */
  evaluationPeriods?: number;
  /**
   * M of the last EvaluationPeriods periods that must breach (1-100, at most EvaluationPeriods). Default: EvaluationPeriods.
   */
  datapointsToAlarm?: number;
  /**
   * How the alarm counts missing data. Default: notBreaching for Trigger, breaching for Recovery.
   */
  treatMissingData?: 'breaching' | 'notBreaching' | 'ignore' | 'missing';
}
/**
 * Map of dimension name to value.
 */
export interface FargateAppScalarMap {
  /**
   * This interface was referenced by `FargateAppScalarMap`'s JSON-Schema definition
   * via the `patternProperty` "^.+$".
   *
   * This interface was referenced by `FargateAppScalarMap1`'s JSON-Schema definition
   * via the `patternProperty` "^.+$".
   */
  [k: string]: string | number | boolean;
}
/**
 * A CloudWatch alarm created for the failover.
 */
export interface FargateAppTrigger1 {
  namespace: string;
  metricName: string;
  dimensions?: FargateAppScalarMap;
  /**
   * Default by metric kind: Sum for counts (Errors, RequestCount, HTTPCode_*), Maximum for gauges (ConcurrentExecutions, UnHealthyHostCount), Average for latencies and utilisation; required for a metric the expansion does not know.
   */
  statistic?: 'Average' | 'Maximum' | 'Minimum' | 'Sum' | 'SampleCount';
  threshold: number;
  /**
   * Default: GreaterThanOrEqualToThreshold.
   */
  comparisonOperator?:
    | 'GreaterThanOrEqualToThreshold'
    | 'GreaterThanThreshold'
    | 'LessThanThreshold'
    | 'LessThanOrEqualToThreshold';
  /**
   * Seconds: 10, 20, 30 or a multiple of 60 (up to 86400). Default: 60. A number of seconds, or with a unit: 90s, 2m, 1h.
   */
  period?: number | string;
  /**
   * 1-100. Default: 1.
   */
  evaluationPeriods?: number;
  /**
   * M of the last EvaluationPeriods periods that must breach (1-100, at most EvaluationPeriods). Default: EvaluationPeriods.
   */
  datapointsToAlarm?: number;
  /**
   * How the alarm counts missing data. Default: notBreaching for Trigger, breaching for Recovery.
   */
  treatMissingData?: 'breaching' | 'notBreaching' | 'ignore' | 'missing';
}
/**
 * A load test after every deployment (provider-backed); a missed threshold fails the stack operation so CloudFormation rolls back. Give exactly one of Rate or Concurrency.
 */
export interface FargateAppLoadTest {
  /**
   * Default: the app's URL.
   */
  url?: string;
  /**
   * Default: /.
   */
  path?: string;
  /**
   * Requests per second, open model (1-100000).
   */
  rate?: number;
  /**
   * Parallel clients, closed model (1-10000).
   */
  concurrency?: number;
  /**
   * Seconds (1-600). Default: 30. A number of seconds, or with a unit: 90s, 2m, 1h.
   */
  duration?: number | string;
  /**
   * Seconds to wait for the first good answer (0-600). Default: 60. A number of seconds, or with a unit: 90s, 2m, 1h.
   */
  warmUp?: number | string;
  /**
   * Parallel Lambda invocations (1-50). Default: 1.
   */
  workers?: number;
  /**
   * Default: GET.
   */
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
  headers?: FargateAppScalarMap1;
  body?: string;
  /**
   * 100-599. Default: 200.
   */
  expectedStatus?: number;
  /**
   * Per request (1-60000). Default: 5000.
   */
  timeoutMs?: number;
  thresholds?: FargateAppThresholds;
  /**
   * The name to present (TLS SNI and Host) while connecting to the ALB, when its certificate covers your domain, not the ALB's own name. A DNS name, no scheme or port.
   */
  host?: string;
  /**
   * Where the load starts: internet (the provider Lambda) or vpc (worker functions in the App's subnets, admitted by the ALB's security group). Default: vpc behind an internal ALB the App creates, else internet.
   */
  from?: 'internet' | 'vpc';
}
/**
 * Map of header name to value.
 */
export interface FargateAppScalarMap1 {
  /**
   * This interface was referenced by `FargateAppScalarMap`'s JSON-Schema definition
   * via the `patternProperty` "^.+$".
   *
   * This interface was referenced by `FargateAppScalarMap1`'s JSON-Schema definition
   * via the `patternProperty` "^.+$".
   */
  [k: string]: string | number | boolean;
}
/**
 * The gate fails the deployment when one is missed.
 */
export interface FargateAppThresholds {
  /**
   * Milliseconds (1-600000).
   */
  p50Ms?: number;
  /**
   * Milliseconds (1-600000).
   */
  p90Ms?: number;
  /**
   * Milliseconds (1-600000).
   */
  p99Ms?: number;
  /**
   * A fraction (0-1).
   */
  maxErrorRate?: number;
  /**
   * Requests per second achieved (0-10000000).
   */
  minRps?: number;
}
/**
 * The seed's stress test as a check (provider-backed), once after creation or on demand, never on every deployment: load Path at Rate for Duration, and fail the stack operation unless target tracking raised the service's desired count to ExpectDesired within Within of the load's start (and, with ReturnWithin, back to Scaling.Min after it). Needs Scaling and a LoadBalancer. Within plus ReturnWithin at most 840 s (one provider invocation).
 */
export interface FargateAppScalingCheck {
  /**
   * The path loaded (absolute), e.g. a CPU-bound route.
   */
  path: string;
  /**
   * Requests per second, open model (1-100000).
   */
  rate: number;
  /**
   * Seconds of load (240-840): the high alarm's 3 one-minute datapoints and one more. A number of seconds, or with a unit: 5m.
   */
  duration: number | string;
  /**
   * The desired count to reach: above Scaling.Min, at most Scaling.Max (a number, or a Ref to a parameter: its value is checked).
   */
  expectDesired: number;
  /**
   * Seconds from the load's start (240-840, at least Duration). Default: Duration + 120, at most 840.
   */
  within?: number | string;
  /**
   * Seconds after the load for the desired count to come back to Scaling.Min (1-600; Within + ReturnWithin at most 840).
   */
  returnWithin?: number | string;
  /**
   * OnCreate: once, when the App is created. OnChange: also on every update that changes RunToken. Default: OnCreate.
   */
  run?: 'OnCreate' | 'OnChange';
  /**
   * With Run: OnChange, a new value runs the check again.
   */
  runToken?: string;
}
/**
 * ECS Service Connect: peers of the namespace call the App by its client alias (http://DnsName:Port) through the proxy ECS adds to each task. Give Namespace (an existing namespace, by name or ARN, or !Ref of a namespace of this template) or NamespaceName (an HTTP namespace created once per template; the private DNS namespace of Discovery.NamespaceName when it has that name).
 */
export interface FargateAppServiceConnect {
  /**
   * An existing Cloud Map namespace: its name or ARN, or !Ref of a namespace of this template.
   */
  namespace?: string;
  /**
   * A namespace created with the stack (a literal DNS name).
   */
  namespaceName?: string;
  /**
   * client-and-server (serves its port and calls peers) or client-only. Default: client-and-server.
   */
  mode?: 'client-and-server' | 'client-only';
  /**
   * The name of the App's port mapping. Default: the App's logical ID in lowercase.
   */
  portName?: string;
  /**
   * The port mapping's application protocol.
   */
  appProtocol?: 'http' | 'http2' | 'grpc';
  /**
   * The Cloud Map service ECS creates. Default: PortName.
   */
  discoveryName?: string;
  /**
   * The name and port clients call (at most 1). Default: the App's Port, under DiscoveryName.Namespace.
   *
   * @maxItems 1
   */
  clientAliases?: {
    /**
     * Lowercase letters, digits, _, - and ., at most 127.
     */
    dnsName?: string;
    /**
     * 1-65535.
     */
    port: number;
  }[];
  /**
   * Send the Service Connect proxy's logs to the App's log group. Default: false.
   */
  logs?: boolean;
}
/**
 * A Route 53 alias record (A) from Name to the App's ALB; the App's Url and the gate then use Name.
 */
export interface FargateAppDomain {
  /**
   * The domain name (at least two labels).
   */
  name: string;
  /**
   * The Route 53 hosted zone of Name.
   */
  hostedZoneId: string;
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
  | 'ServiceConnectName'
  | 'CanonicalHostedZoneID'
  | 'DiscoveryServiceArn';

/** Where property names are (camelCase to PascalCase at synth) and where the user's own keys are. */
export interface PropertyShape {
  /** Named properties: camelCase name to [PascalCase name, shape of the value]. */
  readonly p?: { readonly [camel: string]: readonly [string, PropertyShape?] };
  /** A map of the user's keys (kept as given): the shape of its values. */
  readonly v?: PropertyShape;
  /** A list: the shape of its items. */
  readonly i?: PropertyShape;
}

export const APP_PROPERTY_SHAPE: PropertyShape = {"p":{"image":["Image"],"port":["Port"],"extraPorts":["ExtraPorts"],"cpu":["Cpu"],"memory":["Memory"],"architecture":["Architecture"],"command":["Command"],"entryPoint":["EntryPoint"],"environment":["Environment"],"secrets":["Secrets"],"secretsKmsKeys":["SecretsKmsKeys"],"healthCheck":["HealthCheck",{"p":{"command":["Command"],"interval":["Interval"],"timeout":["Timeout"],"retries":["Retries"],"startPeriod":["StartPeriod"]}}],"name":["Name"],"taskDefinition":["TaskDefinition"],"notify":["Notify",{"p":{"topicArn":["TopicArn"],"createTopic":["CreateTopic"],"email":["Email"]}}],"postCreate":["PostCreate",{"p":{"functionArn":["FunctionArn"],"payload":["Payload"],"runOnUpdate":["RunOnUpdate"]}}],"containerName":["ContainerName"],"logRetentionDays":["LogRetentionDays"],"taskPolicies":["TaskPolicies",{"i":{"p":{"sid":["Sid"],"effect":["Effect"],"action":["Action"],"notAction":["NotAction"],"resource":["Resource"],"notResource":["NotResource"],"condition":["Condition"]}}}],"executeCommand":["ExecuteCommand"],"tags":["Tags"],"cluster":["Cluster"],"desiredCount":["DesiredCount"],"network":["Network",{"p":{"vpcId":["VpcId"],"subnets":["Subnets"],"assignPublicIp":["AssignPublicIp"],"securityGroups":["SecurityGroups"],"allowFrom":["AllowFrom"]}}],"spot":["Spot",{"p":{"onDemandBase":["OnDemandBase"],"onDemandWeight":["OnDemandWeight"],"spotWeight":["SpotWeight"]}}],"loadBalancer":["LoadBalancer",{"p":{"create":["Create",{"p":{"scheme":["Scheme"],"subnets":["Subnets"]}}],"arn":["Arn"],"securityGroup":["SecurityGroup"],"listener":["Listener"],"path":["Path"],"host":["Host"],"priority":["Priority"],"priorityRange":["PriorityRange"],"listenerPort":["ListenerPort"],"portRange":["PortRange"],"portChoice":["PortChoice"],"protocol":["Protocol"],"certificateArn":["CertificateArn"],"dnsName":["DnsName"],"ingressCidr":["IngressCidr"],"healthCheck":["HealthCheck",{"p":{"path":["Path"],"matcher":["Matcher"],"interval":["Interval"],"timeout":["Timeout"],"healthyThreshold":["HealthyThreshold"],"unhealthyThreshold":["UnhealthyThreshold"],"gracePeriod":["GracePeriod"]}}],"deregistrationDelay":["DeregistrationDelay"],"stickiness":["Stickiness"]}}],"discovery":["Discovery",{"p":{"name":["Name"],"namespace":["Namespace"],"namespaceName":["NamespaceName"],"ttl":["Ttl"]}}],"scaling":["Scaling",{"p":{"min":["Min"],"max":["Max"],"cpuPercent":["CpuPercent"],"memoryPercent":["MemoryPercent"],"requestsPerTarget":["RequestsPerTarget"],"scaleInCooldown":["ScaleInCooldown"],"scaleOutCooldown":["ScaleOutCooldown"]}}],"deployment":["Deployment",{"p":{"minHealthyPercent":["MinHealthyPercent"],"maxPercent":["MaxPercent"],"circuitBreaker":["CircuitBreaker"],"alarms":["Alarms"],"strategy":["Strategy"],"bakeTime":["BakeTime"],"canary":["Canary",{"p":{"percent":["Percent"],"bakeTime":["BakeTime"]}}],"linear":["Linear",{"p":{"stepPercent":["StepPercent"],"stepBakeTime":["StepBakeTime"]}}],"hooks":["Hooks",{"i":{"p":{"stage":["Stage"],"functionArn":["FunctionArn"],"details":["Details"]}}}]}}],"failover":["Failover",{"p":{"standby":["Standby",{"p":{"functionArn":["FunctionArn"],"targetGroupArn":["TargetGroupArn"]}}],"alarmName":["AlarmName"],"trigger":["Trigger",{"p":{"namespace":["Namespace"],"metricName":["MetricName"],"dimensions":["Dimensions"],"statistic":["Statistic"],"threshold":["Threshold"],"comparisonOperator":["ComparisonOperator"],"period":["Period"],"evaluationPeriods":["EvaluationPeriods"],"datapointsToAlarm":["DatapointsToAlarm"],"treatMissingData":["TreatMissingData"]}}],"standbyCount":["StandbyCount"],"healthyTimeout":["HealthyTimeout"],"minServiceTime":["MinServiceTime"],"recovery":["Recovery",{"p":{"namespace":["Namespace"],"metricName":["MetricName"],"dimensions":["Dimensions"],"statistic":["Statistic"],"threshold":["Threshold"],"comparisonOperator":["ComparisonOperator"],"period":["Period"],"evaluationPeriods":["EvaluationPeriods"],"datapointsToAlarm":["DatapointsToAlarm"],"treatMissingData":["TreatMissingData"]}}]}}],"loadTest":["LoadTest",{"p":{"url":["Url"],"path":["Path"],"rate":["Rate"],"concurrency":["Concurrency"],"duration":["Duration"],"warmUp":["WarmUp"],"workers":["Workers"],"method":["Method"],"headers":["Headers"],"body":["Body"],"expectedStatus":["ExpectedStatus"],"timeoutMs":["TimeoutMs"],"thresholds":["Thresholds",{"p":{"p50Ms":["P50Ms"],"p90Ms":["P90Ms"],"p99Ms":["P99Ms"],"maxErrorRate":["MaxErrorRate"],"minRps":["MinRps"]}}],"host":["Host"],"from":["From"]}}],"scalingCheck":["ScalingCheck",{"p":{"path":["Path"],"rate":["Rate"],"duration":["Duration"],"expectDesired":["ExpectDesired"],"within":["Within"],"returnWithin":["ReturnWithin"],"run":["Run"],"runToken":["RunToken"]}}],"serviceConnect":["ServiceConnect",{"p":{"namespace":["Namespace"],"namespaceName":["NamespaceName"],"mode":["Mode"],"portName":["PortName"],"appProtocol":["AppProtocol"],"discoveryName":["DiscoveryName"],"clientAliases":["ClientAliases",{"i":{"p":{"dnsName":["DnsName"],"port":["Port"]}}}],"logs":["Logs"]}}],"domain":["Domain",{"p":{"name":["Name"],"hostedZoneId":["HostedZoneId"]}}]}};

/** The App's attributes as typed getters (each an `Fn::GetAtt` token; the macro resolves them). */
export abstract class FargateAppAttributes extends CfnResource {
  /** http(s)://host[:port][/path] where the app answers. */
  public get url(): string {
    return this.getAtt('Url').toString();
  }

  /** The ECS service's name. */
  public get serviceName(): string {
    return this.getAtt('ServiceName').toString();
  }

  /** The ECS service's ARN (also what Ref returns). */
  public get serviceArn(): string {
    return this.getAtt('ServiceArn').toString();
  }

  /** The ECS cluster. */
  public get clusterName(): string {
    return this.getAtt('ClusterName').toString();
  }

  /** The App's `TaskDefinitionArn` attribute (`Fn::GetAtt`). */
  public get taskDefinitionArn(): string {
    return this.getAtt('TaskDefinitionArn').toString();
  }

  /** The App's `TaskRoleArn` attribute (`Fn::GetAtt`). */
  public get taskRoleArn(): string {
    return this.getAtt('TaskRoleArn').toString();
  }

  /** The App's `ExecutionRoleArn` attribute (`Fn::GetAtt`). */
  public get executionRoleArn(): string {
    return this.getAtt('ExecutionRoleArn').toString();
  }

  /** The App's `TargetGroupArn` attribute (`Fn::GetAtt`). */
  public get targetGroupArn(): string {
    return this.getAtt('TargetGroupArn').toString();
  }

  /** The App's `ListenerArn` attribute (`Fn::GetAtt`). */
  public get listenerArn(): string {
    return this.getAtt('ListenerArn').toString();
  }

  /** The App's `RuleArn` attribute (`Fn::GetAtt`). */
  public get ruleArn(): string {
    return this.getAtt('RuleArn').toString();
  }

  /** The listener port (a string, as CloudFormation gives attributes). */
  public get listenerPort(): string {
    return this.getAtt('ListenerPort').toString();
  }

  /** The App's `LoadBalancerDnsName` attribute (`Fn::GetAtt`). */
  public get loadBalancerDnsName(): string {
    return this.getAtt('LoadBalancerDnsName').toString();
  }

  /** The App's `SecurityGroupId` attribute (`Fn::GetAtt`). */
  public get securityGroupId(): string {
    return this.getAtt('SecurityGroupId').toString();
  }

  /** The App's `LogGroupName` attribute (`Fn::GetAtt`). */
  public get logGroupName(): string {
    return this.getAtt('LogGroupName').toString();
  }

  /** Name.Namespace. */
  public get discoveryName(): string {
    return this.getAtt('DiscoveryName').toString();
  }

  /** The name Service Connect clients call (ClientAliases DnsName). */
  public get serviceConnectName(): string {
    return this.getAtt('ServiceConnectName').toString();
  }

  /** The Route 53 hosted zone of the App's ALB. */
  public get canonicalHostedZoneID(): string {
    return this.getAtt('CanonicalHostedZoneID').toString();
  }

  /** The App's `DiscoveryServiceArn` attribute (`Fn::GetAtt`). */
  public get discoveryServiceArn(): string {
    return this.getAtt('DiscoveryServiceArn').toString();
  }
}
