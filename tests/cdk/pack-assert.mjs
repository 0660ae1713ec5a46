// Checks the templates tests/cdk/pack.sh synthesized with the packed construct:
//   node tests/cdk/pack-assert.mjs PROPS_TEMPLATE EXAMPLE_TEMPLATE
// One table of (template, path, expected): an expected value is compared as JSON, a RegExp
// matched against the JSON text of the value. Prints each failure; exit 1 when any.
import { readFileSync } from 'node:fs';

const [propsFile, exampleFile] = process.argv.slice(2);
const templates = { props: JSON.parse(readFileSync(propsFile, 'utf8')), example: JSON.parse(readFileSync(exampleFile, 'utf8')) };
const logicalId = (t, type, prefix) => Object.keys(templates[t].Resources)
  .find((k) => templates[t].Resources[k].Type === type && k.startsWith(prefix)) ?? `<no ${type} ${prefix}*>`;
const ingress = (t, to) => Object.keys(templates[t].Resources).find((k) => {
  const r = templates[t].Resources[k];
  return r.Type === 'AWS::EC2::SecurityGroupIngress' && JSON.stringify(r.Properties.GroupId) === JSON.stringify({ 'Fn::GetAtt': [to, 'SecurityGroupId'] });
}) ?? '<no ingress>';

const api = ['Resources', 'Api', 'Properties'];
const users = ['Resources', 'Users', 'Properties'];
const cases = [
  ['props', ['Transform'], 'FargateApp'],
  ['props', ['Resources', 'Api', 'Type'], 'Fargate::App'],
  ['props', [...api, 'Cpu'], 512],
  ['props', [...api, 'Memory'], 2048],
  ['props', [...api, 'Port'], 8080],
  ['props', [...api, 'DesiredCount'], 2],
  // fromEcrRepository: the repository's URI for tag v1.
  ['props', [...api, 'Image'], new RegExp(`"Ref":"${logicalId('props', 'AWS::ECR::Repository', 'Repo')}"},":v1"`)],
  // fromAsset: the image the bootstrap stack's repository will hold (cdk deploy builds it).
  ['props', ['Resources', 'Worker', 'Properties', 'Image'], /^\{"Fn::Sub":"\$\{AWS::AccountId\}\.dkr\.ecr\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}\/cdk-[a-z0-9]+-container-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}:[0-9a-f]{64}"\}$/],
  ['props', [...api, 'Network', 'VpcId'], { Ref: logicalId('props', 'AWS::EC2::VPC', 'Vpc') }],
  ['props', [...api, 'Network', 'Subnets'], /^\[\{"Ref":"VpcPrivateSubnet1Subnet[0-9A-F]+"\},\{"Ref":"VpcPrivateSubnet2Subnet[0-9A-F]+"\}\]$/],
  // ecs.Secret: the forms the macro reads an ARN from (Fn::Sub, not the CDK's Fn::Join).
  ['props', [...api, 'Secrets', 'DB_PASSWORD'], { 'Fn::Sub': `\${${logicalId('props', 'AWS::SecretsManager::Secret', 'DbSecret')}}:password::` }],
  ['props', [...api, 'Secrets', 'API_KEY'], { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/shop/api-key' }],
  // The user's map keys stay as given; property names become PascalCase at every level.
  ['props', [...api, 'Environment'], { LOG_LEVEL: 'info' }],
  ['props', [...api, 'Tags'], { 'cost-center': 'shop' }],
  ['props', [...api, 'LoadBalancer', 'ListenerPort'], 8443],
  ['props', [...api, 'LoadBalancer', 'DnsName'], 'shared.example.com'],
  ['props', [...api, 'Discovery'], { NamespaceName: 'shop.local', Name: 'api' }],
  ['props', [...api, 'HealthCheck', 'StartPeriod'], 10],
  ['props', [...api, 'TaskPolicies'], [{ Action: 's3:GetObject', Effect: 'Allow', Resource: 'arn:aws:s3:::shop-assets/*' }]],
  // connections.allowDefaultPortFrom: an ingress rule on the App's security group, container port.
  ['props', ['Resources', ingress('props', 'Api'), 'Properties', 'FromPort'], 8080],
  ['props', ['Resources', ingress('props', 'Api'), 'Properties', 'SourceSecurityGroupId'], { 'Fn::GetAtt': [logicalId('props', 'AWS::EC2::SecurityGroup', 'Client'), 'GroupId'] }],
  ['props', ['Outputs', 'Url', 'Value'], { 'Fn::GetAtt': ['Api', 'Url'] }],
  ['props', ['Outputs', 'ServiceName', 'Value'], { 'Fn::GetAtt': ['Api', 'ServiceName'] }],
  ['props', ['Outputs', 'TargetGroupArn', 'Value'], { 'Fn::GetAtt': ['Api', 'TargetGroupArn'] }],
  ['example', ['Transform'], 'FargateApp'],
  ['example', [...users, 'Image'], 'public.ecr.aws/nginx/nginx:1.27'],
  ['example', [...users, 'Cpu'], 256],
  ['example', [...users, 'Memory'], 512],
  ['example', [...users, 'LoadBalancer'], { HealthCheck: { Path: '/' }, Create: { Scheme: 'internet-facing' } }],
  ['example', [...users, 'Network', 'AssignPublicIp'], true],
  ['example', [...users, 'Scaling'], { Min: 1, Max: 3, CpuPercent: 70, MemoryPercent: 70 }],
  ['example', ['Resources', ingress('example', 'Users'), 'Properties', 'SourceSecurityGroupId'], { 'Fn::GetAtt': ['Orders', 'SecurityGroupId'] }],
  ['example', ['Outputs', 'UsersUrl', 'Value'], { 'Fn::GetAtt': ['Users', 'Url'] }],
];

const failures = [];
for (const [t, path, expected] of cases) {
  const actual = path.reduce((v, k) => (v === undefined ? undefined : v[k]), templates[t]);
  const text = JSON.stringify(actual);
  const ok = expected instanceof RegExp ? expected.test(text ?? '') : text === JSON.stringify(expected);
  if (!ok) failures.push(`${t}: ${path.join('.')} is ${text}, expected ${expected instanceof RegExp ? expected : JSON.stringify(expected)}`);
}
// No camelCase property name left anywhere in an App (map keys of Environment, Tags, Secrets,
// policy Conditions and Headers are the user's).
const userMaps = new Set(['Environment', 'Tags', 'Secrets', 'Condition', 'Headers', 'Dimensions']);
function camelKeys(v, at) {
  if (Array.isArray(v)) return v.flatMap((x, i) => camelKeys(x, `${at}[${i}]`));
  if (!v || typeof v !== 'object' || Object.keys(v).some((k) => k.startsWith('Fn::') || k === 'Ref')) return [];
  return Object.entries(v).flatMap(([k, x]) => [
    ...(/^[a-z]/.test(k) ? [`${at}.${k}`] : []),
    ...(userMaps.has(k) ? [] : camelKeys(x, `${at}.${k}`)),
  ]);
}
for (const [t, tpl] of Object.entries(templates)) {
  for (const [id, r] of Object.entries(tpl.Resources)) {
    if (r.Type === 'Fargate::App') for (const k of camelKeys(r.Properties, `${t}: ${id}`)) failures.push(`${k}: a camelCase key reached the template`);
  }
}
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log(`pack-assert: ${cases.length} template checks and no camelCase key in ${Object.keys(templates).length} templates' Apps`);
