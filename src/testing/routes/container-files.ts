/** `/containers/{container_id}/files`: upload or copy, list, retrieve, delete, content. */
import { errorResponse, invalidType, missingParameter } from '../api-error.js';
import { bytesContent } from '../content.js';
import { paginate } from '../pagination.js';
import type { Route, RouteContext } from '../router.js';
import type { SimState } from '../state.js';
import type { SimContainer, SimContainerFile } from '../types.js';
import { baseName, contentResponse, isObject, seconds } from '../util.js';
import { withRunningContainer } from './containers.js';

export function containerFileJson(file: SimContainerFile) {
  return {
    id: file.id,
    object: 'container.file',
    created_at: seconds(file.createdAt),
    bytes: file.content.size,
    container_id: file.containerId,
    path: file.path,
    source: file.source,
  };
}

function withContainerFile(
  state: SimState,
  { container_id: id, file_id: fileId }: Record<string, string>,
  fn: (c: SimContainer, f: SimContainerFile) => Response,
): Response | Promise<Response> {
  return withRunningContainer(state, id!, (container) => {
    const file = container.files.get(fileId!);
    return file ? fn(container, file) : errorResponse(404, `No file found with id '${fileId}' in container '${id}'.`);
  });
}

function createContainerFile({ state, params, form, json }: RouteContext): Response | Promise<Response> {
  return withRunningContainer(state, params.container_id!, (container) => {
    if (form) {
      const upload = form.get('file');
      if (!upload || typeof upload === 'string') return missingParameter('file');
      return upload.arrayBuffer().then((buffer) =>
        Response.json(containerFileJson(state.storeContainerFile(container, upload.name, bytesContent(new Uint8Array(buffer)), 'user'))),
      );
    }
    if (!isObject(json) || json.file_id === undefined) return missingParameter('file_id');
    if (typeof json.file_id !== 'string') return invalidType('file_id', 'a string', json.file_id);
    const source = state.liveFile(json.file_id);
    if (!source) return errorResponse(404, `No such File object: ${json.file_id}`, { param: 'file_id' });
    return Response.json(containerFileJson(state.storeContainerFile(container, source.filename, source.content, 'user', source.id)));
  });
}

export const containerFileRoutes: Route[] = [
  { method: 'POST', path: '/containers/{container_id}/files', handle: createContainerFile },
  {
    method: 'GET',
    path: '/containers/{container_id}/files',
    handle: ({ state, params, query }) =>
      withRunningContainer(state, params.container_id!, (c) => paginate([...c.files.values()], query, containerFileJson)),
  },
  {
    method: 'GET',
    path: '/containers/{container_id}/files/{file_id}',
    handle: ({ state, params }) => withContainerFile(state, params, (_, f) => Response.json(containerFileJson(f))),
  },
  {
    method: 'DELETE',
    path: '/containers/{container_id}/files/{file_id}',
    handle: ({ state, params }) =>
      withContainerFile(state, params, (c, f) => {
        c.files.delete(f.id);
        return Response.json({ id: f.id, object: 'container.file.deleted', deleted: true });
      }),
  },
  {
    method: 'GET',
    path: '/containers/{container_id}/files/{file_id}/content',
    handle: ({ state, params }) => withContainerFile(state, params, (_, f) => contentResponse(f.content, baseName(f.path))),
  },
];
