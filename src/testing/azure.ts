/**
 * Azure OpenAI's shape in front of the simulator, as the `AzureOpenAI` client of `openai` sends
 * requests (read from its source, `openai/azure`): every path under `{endpoint}/openai/`, an
 * `api-version` query parameter on each request (its `defaultQuery`), the key in an `api-key`
 * header (or `Authorization: Bearer` with an Entra ID token provider). The v1 surface
 * (`{endpoint}/openai/v1/…`, used with a plain `OpenAI` client) needs no `api-version`. And what
 * users report of the service: `containers.retrieve` refused ("OperationId get-container not
 * supported for CheckAccess"), container ids and names of at most 64 characters, containers that
 * are region-local (an id this resource never made answers `404 Container not found`, as one made
 * through another region's deployment does), and (opt-in) a persistent 500 on container file content.
 */
import { errorResponse } from './api-error.js';
import { isObject } from './util.js';

export interface AzureSimulatorOptions {
  /** The resource endpoint the msw handlers intercept (give the same to `new AzureOpenAI({ endpoint })`). @default 'https://example-resource.openai.azure.com' */
  endpoint?: string;
  /** `api-version` values accepted; another one answers 404 as Azure does for an unknown version. @default any non-empty value */
  apiVersions?: readonly string[];
  /** Refuse `GET /containers/{id}` as users report; `false` serves it. @default true (status 400) */
  refuseContainerRetrieve?: boolean | { status: number };
  /** Answer every container file content request with 500, as reported through Foundry. @default false */
  failFileContent?: boolean;
}

export const DEFAULT_AZURE_ENDPOINT = 'https://example-resource.openai.azure.com';
/** Azure OpenAI refuses container ids and names longer than this. */
export const AZURE_MAX_ID_LENGTH = 64;

/** The refusal users report for `containers.retrieve` on Azure OpenAI. */
export const AZURE_RETRIEVE_REFUSAL = 'OperationId get-container not supported for CheckAccess';

const azureError = (status: number, code: string, message: string) => Response.json({ error: { code, message } }, { status });

/**
 * Checks Azure's URL shape, version and key; answers the API path below the Azure prefix, or
 * Azure's error.
 */
export function azureGate(options: AzureSimulatorOptions, url: URL, headers: Headers): { path: string } | Response {
  const match = /^(?:.*?)\/openai(\/v1)?(\/.*)?$/.exec(url.pathname);
  if (!match) return azureError(404, '404', 'Resource not found');
  const v1 = match[1] !== undefined;
  const path = match[2] ?? '/';
  if (!v1) {
    const version = url.searchParams.get('api-version');
    if (!version) return azureError(404, '404', 'Resource not found');
    if (options.apiVersions && !options.apiVersions.includes(version)) {
      return azureError(404, '404', `Resource not found (api-version ${version} is not supported by this resource)`);
    }
  }
  if (!headers.get('api-key') && !/^Bearer\s+\S/.test(headers.get('authorization') ?? '')) {
    return azureError(
      401,
      '401',
      'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
    );
  }
  return { path };
}

/**
 * Azure's own answers for an API request that passed the gate, or undefined to serve it normally.
 * `madeHere` says whether this simulator (this resource, this region) ever made a container id.
 */
export function azureOverride(
  options: AzureSimulatorOptions,
  method: string,
  path: string,
  json: unknown,
  madeHere: (containerId: string) => boolean,
): Response | undefined {
  const refuse = options.refuseContainerRetrieve ?? true;
  if (refuse !== false && method === 'GET' && /^\/containers\/[^/]+$/.test(path)) {
    return errorResponse(typeof refuse === 'object' ? refuse.status : 400, AZURE_RETRIEVE_REFUSAL, { code: 'OperationNotSupported' });
  }
  // Region-local, checked after the operation (retrieve is refused whatever the id): a container
  // another resource made is unknown here, whatever the call.
  const foreign = /^\/containers\/([^/]+)/.exec(path)?.[1];
  if (foreign !== undefined && !madeHere(decodeURIComponent(foreign))) return containerNotFound();
  if (method === 'POST' && path === '/responses' && isObject(json) && Array.isArray(json.tools)) {
    const named = json.tools.find((t) => isObject(t) && typeof t.container === 'string' && t.container.length <= AZURE_MAX_ID_LENGTH && !madeHere(t.container));
    if (named) return containerNotFound();
  }
  if (options.failFileContent && method === 'GET' && /^\/containers\/[^/]+\/files\/[^/]+\/content$/.test(path)) {
    return errorResponse(500, 'The server had an error while processing your request. Sorry about that!');
  }
  if (method === 'POST' && path === '/containers' && isObject(json) && typeof json.name === 'string' && json.name.length > AZURE_MAX_ID_LENGTH) {
    return tooLong('name', json.name);
  }
  if (method === 'POST' && path === '/responses' && isObject(json) && Array.isArray(json.tools)) {
    const at = json.tools.findIndex((t) => isObject(t) && typeof t.container === 'string' && t.container.length > AZURE_MAX_ID_LENGTH);
    if (at !== -1) return tooLong(`tools[${at}].container`, (json.tools[at] as { container: string }).container);
  }
  return undefined;
}

/** What users report for a container id used through another region's deployment (BerriAI/litellm #30781). */
const containerNotFound = () => errorResponse(404, 'Container not found');

const tooLong = (param: string, value: string) =>
  errorResponse(
    400,
    `Invalid '${param}': string too long. Expected a string with maximum length ${AZURE_MAX_ID_LENGTH}, but got a string with length ${value.length} instead.`,
    { param, code: 'string_above_max_length' },
  );
