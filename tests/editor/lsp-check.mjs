// Opens templates in the YAML language server (the engine of VS Code's redhat.vscode-yaml and of
// other editors' YAML support) over stdio, as an editor does, with the settings docs/cli.md
// gives users, and prints the diagnostics it publishes, as JSON: { "<file>": [{line, message}] }.
// Usage: node tests/editor/lsp-check.mjs SCHEMA.json FILE...
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve, dirname, join } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [schema, ...files] = process.argv.slice(2);
if (!schema || files.length === 0) {
  console.error("usage: node tests/editor/lsp-check.mjs SCHEMA.json FILE...");
  process.exit(2);
}
// The settings docs/cli.md tells users to set: CloudFormation's short-form tags, validation on.
const customTags = JSON.parse(readFileSync(join(here, "custom-tags.json"), "utf8"));
const server = spawn(process.execPath, [join(here, "..", "node_modules", "yaml-language-server", "bin", "yaml-language-server"), "--stdio"], {
  stdio: ["pipe", "pipe", "inherit"],
});

let buf = Buffer.alloc(0);
const waiting = new Map();
const diagnostics = new Map();
let nextId = 1;
function send(msg) {
  const body = Buffer.from(JSON.stringify({ jsonrpc: "2.0", ...msg }));
  server.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
  server.stdin.write(body);
}
function request(method, params) {
  const id = nextId++;
  send({ id, method, params });
  return new Promise((res) => waiting.set(id, res));
}
server.stdout.on("data", (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  for (;;) {
    const sep = buf.indexOf("\r\n\r\n");
    if (sep < 0) return;
    const len = Number(/Content-Length: (\d+)/i.exec(buf.slice(0, sep).toString())[1]);
    if (buf.length < sep + 4 + len) return;
    const msg = JSON.parse(buf.slice(sep + 4, sep + 4 + len).toString());
    buf = buf.slice(sep + 4 + len);
    if (msg.id !== undefined && waiting.has(msg.id) && msg.method === undefined) {
      waiting.get(msg.id)(msg.result);
      waiting.delete(msg.id);
    } else if (msg.method === "textDocument/publishDiagnostics") {
      diagnostics.set(msg.params.uri, msg.params.diagnostics);
    } else if (msg.id !== undefined && msg.method) {
      // The server pulls its settings (workspace/configuration) on every configuration change.
      send({
        id: msg.id,
        result: msg.method === "workspace/configuration" ? msg.params.items.map((i) => (i.section === "yaml" ? yamlSettings : null)) : null,
      });
    }
  }
});

const schemaUri = pathToFileURL(resolve(schema)).href;
const yamlSettings = { validate: true, schemas: { [schemaUri]: "*.yaml" }, customTags, schemaStore: { enable: false } };
await request("initialize", { processId: process.pid, rootUri: null, capabilities: { workspace: { configuration: true } } });
send({ method: "initialized", params: {} });
send({
  method: "workspace/didChangeConfiguration",
  params: { settings: { yaml: yamlSettings } },
});
// Let the server take the settings before the documents arrive.
await new Promise((r) => setTimeout(r, 500));
const uris = files.map((f) => pathToFileURL(resolve(f)).href);
files.forEach((f, i) =>
  send({ method: "textDocument/didOpen", params: { textDocument: { uri: uris[i], languageId: "yaml", version: 1, text: readFileSync(f, "utf8") } } }),
);
const deadline = Date.now() + 30000;
while (uris.some((u) => !diagnostics.has(u)) && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 100));
}
// Validation runs again once the schema is loaded: give it a moment to settle.
await new Promise((r) => setTimeout(r, 1500));
const out = {};
files.forEach((f, i) => {
  out[f] = diagnostics.has(uris[i])
    ? diagnostics.get(uris[i]).map((d) => ({ line: d.range.start.line + 1, message: d.message }))
    : [{ line: 0, message: "no diagnostics published within 30 s" }];
});
console.log(JSON.stringify(out, null, 1));
server.kill();
process.exit(0);
