/**
 * Azure OpenAI's shape in front of the simulator, for `new AzureOpenAI({ endpoint, apiVersion,
 * apiKey, fetch })`: paths under `/openai/`, an `api-version` query on every request, the key in an
 * `api-key` header, and `containers.retrieve` refused. Everything else is the simulator's.
 */
export const AZURE_REFUSAL = { error: { code: 'OperationNotSupported', message: 'OperationId get-container not supported for CheckAccess', type: 'invalid_request_error', param: null } };

export function azureFront(simulatorUrl: string, opts: { refusalStatus?: number } = {}) {
  const seen: Array<{ method: string; path: string; apiVersion: string | null; apiKey: boolean; authorization: boolean }> = [];
  const fetchAzure: typeof fetch = async (input, init) => {
    const request = new Request(input as string | URL | Request, init);
    const url = new URL(request.url);
    if (url.protocol === 'data:') return fetch(request); // the SDK's own probe of fetch, not an API request
    const path = url.pathname.replace(/^\/openai(?=\/)/, '');
    const apiVersion = url.searchParams.get('api-version');
    const apiKey = request.headers.get('api-key');
    seen.push({ method: request.method, path, apiVersion, apiKey: apiKey !== null, authorization: request.headers.has('authorization') });
    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    if (!url.pathname.startsWith('/openai/')) return json(404, { error: { code: '404', message: 'Resource not found' } });
    if (!apiVersion) return json(400, { error: { code: 'missing_api_version', message: 'api-version query parameter is required' } });
    if (!apiKey) return json(401, { error: { code: '401', message: 'Access denied due to missing subscription key.' } });
    if (request.method === 'GET' && /^\/containers\/[^/]+$/.test(path)) return json(opts.refusalStatus ?? 400, AZURE_REFUSAL);
    url.searchParams.delete('api-version');
    const headers = new Headers(request.headers);
    headers.delete('api-key');
    headers.set('authorization', `Bearer ${apiKey}`);
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.arrayBuffer();
    return fetch(`${simulatorUrl}${path}${url.search}`, { method: request.method, headers, body, signal: request.signal });
  };
  return { fetch: fetchAzure, seen };
}
