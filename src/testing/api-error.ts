/** The real API's error body: `{"error": {"message", "type", "param", "code"}}`. */
export interface ApiErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

export function errorResponse(
  status: number,
  message: string,
  extra: { type?: string; param?: string | null; code?: string | null; headers?: Record<string, string> } = {},
): Response {
  const error: ApiErrorBody = {
    message,
    type: extra.type ?? (status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error'),
    param: extra.param ?? null,
    code: extra.code ?? null,
  };
  return Response.json({ error }, { status, headers: extra.headers });
}

export const notFound = (what: string, id: string) =>
  errorResponse(404, `No ${what} found with id '${id}'.`, { code: null });

export const missingParameter = (param: string) =>
  errorResponse(400, `Missing required parameter: '${param}'.`, { param, code: 'missing_required_parameter' });

export const invalidValue = (param: string, value: unknown, supported: readonly string[]) =>
  errorResponse(
    400,
    `Invalid value: '${String(value)}'. Supported values are: ${supported.map((s) => `'${s}'`).join(', ')}.`,
    { param, code: 'invalid_value' },
  );

export const invalidType = (param: string, expected: string, value: unknown) =>
  errorResponse(
    400,
    `Invalid type for '${param}': expected ${expected}, but got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`} instead.`,
    { param, code: 'invalid_type' },
  );
