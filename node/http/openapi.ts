/** The OpenAPI 3.1 document, generated from the route table and the shared components. */
import type { Request, Response } from 'express';
import type { NodeConfig } from '../config/schema.js';
import type { JsonSchema } from './json-schema.js';
import type { RouteDef } from './route-table.js';
import { buildSharedComponents } from './schemas.js';
import { IRISDB_VERSION } from '../../common/version.js';

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; parameters: Record<string, unknown>; headers: Record<string, unknown>; responses: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

export const OPENAPI_PATH = '/v1/openapi.json';

export function buildOpenApi(routes: readonly RouteDef[], schemas: Record<string, JsonSchema>, config: NodeConfig): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const item = (paths[r.path] ??= {});
    item[r.method] = withDoorResponses(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'IrisDB HTTP API',
      version: IRISDB_VERSION,
      description:
        'Key-value API of one IrisDB node. Keys and values are arbitrary bytes. Every acknowledged write is durable. ' +
        'Errors are always JSON: {"error": {"code", "message", "details"?}}. Unknown paths give 404, unsupported methods 405 with Allow.',
    },
    paths,
    components: {
      schemas, ...buildSharedComponents(config),
      securitySchemes: {
        basicAuth: { type: 'http', scheme: 'basic', description: 'With requirePass: user "default", the requirePass password.' },
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'With requirePass: the requirePass password as the token.' },
      },
    },
  };
}

/** Every route may answer 403 (Host/Origin guard); the KV API 401 (requirePass) and POSTs 415 (body not JSON). */
function withDoorResponses(r: RouteDef): RouteDef['operation'] {
  const ref = (name: string) => ({ $ref: `#/components/responses/${name}` });
  const extra: Record<string, unknown> = { 403: ref('Forbidden') };
  const kv = r.path.startsWith('/v1/') && r.path !== OPENAPI_PATH;
  if (kv) extra[401] = ref('Unauthorized');
  if (r.method === 'post') extra[415] = ref('Unsupported');
  const op: RouteDef['operation'] = { ...r.operation, responses: { ...extra, ...r.operation.responses } };
  if (kv) op.security = [{}, { basicAuth: [] }, { bearerAuth: [] }];
  return op;
}

/** The route serving the document itself (it documents itself too). */
export function openApiRoute(getDoc: () => OpenApiDocument): RouteDef {
  return {
    method: 'get', path: OPENAPI_PATH, match: OPENAPI_PATH,
    handlers: [(_req: Request, res: Response) => { res.status(200).json(getDoc()); }],
    operation: {
      operationId: 'openapi', tags: ['operations'], summary: 'This OpenAPI 3.1 document',
      responses: { 200: { description: 'The document', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  };
}
