/** Calls the simulator's control routes (control.ts) over HTTP from Node, typed. */
import { CONTROL_PREFIX, type ControlContainer, type ControlContainerFile, type ControlFile, type ControlRequest, type ControlState, type NewControlContainerFile } from './control.js';
import type { FaultSpec } from './types.js';

/** A control route refused a call; `status` and `message` are the route's answer. */
export class SimulatorControlError extends Error {
  override readonly name = 'SimulatorControlError';
  constructor(
    message: string,
    /** The HTTP status the route answered. */
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * Calls the control routes of a simulator served over HTTP (by `code-interpreter simulate`, in
 * another process) from Node, typed. Control calls are not written to the simulator's request log.
 *
 * @example
 * ```ts
 * const control = new SimulatorControl('http://127.0.0.1:4010');
 * await control.expire(containerId);
 * const arrivals = (await control.requests()).map((r) => r.time);
 * ```
 */
export class SimulatorControl {
  /** The server's origin, e.g. `http://127.0.0.1:4010` (a trailing `/v1` is dropped). */
  readonly endpoint: string;

  constructor(endpoint: string) {
    this.endpoint = endpoint.replace(/\/+$/, '').replace(/\/v1$/, '');
  }

  async #call(method: string, path: string, body?: unknown): Promise<Response> {
    const response = await fetch(`${this.endpoint}${CONTROL_PREFIX}${path}`, {
      method,
      ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    if (response.ok) return response;
    const text = await response.text();
    let message = text;
    try {
      message = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {
      // not a control route's JSON error (another server at this endpoint?): keep the raw text
    }
    throw new SimulatorControlError(`${method} ${CONTROL_PREFIX}${path} answered ${response.status}: ${message}`, response.status);
  }

  async #json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.#call(method, path, body)).json()) as T;
  }

  async #done(method: string, path: string, body?: unknown): Promise<void> {
    await (await this.#call(method, path, body)).body?.cancel();
  }

  /** Running containers, undeleted files and the number of requests served. */
  state(): Promise<ControlState> {
    return this.#json('GET', '/state');
  }

  /** The request log, in arrival order; `time` is the simulator's clock at arrival. */
  requests(): Promise<ControlRequest[]> {
    return this.#json('GET', '/requests');
  }

  /** Every container ever created, deleted and expired ones included. */
  containers(): Promise<ControlContainer[]> {
    return this.#json('GET', '/containers');
  }

  /** One container, or `undefined` if the simulator never made it. */
  async container(containerId: string): Promise<ControlContainer | undefined> {
    try {
      return await this.#json<ControlContainer>('GET', `/containers/${encodeURIComponent(containerId)}`);
    } catch (error) {
      if (error instanceof SimulatorControlError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** The files in a container (none once it expired). */
  containerFiles(containerId: string): Promise<ControlContainerFile[]> {
    return this.#json('GET', `/containers/${encodeURIComponent(containerId)}/files`);
  }

  /** Puts a file straight into a running container, as if the model's code wrote it. */
  addContainerFile(containerId: string, file: NewControlContainerFile): Promise<ControlContainerFile> {
    return this.#json('POST', `/containers/${encodeURIComponent(containerId)}/files`, file);
  }

  /** A container file's bytes. */
  async containerFileContent(containerId: string, fileId: string): Promise<Uint8Array> {
    const response = await this.#call('GET', `/containers/${encodeURIComponent(containerId)}/files/${encodeURIComponent(fileId)}/content`);
    return new Uint8Array(await response.arrayBuffer());
  }

  /** Expires a container now, as 20 idle minutes would: its files are gone, it stays retrievable. */
  expire(containerId: string): Promise<void> {
    return this.#done('POST', `/containers/${encodeURIComponent(containerId)}/expire`);
  }

  /** Files API files, deleted ones included. */
  files(): Promise<ControlFile[]> {
    return this.#json('GET', '/files');
  }

  /** Injects a fault for the next `times` matching requests (default 1); a RegExp `path` (without flags) is sent as its source. */
  fail(fault: FaultSpec): Promise<void> {
    const { path, ...rest } = fault;
    if (path instanceof RegExp && path.flags) throw new TypeError(`fault.path ${String(path)}: only the source of a RegExp is sent; give one without flags.`);
    return this.#done('POST', '/faults', path instanceof RegExp ? { ...rest, pathPattern: path.source } : fault);
  }

  /** Forgets injected faults that have not fired yet. */
  clearFaults(): Promise<void> {
    return this.#done('DELETE', '/faults');
  }

  /** Clears all state, faults and the request log. */
  reset(): Promise<void> {
    return this.#done('POST', '/reset');
  }
}
