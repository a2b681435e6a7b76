/**
 * A small validator for the subset of JSON Schema 2020-12 that the API's
 * OpenAPI document uses. The batch endpoint validates its request body with
 * the very schema the document publishes (and the tests validate responses
 * with it), so the document cannot drift from what the routes accept.
 */

export interface JsonSchema {
  $ref?: string;
  type?: JsonType | JsonType[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchema;
  enum?: readonly unknown[];
  const?: unknown;
  oneOf?: JsonSchema[];
  discriminator?: { propertyName: string; mapping: Record<string, string> };
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  title?: string;
  description?: string;
  default?: unknown;
  examples?: unknown[];
}

export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

export type SchemaRegistry = Readonly<Record<string, JsonSchema>>;

const REF_PREFIX = '#/components/schemas/';

function typeOf(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as JsonType;
}

function typeMatches(actual: JsonType, wanted: JsonType): boolean {
  return actual === wanted || (wanted === 'number' && actual === 'integer');
}

function describe(v: unknown): string {
  const t = typeOf(v);
  return t === 'string' || t === 'integer' || t === 'number' || t === 'boolean' ? `${t} ${JSON.stringify(v)}` : t;
}

/** Resolves a local $ref; throws on a reference to nothing (a bug in the document, not in the input). */
export function resolveRef(schema: JsonSchema, registry: SchemaRegistry): JsonSchema {
  let s = schema;
  for (let depth = 0; s.$ref !== undefined; depth++) {
    if (depth > 32 || !s.$ref.startsWith(REF_PREFIX)) throw new Error(`unresolvable $ref ${s.$ref}`);
    const target = registry[s.$ref.slice(REF_PREFIX.length)];
    if (target === undefined) throw new Error(`unresolvable $ref ${s.$ref}`);
    s = target;
  }
  return s;
}

/**
 * Returns null when value conforms, else the first problem as
 * "<path>: <what is wrong>" (path like "ops[2].ttlMs").
 */
export function validateJson(schemaIn: JsonSchema, value: unknown, registry: SchemaRegistry, path = '$'): string | null {
  const schema = resolveRef(schemaIn, registry);
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(actual, t))) return `${path}: expected ${types.join(' or ')}, got ${describe(value)}`;
  }
  if (schema.const !== undefined && value !== schema.const) return `${path}: must be ${JSON.stringify(schema.const)}`;
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    return `${path}: must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return `${path}: must be at least ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `${path}: must be at most ${schema.maximum}`;
  }
  if (typeof value === 'string' && schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
    return `${path}: does not match ${schema.pattern}`;
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) return `${path}: needs at least ${schema.minItems} items`;
    if (schema.maxItems !== undefined && value.length > schema.maxItems) return `${path}: allows at most ${schema.maxItems} items`;
    if (schema.items !== undefined) {
      for (let i = 0; i < value.length; i++) {
        const err = validateJson(schema.items, value[i], registry, `${path}[${i}]`);
        if (err !== null) return err;
      }
    }
  }
  if (actual === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) {
      if (!Object.prototype.hasOwnProperty.call(obj, r)) return `${path}: missing required field "${r}"`;
    }
    const props = schema.properties ?? {};
    for (const k of Object.keys(obj)) {
      const sub = Object.prototype.hasOwnProperty.call(props, k) ? props[k] : undefined;
      if (sub === undefined) {
        if (schema.additionalProperties === false) return `${path}: unknown field "${k}"`;
        continue;
      }
      const err = validateJson(sub, obj[k], registry, `${path}.${k}`);
      if (err !== null) return err;
    }
  }
  if (schema.oneOf !== undefined) return validateOneOf(schema, value, registry, path);
  return null;
}

function validateOneOf(schema: JsonSchema, value: unknown, registry: SchemaRegistry, path: string): string | null {
  const options = schema.oneOf!;
  const disc = schema.discriminator;
  if (disc !== undefined) {
    // Pick the branch by its tag so the error names the real problem, not "matches no branch".
    const tag = typeOf(value) === 'object' ? (value as Record<string, unknown>)[disc.propertyName] : undefined;
    const ref = typeof tag === 'string' && Object.prototype.hasOwnProperty.call(disc.mapping, tag) ? disc.mapping[tag] : undefined;
    if (ref === undefined) {
      return `${path}.${disc.propertyName}: must be one of ${Object.keys(disc.mapping).map((k) => JSON.stringify(k)).join(', ')}`;
    }
    return validateJson({ $ref: ref }, value, registry, path);
  }
  let matches = 0;
  let firstErr: string | null = null;
  for (const o of options) {
    const err = validateJson(o, value, registry, path);
    if (err === null) matches++;
    else firstErr ??= err;
  }
  if (matches === 1) return null;
  return matches === 0 ? firstErr ?? `${path}: matches no alternative` : `${path}: matches more than one alternative`;
}
