import type { RunningServer } from '../testing/http-server.js';
import { Simulator, type SimulatorOptions } from '../testing/simulator.js';

/** The simulator on a loopback port, for offline runs (its core only: no msw needed). */
export async function startOfflineServer(options: SimulatorOptions = {}): Promise<{ simulator: Simulator; server: RunningServer }> {
  const simulator = new Simulator(options);
  return { simulator, server: await simulator.listen() };
}
