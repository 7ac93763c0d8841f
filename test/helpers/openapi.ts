import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { SimRequestRecord } from '../../src/testing/index.js';

/**
 * The part of the official OpenAPI document the conformance test needs, vendored in the repository
 * (see test/fixtures/openapi/README.md for its source commit and license).
 */
export const OPENAPI_PATH = fileURLToPath(new URL('../fixtures/openapi/openai-openapi.subset.json', import.meta.url));

type Operation = {
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { $ref?: string; content?: Record<string, { schema?: { $ref?: string } }> }>;
};

let loaded: { doc: any; ajv: Ajv2020; routes: Array<{ method: string; pattern: RegExp; template: string; op: Operation }> } | undefined;

function load() {
  if (loaded) return loaded;
  const doc = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'));
  // OpenAPI 3.1 schemas are JSON Schema 2020-12 plus annotations (x-*, discriminator, example):
  // strict mode off so those are ignored, formats like `unixtime` not checked.
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ $id: 'openapi', components: discriminatedAsAnyOf(doc.components) }, 'openapi');
  const routes = Object.entries(doc.paths as Record<string, Record<string, Operation>>)
    .filter(([template]) => !template.includes('?'))
    .flatMap(([template, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
        op,
      })),
    );
  loaded = { doc, ajv, routes };
  return loaded;
}

/**
 * A `oneOf` with a `discriminator` selects its member by that property; plain JSON Schema `oneOf`
 * instead fails when two members accept the value, which the document's own unions do for ordinary
 * requests (a user message with a content list is both an `EasyInputMessage` and an `InputMessage`).
 * Such unions are validated as `anyOf`: the value must still fit a member.
 */
function discriminatedAsAnyOf(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(discriminatedAsAnyOf);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  const discriminated = 'discriminator' in node && 'oneOf' in node;
  for (const [key, value] of Object.entries(node)) out[discriminated && key === 'oneOf' ? 'anyOf' : key] = discriminatedAsAnyOf(value);
  return out;
}

const cache = new Map<string, ValidateFunction>();

/** A validator for `#/components/schemas/NAME` (or any `#/components/...` pointer). */
export function schemaValidator(pointer: string): ValidateFunction {
  const ref = pointer.startsWith('#') ? pointer : `#/components/schemas/${pointer}`;
  let validate = cache.get(ref);
  if (!validate) {
    validate = load().ajv.compile({ $ref: `openapi${ref}` });
    cache.set(ref, validate);
  }
  return validate;
}

export function findOperation(method: string, path: string) {
  const route = load().routes.find((r) => r.method === method && r.pattern.test(path));
  if (!route) throw new Error(`no operation in the OpenAPI document for ${method} ${path}`);
  return route;
}

/** The schema pointer the document gives for this status (errors fall back to ErrorResponse). */
export function responseSchemaFor(method: string, path: string, status: number): string | undefined {
  const { op, doc } = { ...findOperation(method, path), doc: load().doc };
  let response = op.responses?.[String(status)] ?? op.responses?.default;
  if (response?.$ref) response = resolve(doc, response.$ref);
  const schema = response?.content?.['application/json']?.schema;
  if (schema?.$ref) return schema.$ref;
  if (status >= 400) return '#/components/schemas/ErrorResponse';
  return undefined;
}

export function requestSchemaFor(method: string, path: string): string | undefined {
  const schema = findOperation(method, path).op.requestBody?.content?.['application/json']?.schema as { $ref?: string } | undefined;
  return schema?.$ref;
}

function resolve(doc: any, ref: string): any {
  return ref
    .slice(2)
    .split('/')
    .reduce((node, key) => node?.[key], doc);
}

/**
 * The member of the `ResponseStreamEvent` union for an event type. Validating against the union
 * itself works but reports every member's mismatch; the member says what is actually wrong.
 */
export function eventSchemaFor(type: string): string {
  const { doc } = load();
  const members: Array<{ $ref: string }> = doc.components.schemas.ResponseStreamEvent.anyOf ?? doc.components.schemas.ResponseStreamEvent.oneOf;
  const member = members.find((m) => {
    const schema = resolve(doc, m.$ref);
    const typeSchema = schema?.properties?.type;
    return typeSchema?.enum?.includes(type) || typeSchema?.const === type;
  });
  if (!member) throw new Error(`no ResponseStreamEvent member for event type ${type}`);
  return member.$ref;
}

export interface ConformanceProblem {
  what: string;
  errors: unknown;
}

/** Endpoints whose 200 the document leaves without a schema: checked against the documented example shape. */
const UNDOCUMENTED_OK: Array<{ method: string; pattern: RegExp; check: (body: any) => boolean }> = [
  { method: 'DELETE', pattern: /^\/containers\/[^/]+$/, check: (b) => b?.object === 'container.deleted' && b.deleted === true && typeof b.id === 'string' },
  { method: 'DELETE', pattern: /^\/containers\/[^/]+\/files\/[^/]+$/, check: (b) => b?.object === 'container.file.deleted' && b.deleted === true },
  { method: 'DELETE', pattern: /^\/responses\/[^/]+$/, check: (b) => b?.object === 'response' && b.deleted === true && typeof b.id === 'string' },
];

/**
 * Checks every recorded exchange against the OpenAPI document: the JSON request body against the
 * operation's request schema, the JSON answer against the response schema for its status, and
 * every streamed event against `ResponseStreamEvent`. Returns the problems (empty when conformant).
 */
export function checkConformance(records: readonly SimRequestRecord[]): { problems: ConformanceProblem[]; checked: Set<string> } {
  const problems: ConformanceProblem[] = [];
  const checked = new Set<string>();
  for (const record of records) {
    const { template } = findOperation(record.method, record.path);
    const what = `${record.method} ${record.path} -> ${record.status}`;
    const requestRef = requestSchemaFor(record.method, record.path);
    // Requests the service refused as invalid (4xx but 408/409/429) were sent invalid on purpose by a test.
    const refusedAsInvalid = record.status !== undefined && record.status >= 400 && record.status < 500 && ![408, 409, 429].includes(record.status);
    if (requestRef && record.body !== undefined && !refusedAsInvalid && !(record.headers['content-type'] ?? '').startsWith('multipart/')) {
      const validate = schemaValidator(requestRef);
      if (!validate(record.body)) problems.push({ what: `request of ${what}`, errors: summarize(validate.errors) });
    }
    if (record.responseBody !== undefined && record.status) {
      const ref = responseSchemaFor(record.method, record.path, record.status);
      if (ref) {
        const validate = schemaValidator(ref);
        if (!validate(record.responseBody)) problems.push({ what, errors: summarize(validate.errors) });
      } else {
        const rule = UNDOCUMENTED_OK.find((u) => u.method === record.method && u.pattern.test(record.path));
        if (!rule) problems.push({ what, errors: 'the document has no schema for this answer and no rule checks it' });
        else if (!rule.check(record.responseBody)) problems.push({ what, errors: record.responseBody });
      }
    }
    for (const event of record.events ?? []) {
      const validate = schemaValidator(eventSchemaFor(event.event));
      if (!validate(event.data)) problems.push({ what: `${what} event ${event.event}`, errors: summarize(validate.errors) });
    }
    checked.add(`${record.method} ${template} ${record.status}`);
  }
  return { problems, checked };
}

/** The first few validation errors, one line each: enough to see what is wrong. */
function summarize(errors: ValidateFunction['errors']): string[] {
  return (errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
