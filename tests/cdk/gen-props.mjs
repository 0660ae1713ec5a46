// Writes the TypeScript props of Fargate::App, generated from schema/Fargate-App.json, to
// stdout: `node tests/cdk/gen-props.mjs > examples/cdk/lib/fargate-app-props.ts`.
// The schema's read-only properties are the App's attributes (GetAtt), not props: left out.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const path = fileURLToPath(new URL('../../schema/Fargate-App.json', import.meta.url));
const schema = JSON.parse(readFileSync(path, 'utf8'));
const attributes = schema.readOnlyProperties.map((p) => p.replace('/properties/', ''));
for (const a of attributes) delete schema.properties[a];
// Keywords of the registry format that are not JSON Schema.
for (const k of ['typeName', 'readOnlyProperties', 'primaryIdentifier']) delete schema[k];
schema.title = 'FargateAppProps';

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

const banner = `// Generated from schema/Fargate-App.json by tests/cdk/gen-props.mjs: do not edit.
// make test regenerates it and fails when this file differs.`;
const props = await compile(schema, 'FargateAppProps', {
    bannerComment: banner,
    additionalProperties: false,
    unknownAny: true,
    // CDK lists (`param.valueAsList`) are string[], not tuples of a minimum length.
    ignoreMinAndMaxItems: true,
    style: { singleQuote: true, printWidth: 100 },
});
const attributeType = `
/** The attributes of a Fargate::App (\`Fn::GetAtt\`). */
export type FargateAppAttribute =
${attributes.map((a) => `  | '${a}'`).join('\n')};
`;
process.stdout.write(props + attributeType);
