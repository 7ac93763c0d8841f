import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { resolvePrices } from '../cost/prices.js';
import { CostTracker } from '../cost/tracker.js';
import type { KeepAlive } from '../container/keep-alive.js';
import { sessionKeepAlive } from '../container/keep-alive-touch.js';
import { ContainerLifecycle } from '../container/lifecycle.js';
import { containerSecrets } from '../container/types.js';
import { Downloads } from '../downloads/downloads.js';
import { InvalidOptionsError, describeError, redact } from '../errors.js';
import { TypedEmitter } from '../events.js';
import { SessionFiles } from '../files/session-files.js';
import { validateSessionOptions, type SessionOptions } from '../options.js';
import { defaultRateLimiter } from '../ratelimit/sliding-window.js';
import { RETRY_DEFAULTS, type RetryOptions } from '../retry/policy.js';
import { RequestRunner, emptyStats, type SessionStats as RequestCounters } from '../retry/request-runner.js';
import { Conversation } from '../runs/conversation.js';
import { HistoryLedger } from '../runs/history.js';
import { RunRecovery } from '../runs/run-recovery.js';
import type { TurnParts } from '../runs/turn.js';
import { MemorySessionStore } from '../store/memory-store.js';
import { StateHolder } from '../store/state-holder.js';
import { createSessionFetch, type SessionFetch } from '../transport/session-fetch.js';
import { PublicCalls } from './public-calls.js';

/**
 * What a session is made of (see docs/architecture.md): its options validated and its parts wired
 * together. `CodeInterpreterSession` delegates to these.
 */
export class SessionParts implements TurnParts {
  readonly id: string;
  readonly options: SessionOptions;
  readonly client: OpenAI;
  readonly events = new TypedEmitter();
  readonly counters: RequestCounters = emptyStats();
  readonly cost: CostTracker;
  readonly state: StateHolder;
  readonly runner: RequestRunner;
  readonly lifecycle: ContainerLifecycle;
  readonly keepAlive: KeepAlive | undefined;
  readonly calls: PublicCalls;
  readonly files: SessionFiles;
  readonly downloads: Downloads;
  readonly ledger = new HistoryLedger();
  readonly recovery: RunRecovery;
  readonly persistGeneratedFiles: boolean;

  constructor(given: SessionOptions) {
    const options = (this.options = validateSessionOptions(given));
    const client = (this.client = options.client ?? defaultClient());
    const id = (this.id = options.sessionId ?? randomUUID());
    this.state = new StateHolder(options.store ?? new MemorySessionStore(), id, () => {
      // Closed by another process: stop touching, and make no container from now on.
      this.keepAlive?.stop();
      this.lifecycle.close();
    });
    this.cost = new CostTracker(resolvePrices(options.pricing));
    this.runner = new RequestRunner(client, options.rateLimiter ?? defaultRateLimiter(), retryPolicy(options.retry), this.events, this.counters, containerSecrets(options.container));
    this.events.scrubber = this.runner.scrubber;
    this.lifecycle = new ContainerLifecycle({
      runner: this.runner,
      state: this.state,
      events: this.events,
      options: options.container ?? {},
      defaultName: `code-interpreter-session-${id.slice(0, 36)}`,
      onActivity: (kind = 'work') => this.noteContainerActivity(kind),
      cost: this.cost,
    });
    this.keepAlive = sessionKeepAlive(this);
    this.calls = new PublicCalls(this);
    this.files = new SessionFiles({ runner: this.runner, lifecycle: this.lifecycle, state: this.state, events: this.events });
    this.downloads = new Downloads({
      runner: this.runner,
      lifecycle: this.lifecycle,
      state: this.state,
      onActivity: () => this.noteContainerActivity('work'),
    });
    const ledger = this.ledger;
    this.events.on('container.expired', ({ containerId }) => ledger.noteDead(containerId));
    this.recovery = new RunRecovery({
      runner: this.runner,
      lifecycle: this.lifecycle,
      ledger,
      conversation: new Conversation(this.state),
      state: this.state,
      model: options.model,
      instructions: options.instructions,
    });
    this.persistGeneratedFiles = options.persistGeneratedFiles === true;
  }

  /**
   * The session's `fetch` (see `session.fetch`): each request is a call of the session, which
   * close() aborts and waits for (body included).
   */
  createFetch(): SessionFetch {
    const { calls, files } = this;
    const fetch = createSessionFetch({
      sessionId: this.id,
      runner: this.runner,
      lifecycle: this.lifecycle,
      ledger: this.ledger,
      begin: () => calls.begin('fetch'),
      attachFile: (fileId, signal) => files.attachFile(fileId, signal),
      restoredFilenames: () => files.tracked.map((f) => f.filename),
    });
    return calls.inFlight.fetch.bind(calls.inFlight, fetch);
  }

  private noteContainerActivity(kind: 'work' | 'touch'): void {
    this.keepAlive?.noteContainerActivity();
    this.cost.active(this.lifecycle.containerId, kind);
  }
}

function retryPolicy(given: SessionOptions['retry']): Required<RetryOptions> | false {
  if (given === false) return false;
  return {
    retries: given?.retries ?? RETRY_DEFAULTS.retries,
    minTimeoutMs: given?.minTimeoutMs ?? RETRY_DEFAULTS.minTimeoutMs,
    maxTimeoutMs: given?.maxTimeoutMs ?? RETRY_DEFAULTS.maxTimeoutMs,
  };
}

function defaultClient(): OpenAI {
  try {
    return new OpenAI();
  } catch (error) {
    throw new InvalidOptionsError('new CodeInterpreterSession()', [
      { path: 'client', message: `no client given and the default one could not be made (${redact(describeError(error))}); pass { client: new OpenAI({ apiKey }) } or set OPENAI_API_KEY` },
    ]);
  }
}
