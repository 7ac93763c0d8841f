/** `/files` (the Files API): upload, list, retrieve, delete, content. */
import { errorResponse, invalidValue, missingParameter } from '../api-error.js';
import { bytesContent } from '../content.js';
import { newId } from '../ids.js';
import { paginate } from '../pagination.js';
import type { Route } from '../router.js';
import type { SimState } from '../state.js';
import type { SimFile } from '../types.js';
import { contentResponse, seconds } from '../util.js';

const FILE_PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] as const;

function fileJson(file: SimFile) {
  return {
    id: file.id,
    object: 'file',
    bytes: file.content.size,
    created_at: seconds(file.createdAt),
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
  };
}

async function createFile(state: SimState, form: FormData | undefined): Promise<Response> {
  if (!form) return missingParameter('file');
  const upload = form.get('file');
  const purpose = form.get('purpose');
  if (!upload || typeof upload === 'string') return missingParameter('file');
  if (typeof purpose !== 'string') return missingParameter('purpose');
  if (!FILE_PURPOSES.includes(purpose as never)) return invalidValue('purpose', purpose, FILE_PURPOSES);
  const file: SimFile = {
    id: newId.file(),
    filename: upload.name,
    purpose,
    createdAt: state.now(),
    content: bytesContent(new Uint8Array(await upload.arrayBuffer())),
    deleted: false,
  };
  state.files.set(file.id, file);
  return Response.json(fileJson(file));
}

function withFile(state: SimState, id: string, fn: (f: SimFile) => Response): Response {
  const file = state.liveFile(id);
  return file ? fn(file) : errorResponse(404, `No such File object: ${id}`, { param: 'id' });
}

export const fileRoutes: Route[] = [
  { method: 'POST', path: '/files', handle: ({ state, form }) => createFile(state, form) },
  {
    method: 'GET',
    path: '/files',
    handle: ({ state, query }) =>
      paginate(
        [...state.files.values()].filter((f) => !f.deleted && (query.purpose === undefined || f.purpose === query.purpose)),
        query,
        fileJson,
      ),
  },
  { method: 'GET', path: '/files/{file_id}', handle: ({ state, params }) => withFile(state, params.file_id!, (f) => Response.json(fileJson(f))) },
  {
    method: 'DELETE',
    path: '/files/{file_id}',
    handle: ({ state, params }) =>
      withFile(state, params.file_id!, (f) => {
        f.deleted = true;
        return Response.json({ id: f.id, object: 'file', deleted: true });
      }),
  },
  {
    method: 'GET',
    path: '/files/{file_id}/content',
    handle: ({ state, params }) => withFile(state, params.file_id!, (f) => contentResponse(f.content, f.filename)),
  },
];
