import { serveOnLoopback, type RunningServer } from '../testing/http-server.js';
import { Simulator, type SimulatorOptions } from '../testing/simulator.js';

/** The simulator on a loopback port, for offline runs (no msw needed). */
export async function startOfflineServer(options: SimulatorOptions = {}): Promise<{ simulator: Simulator; server: RunningServer }> {
  const simulator = new Simulator(options);
  const server = await serveOnLoopback(simulator.handle);
  return { simulator, server };
}
