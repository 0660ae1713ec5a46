// Writes the generated part of the CDK construct package (cfn/cdk) to stdout, from the registry
// schema schema/Fargate-App.json:
//   node tests/cdk/gen-props.mjs > cfn/cdk/src/app-properties.ts
// - `FargateAppProperties`: every property of Fargate::App in camelCase (`loadBalancer`,
//   `scaling.cpuPercent`), with the schema's types, allowed values and descriptions
//   (json-schema-to-typescript); the construct's props extend it.
// - `APP_PROPERTY_SHAPE`: which keys are property names (camelCase -> PascalCase at synth) and
//   which are the user's own map keys (Environment, Tags, Secrets, policy Conditions: kept as is).
// - `FargateAppAttributes`: one typed getter per read-only property (the App's GetAtt attributes).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const path = fileURLToPath(new URL('../../schema/Fargate-App.json', import.meta.url));
const original = JSON.parse(readFileSync(path, 'utf8'));
const schema = structuredClone(original);
const attributes = schema.readOnlyProperties.map((p) => p.replace('/properties/', ''));
for (const a of attributes) delete schema.properties[a];
// Keywords of the registry format that are not JSON Schema.
for (const k of ['typeName', 'readOnlyProperties', 'primaryIdentifier']) delete schema[k];
schema.title = 'FargateAppProperties';
// Objects are named types with the package's prefix (FargateAppNetwork, not Network next to
// ec2's); the other definitions (NonEmptyString, Port, CommandLine...) are written in place.
const isObject = (d) => d.type === 'object' || d.properties !== undefined;
for (const [name, d] of Object.entries(schema.definitions)) if (isObject(d)) d.title = `FargateApp${name}`;
(function inline(node) {
  if (Array.isArray(node)) return node.forEach(inline);
  if (!node || typeof node !== 'object') return;
  for (const v of Object.values(node)) inline(v);
  const name = node.$ref?.replace('#/definitions/', '');
  if (name && !isObject(schema.definitions[name])) {
    delete node.$ref;
    for (const [k, v] of Object.entries(structuredClone(schema.definitions[name]))) if (!(k in node)) node[k] = v;
    inline(node);
  }
})(schema);
for (const [name, d] of Object.entries(schema.definitions)) if (!isObject(d)) delete schema.definitions[name];

const camel = (s) => s[0].toLowerCase() + s.slice(1);

// Property names to camelCase, wherever they are named: `properties`, `required`, `dependencies`.
(function rename(node) {
  if (Array.isArray(node)) return node.forEach(rename);
  if (!node || typeof node !== 'object') return;
  if (node.properties) {
    node.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [camel(k), v]));
  }
  if (Array.isArray(node.required)) node.required = node.required.map(camel);
  if (node.dependencies) {
    node.dependencies = Object.fromEntries(Object.entries(node.dependencies)
      .map(([k, v]) => [camel(k), Array.isArray(v) ? v.map(camel) : v]));
  }
  for (const [k, v] of Object.entries(node)) if (k !== 'properties') rename(v);
  if (node.properties) Object.values(node.properties).forEach(rename);
})(schema);

// Rules over several properties (exactly one of Rate or Concurrency...) are for cfn-lint; as
// TypeScript they would add an index signature and let misspelt properties through.
const onlyRequired = (b) => Object.keys(b).every((k) => k === 'required' || k === 'anyOf' || k === 'oneOf')
  && ['anyOf', 'oneOf'].every((k) => !b[k] || b[k].every(onlyRequired));
(function simplify(node) {
  if (Array.isArray(node)) return node.forEach(simplify);
  if (!node || typeof node !== 'object') return;
  for (const k of ['anyOf', 'oneOf', 'allOf']) {
    if (Array.isArray(node[k]) && node[k].every(onlyRequired)) delete node[k];
  }
  delete node.dependencies;
  // A property that must not be given (`not: {}`) is `never`.
  if (node.not && Object.keys(node.not).length === 0) {
    delete node.not;
    node.tsType = 'never';
  }
  Object.values(node).forEach(simplify);
})(schema);

// The shape of the (PascalCase) schema: { p: { camel: [Pascal, shape] } } for objects with
// named properties, { v: shape } for maps of the user's keys, { i: shape } for lists;
// alternatives (anyOf/oneOf/allOf) merged. Only what has property names somewhere below is kept.
function shapeOf(node, seen = new Set()) {
  if (!node || typeof node !== 'object') return undefined;
  if (node.$ref) {
    if (seen.has(node.$ref)) return undefined;
    const name = node.$ref.replace('#/definitions/', '');
    return shapeOf(original.definitions[name], new Set([...seen, node.$ref]));
  }
  const shape = {};
  if (node.properties) {
    shape.p = {};
    for (const [k, v] of Object.entries(node.properties)) {
      const sub = shapeOf(v, seen);
      shape.p[camel(k)] = sub ? [k, sub] : [k];
    }
  }
  const values = [node.additionalProperties, ...Object.values(node.patternProperties ?? {})]
    .map((v) => shapeOf(v, seen)).find(Boolean);
  if (values) shape.v = values;
  const items = shapeOf(node.items, seen);
  if (items) shape.i = items;
  for (const k of ['anyOf', 'oneOf', 'allOf']) {
    for (const alt of node[k] ?? []) {
      const a = shapeOf(alt, seen);
      if (!a) continue;
      if (a.p) shape.p = { ...(shape.p ?? {}), ...a.p };
      if (a.v && !shape.v) shape.v = a.v;
      if (a.i && !shape.i) shape.i = a.i;
    }
  }
  return Object.keys(shape).length ? shape : undefined;
}
const rootShape = shapeOf({ properties: Object.fromEntries(
  Object.entries(original.properties).filter(([k]) => !attributes.includes(k))) });

const banner = `// Generated from schema/Fargate-App.json by tests/cdk/gen-props.mjs: do not edit.
// make test regenerates it and fails when this file differs:
//   node tests/cdk/gen-props.mjs > cfn/cdk/src/app-properties.ts`;
const props = await compile(schema, 'FargateAppProperties', {
  bannerComment: banner,
  additionalProperties: false,
  unknownAny: true,
  // CDK lists (`param.valueAsList`) are string[], not tuples of a minimum length.
  ignoreMinAndMaxItems: true,
  style: { singleQuote: true, printWidth: 100 },
});

const doc = (text) => (text ? `  /** ${text.replace(/\*\//g, '* /')} */\n` : '');
const getters = attributes.map((a) => `${doc(original.properties[a].description
  ?? `The App's \`${a}\` attribute (\`Fn::GetAtt\`).`)}  public get ${camel(a)}(): string {
    return this.getAtt('${a}').toString();
  }`).join('\n\n');

process.stdout.write(`${props.replace(banner, `${banner}\nimport { CfnResource } from 'aws-cdk-lib';`)}
/** The attributes of a Fargate::App (\`Fn::GetAtt\`). */
export type FargateAppAttribute =
${attributes.map((a) => `  | '${a}'`).join('\n')};

/** Where property names are (camelCase to PascalCase at synth) and where the user's own keys are. */
export interface PropertyShape {
  /** Named properties: camelCase name to [PascalCase name, shape of the value]. */
  readonly p?: { readonly [camel: string]: readonly [string, PropertyShape?] };
  /** A map of the user's keys (kept as given): the shape of its values. */
  readonly v?: PropertyShape;
  /** A list: the shape of its items. */
  readonly i?: PropertyShape;
}

export const APP_PROPERTY_SHAPE: PropertyShape = ${JSON.stringify(rootShape)};

/** The App's attributes as typed getters (each an \`Fn::GetAtt\` token; the macro resolves them). */
export abstract class FargateAppAttributes extends CfnResource {
${getters}
}
`);
