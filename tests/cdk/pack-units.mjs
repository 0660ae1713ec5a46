// The packed construct's helpers, each over a table, run against the installed tarball:
//   node tests/cdk/pack-units.mjs SCRATCH_APP_DIR
// checkTaskSize (the macro's Cpu/Memory rule: every row's bounds, one past them, a Cpu Fargate
// lacks, tokens left to the macro), toAppProperties (camelCase to PascalCase along the schema,
// map keys kept) and joinToSub (the CDK's Fn::Join as the Fn::Sub the macro reads secrets from).
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const dir = resolve(process.argv[2]);
const require = createRequire(`${dir}/package.json`);
const { checkTaskSize, toAppProperties, joinToSub } = require('fargate-app-cdk');
const { Token } = require('aws-cdk-lib');
const sizes = require('fargate-app-cdk/lib/task-sizes.json').TaskSizes;

const failures = [];
const same = (what, actual, expected) => {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    failures.push(`${what}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
};

// Fargate's table, as AWS words it (not read from task-sizes.json, which the check uses):
// https://docs.aws.amazon.com/AmazonECS/latest/userguide/task-cpu-memory-error.html
const gib = (from, to, step) => Array.from({ length: (to - from) / step + 1 }, (_, i) => (from + i * step) * 1024);
const aws = {
  256: [512, 1024, 2048], 512: gib(1, 4, 1), 1024: gib(2, 8, 1), 2048: gib(4, 16, 1),
  4096: gib(8, 30, 1), 8192: gib(16, 60, 4), 16384: gib(32, 120, 8),
};
same('task-sizes.json rows', sizes.map((r) => [r.Cpu, r.Memory]), Object.entries(aws).map(([c, m]) => [Number(c), m]));
const sizeCases = [];
for (const [cpu, memory] of Object.entries(aws)) {
  const c = Number(cpu);
  for (const m of memory) sizeCases.push([c, m, 0]);
  sizeCases.push([c, memory[0] - 1024, 1], [c, memory[memory.length - 1] + 1024, 1], [c, memory[0] + 1, 1]);
}
sizeCases.push(
  [300, 512, 1],
  [256, undefined, 0],
  [Token.asNumber({ Ref: 'Cpu' }), 4096, 0],
  [256, Token.asNumber({ Ref: 'Memory' }), 0],
);
for (const [cpu, memory, errors] of sizeCases) {
  const got = checkTaskSize(cpu, memory);
  if (got.length !== errors) failures.push(`checkTaskSize(${cpu}, ${memory}): ${JSON.stringify(got)}, expected ${errors} error(s)`);
}
same('checkTaskSize message', checkTaskSize(256, 4096), ['memoryLimitMiB (Memory): 4096 is not valid with cpu 256 (allowed: 512, 1024, 2048)']);
same('checkTaskSize message, a range', checkTaskSize(8192, 8192), ['memoryLimitMiB (Memory): 8192 is not valid with cpu 8192 (allowed: 16384 to 61440 in steps of 4096)']);
same('checkTaskSize message, no such Cpu', checkTaskSize(300, 512), ['cpu (Cpu): 300 is not a Fargate CPU size (allowed: 256, 512, 1024, 2048, 4096, 8192, 16384)']);

const translations = [
  [{ desiredCount: 2 }, { DesiredCount: 2 }],
  [{ environment: { logLevel: 'x', LOG_LEVEL: 1 } }, { Environment: { logLevel: 'x', LOG_LEVEL: 1 } }],
  [{ tags: { 'cost-center': 'a' } }, { Tags: { 'cost-center': 'a' } }],
  [{ loadBalancer: { create: { scheme: 'internal' }, healthCheck: { path: '/' } } }, { LoadBalancer: { Create: { Scheme: 'internal' }, HealthCheck: { Path: '/' } } }],
  [{ loadBalancer: { create: true } }, { LoadBalancer: { Create: true } }],
  [{ loadTest: { thresholds: { p99Ms: 800 }, headers: { 'x-key': 'v' } } }, { LoadTest: { Thresholds: { P99Ms: 800 }, Headers: { 'x-key': 'v' } } }],
  [{ taskPolicies: [{ effect: 'Allow', action: 's3:*', condition: { StringEquals: { 'aws:x': 'y' } } }] },
    { TaskPolicies: [{ Effect: 'Allow', Action: 's3:*', Condition: { StringEquals: { 'aws:x': 'y' } } }] }],
  [{ deployment: { hooks: [{ stage: 'PRE_SCALE_UP', functionArn: 'arn:f' }] } }, { Deployment: { Hooks: [{ Stage: 'PRE_SCALE_UP', FunctionArn: 'arn:f' }] } }],
  [{ failover: { standby: { functionArn: 'arn:f' } } }, { Failover: { Standby: { FunctionArn: 'arn:f' } } }],
  [{ network: { vpcId: { Ref: 'Vpc' } } }, { Network: { VpcId: { Ref: 'Vpc' } } }],
  [{ scaling: undefined, port: 80 }, { Port: 80 }],
];
for (const [input, expected] of translations) same(`toAppProperties(${JSON.stringify(input)})`, toAppProperties(input), expected);

const subs = [
  [{ 'Fn::Join': ['', [{ Ref: 'Secret' }, ':password::']] }, { 'Fn::Sub': '${Secret}:password::' }],
  [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':parameter/a']] },
    { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/a' }],
  [{ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['S', 'Id'] }, ':k::']] }, { 'Fn::Sub': '${S.Id}:k::' }],
  [{ 'Fn::Join': ['', ['${x}', { 'Fn::ImportValue': 'E' }]] }, { 'Fn::Sub': ['${!x}${Part0}', { Part0: { 'Fn::ImportValue': 'E' } }] }],
  [{ 'Fn::Join': [':', ['a', 'b']] }, { 'Fn::Join': [':', ['a', 'b']] }],
  ['arn:aws:secretsmanager:eu-west-1:1:secret:a', 'arn:aws:secretsmanager:eu-west-1:1:secret:a'],
  [{ Ref: 'Secret' }, { Ref: 'Secret' }],
];
for (const [input, expected] of subs) same(`joinToSub(${JSON.stringify(input)})`, joinToSub(input), expected);

if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log(`pack-units: ${sizeCases.length + 3} Cpu/Memory cases, ${translations.length} translations, ${subs.length} Join-to-Sub cases`);
