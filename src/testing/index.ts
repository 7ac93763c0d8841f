/**
 * The testing kit: an offline, stateful stand-in for the OpenAI API that Code Interpreter uses,
 * exposed as msw handlers and as a loopback HTTP server.
 *
 * @example
 * ```ts
 * import { setupServer } from 'msw/node';
 * import { createSimulator } from 'code-interpreter-session/testing';
 *
 * const sim = createSimulator();
 * const server = setupServer(...sim.handlers);
 * server.listen();
 * ```
 * @module
 */
import { http, type HttpHandler } from 'msw';
import { DEFAULT_AZURE_ENDPOINT } from './azure.js';
import { Simulator, type SimulatorOptions } from './simulator.js';

export { defaultRespond } from './default-respond.js';
export { bytesContent, generatedContent } from './content.js';
export { Simulator, matchesPath, type SimulatorOptions, type StoredResponse } from './simulator.js';
export type { BuiltResponse, OutputItem, CodeCallItem, MessageItem, Annotation } from './response-builder.js';
export type { ListenOptions, RunningServer } from './http-server.js';
export { SimulatorControl, SimulatorControlError } from './control-client.js';
export {
  CONTROL_PREFIX,
  withControlRoutes,
  type ControlContainer,
  type ControlContainerFile,
  type ControlFault,
  type ControlFile,
  type ControlRequest,
  type ControlState,
  type NewControlContainerFile,
} from './control.js';
export { AZURE_RETRIEVE_REFUSAL, DEFAULT_AZURE_ENDPOINT, type AzureSimulatorOptions } from './azure.js';
export type * from './types.js';

/** A {@link Simulator} (which serves HTTP itself with `listen()`) with its msw handlers. */
export interface SimulatorKit extends Simulator {
  /** msw request handlers for `setupServer(...sim.handlers)`; they answer requests under `baseUrl`. */
  readonly handlers: HttpHandler[];
}

/** Creates a simulator. See {@link SimulatorOptions} for the knobs. */
export function createSimulator(options: SimulatorOptions = {}): SimulatorKit {
  const sim = new Simulator(options) as SimulatorKit;
  const azure = options.azure === true ? {} : options.azure || undefined;
  const defaultBase = azure ? `${(azure.endpoint ?? DEFAULT_AZURE_ENDPOINT).replace(/\/+$/, '')}/openai` : 'https://api.openai.com/v1';
  const base = (options.baseUrl ?? defaultBase).replace(/\/+$/, '');
  const handlers = [
    http.all(
      ({ request }) => request.url === base || request.url.startsWith(`${base}/`) || request.url.startsWith(`${base}?`),
      ({ request }) => sim.handle(request),
    ),
  ];
  Object.defineProperty(sim, 'handlers', { value: handlers, enumerable: true });
  return sim;
}
