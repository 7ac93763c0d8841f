import { errorResponse } from './api-error.js';

interface Listed {
  id: string;
}

/** Cursor pagination as the API does it: `after` (an id), `limit` 1..100 (default 20), `order`. */
export function paginate<T extends Listed>(
  items: readonly T[],
  query: Record<string, string>,
  toJson: (item: T) => object,
): Response {
  const limit = query.limit === undefined ? 20 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return errorResponse(400, `Invalid 'limit': integer below minimum value. Expected a value between 1 and 100, but got ${query.limit} instead.`, {
      param: 'limit',
      code: 'integer_below_min_value',
    });
  }
  const order = query.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') {
    return errorResponse(400, `Invalid value: '${order}'. Supported values are: 'asc' and 'desc'.`, { param: 'order', code: 'invalid_value' });
  }
  const sorted = order === 'asc' ? [...items] : [...items].reverse();
  let start = 0;
  if (query.after !== undefined) {
    const at = sorted.findIndex((item) => item.id === query.after);
    start = at === -1 ? sorted.length : at + 1;
  }
  const page = sorted.slice(start, start + limit);
  return Response.json({
    object: 'list',
    data: page.map(toJson),
    first_id: page[0]?.id ?? '',
    last_id: page.at(-1)?.id ?? '',
    has_more: start + limit < sorted.length,
  });
}
