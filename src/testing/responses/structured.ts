/**
 * Structured output (`text.format: {type: "json_schema"}`): a JSON value that fits the schema,
 * filled from the stand-in model's answer — its text for strings, the numbers it mentions for
 * numbers — as far as a schema-driven filler reasonably can (objects, arrays, enums, const,
 * anyOf/oneOf, `$ref` into `$defs`, nullable types).
 */
import { isObject } from '../util.js';

type Schema = Record<string, unknown>;

interface Fill {
  text: string;
  numbers: number[];
  root: Schema;
  depth: number;
}

function resolveRef(root: Schema, ref: string): Schema {
  if (!ref.startsWith('#/')) return {};
  const node = ref
    .slice(2)
    .split('/')
    .reduce<unknown>((at, key) => (isObject(at) ? at[key.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), root);
  return isObject(node) ? node : {};
}

function stringFor(name: string, schema: Schema, fill: Fill): string {
  if (schema.format === 'date-time') return new Date(0).toISOString();
  if (schema.format === 'date') return '1970-01-01';
  const words = name.toLowerCase();
  const value = /summary|answer|text|description|explanation|message|result|insight|finding|conclusion/.test(words) || !name ? fill.text : `${fill.text.split(/[.:\n]/)[0] ?? ''}`.trim() || name;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : undefined;
  return max !== undefined ? value.slice(0, max) : value;
}

function numberFor(schema: Schema, fill: Fill, integer: boolean): number {
  let value = fill.numbers.shift() ?? 0;
  if (integer) value = Math.round(value);
  if (typeof schema.minimum === 'number' && value < schema.minimum) value = schema.minimum;
  if (typeof schema.maximum === 'number' && value > schema.maximum) value = schema.maximum;
  return value;
}

function valueFor(schema: unknown, fill: Fill, name: string): unknown {
  if (!isObject(schema) || fill.depth > 16) return null;
  if (typeof schema.$ref === 'string') return valueFor(resolveRef(fill.root, schema.$ref), { ...fill, depth: fill.depth + 1 }, name);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    // The value the answer mentions first, else the first one.
    const lower = fill.text.toLowerCase();
    const at = (v: unknown) => (typeof v === 'string' ? lower.indexOf(v.toLowerCase()) : -1);
    const mentioned = schema.enum.filter((v) => at(v) !== -1).sort((a, b) => at(a) - at(b));
    return mentioned[0] ?? schema.enum[0];
  }
  const choices = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  if (Array.isArray(choices) && choices.length > 0) {
    const nonNull = choices.find((c) => !(isObject(c) && c.type === 'null')) ?? choices[0];
    return valueFor(nonNull, fill, name);
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const type = types.find((t) => t !== 'null') ?? types[0];
  const deeper = { ...fill, depth: fill.depth + 1 };
  switch (type) {
    case 'object': {
      const properties = isObject(schema.properties) ? schema.properties : {};
      return Object.fromEntries(Object.entries(properties).map(([key, sub]) => [key, valueFor(sub, deeper, key)]));
    }
    case 'array': {
      const min = typeof schema.minItems === 'number' ? schema.minItems : 1;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : Math.max(min, 1);
      return Array.from({ length: Math.min(Math.max(min, 1), max) }, () => valueFor(schema.items, deeper, name));
    }
    case 'string':
      return stringFor(name, schema, fill);
    case 'integer':
      return numberFor(schema, fill, true);
    case 'number':
      return numberFor(schema, fill, false);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return isObject(schema.properties) ? valueFor({ ...schema, type: 'object' }, fill, name) : stringFor(name, schema, fill);
  }
}

/** A value fitting `schema`, filled from the answer `text`. */
export function structuredValue(schema: unknown, text: string): unknown {
  const numbers = [...text.matchAll(/-?\d[\d,]*(?:\.\d+)?/g)].map((m) => Number(m[0].replace(/,/g, ''))).filter(Number.isFinite);
  const root = isObject(schema) ? schema : {};
  return valueFor(root, { text, numbers, root, depth: 0 }, '');
}
