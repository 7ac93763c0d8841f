#!/usr/bin/env node
// Extracts the part of the official OpenAI OpenAPI document that the conformance test needs:
// every operation under /containers, /files and /responses, the schemas they reference
// (transitively), and the schemas the test names itself (ResponseStreamEvent, ErrorResponse).
//
//   node scripts/vendor-openapi.mjs <path to openai-openapi.yaml> <commit>
//
// Source: the public repository openai/openai-openapi (MIT license, see the notice in
// test/fixtures/openapi/README.md). Re-run it when the document is updated and say the commit.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';

const [source, commit] = process.argv.slice(2);
if (!source || !commit) {
  console.error('usage: node scripts/vendor-openapi.mjs <openai-openapi.yaml> <commit of openai/openai-openapi>');
  process.exit(2);
}

const doc = parse(readFileSync(source, 'utf8'), { maxAliasCount: -1 });
const KEEP_PATH = /^\/(containers|files|responses)(\/|$)/;
const ALWAYS = ['#/components/schemas/ResponseStreamEvent', '#/components/schemas/ErrorResponse'];

const paths = Object.fromEntries(Object.entries(doc.paths).filter(([p]) => KEEP_PATH.test(p) && !p.includes('?')));

const components = {};
const seen = new Set();
const queue = [...ALWAYS];
const collectRefs = (node) => {
  if (Array.isArray(node)) return node.forEach(collectRefs);
  if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') queue.push(value);
      else collectRefs(value);
    }
  }
};
collectRefs(paths);
while (queue.length) {
  const ref = queue.pop();
  if (seen.has(ref)) continue;
  seen.add(ref);
  const [, , kind, name] = ref.split('/');
  const node = doc.components?.[kind]?.[name];
  if (node === undefined) throw new Error(`unresolved reference ${ref}`);
  (components[kind] ??= {})[name] = node;
  collectRefs(node);
}
for (const kind of Object.keys(components)) {
  components[kind] = Object.fromEntries(Object.entries(components[kind]).sort(([a], [b]) => a.localeCompare(b)));
}

const subset = {
  openapi: doc.openapi,
  info: {
    ...doc.info,
    'x-vendored': {
      from: 'https://github.com/openai/openai-openapi',
      commit,
      by: 'scripts/vendor-openapi.mjs',
      kept: 'operations under /containers, /files, /responses and the components they reference',
    },
  },
  servers: doc.servers,
  paths,
  components,
};
const out = new URL('../test/fixtures/openapi/openai-openapi.subset.json', import.meta.url);
mkdirSync(new URL('.', out), { recursive: true });
writeFileSync(out, `${JSON.stringify(subset, null, 1)}\n`);
console.log(`${Object.keys(paths).length} paths, ${seen.size} components -> ${out.pathname}`);
