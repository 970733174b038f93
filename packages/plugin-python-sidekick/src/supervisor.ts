/**
 * Runs the Python sidekick as a child process and keeps it alive: spawn, `initialize` (version negotiation,
 * limits, manifest), periodic `$/ping` health checks, restart with exponential backoff after a crash or a
 * failed health check, and a clean `shutdown` when the agent stops. While the process is down every call
 * fails at once with an UNAVAILABLE error that says why and when the next attempt is.
 */

import { spawn, type ChildProcess } from 'node:child_process';

import {
  ErrorCode,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  type AgentInfo,
  type InitializeResult,
  type PingResult,
} from './protocol.js';
import { coalescingWriter, LineDecoder, RpcConnection, RpcError, type RequestOptions, type RpcHandler } from './rpc.js';

export type SidekickState = 'idle' | 'starting' | 'ready' | 'restarting' | 'stopped';

export interface LoggerLike {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface SupervisorOptions {
  /** argv of the sidekick process, e.g. `['elizapy', 'sidekick', '--module', 'mymod']`. */
  command: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  agent: AgentInfo;
  /** Serves the reverse channel (the sidekick's requests to the runtime). */
  handler: RpcHandler;
  logger: LoggerLike;
  startTimeoutMs?: number;
  requestTimeoutMs?: number;
  healthIntervalMs?: number;
  healthTimeoutMs?: number;
  /** Consecutive failed health checks before the process is killed and restarted. */
  healthFailures?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  maxFrameBytes?: number;
  maxInFlight?: number;
  /** Called after every successful (re)start, before calls are let through. */
  onReady?: (
    init: InitializeResult,
    restarted: boolean,
    request: <T>(method: string, params: unknown, options?: RequestOptions) => Promise<T>,
  ) => void | Promise<void>;
}

const STDERR_TAIL_LINES = 30;

export class SidekickSupervisor {
  private stateValue: SidekickState = 'idle';
  private readonly listeners = new Set<(state: SidekickState) => void>();
  init: InitializeResult | null = null;
  restarts = 0;
  lastExit: string | null = null;
  private child: ChildProcess | null = null;
  private conn: RpcConnection | null = null;
  private stderrTail: string[] = [];
  private failures = 0;
  private nextAttemptAt = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly opts: Required<Omit<SupervisorOptions, 'cwd' | 'env' | 'onReady'>> &
    Pick<SupervisorOptions, 'cwd' | 'env' | 'onReady'>;

  constructor(options: SupervisorOptions) {
    this.opts = {
      startTimeoutMs: 20_000,
      requestTimeoutMs: 30_000,
      healthIntervalMs: 10_000,
      healthTimeoutMs: 5_000,
      healthFailures: 2,
      backoffInitialMs: 250,
      backoffMaxMs: 10_000,
      maxFrameBytes: 4 * 1024 * 1024,
      maxInFlight: 64,
      ...options,
    };
  }

  get state(): SidekickState {
    return this.stateValue;
  }

  private set state(next: SidekickState) {
    if (next === this.stateValue) return;
    this.stateValue = next;
    for (const listener of [...this.listeners]) {
      try {
        listener(next);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  /** Be told of every state change (`starting`, `ready`, `restarting`, `stopped`); returns an unsubscribe. */
  onStateChange(listener: (state: SidekickState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when the supervisor reaches `state` (at once if it is there), rejects after `timeoutMs`. */
  waitFor(state: SidekickState, timeoutMs: number): Promise<void> {
    if (this.stateValue === state) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`sidekick did not reach ${state} within ${timeoutMs} ms (now ${this.stateValue})`));
      }, timeoutMs);
      const off = this.onStateChange((s) => {
        if (s !== state) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child?.pid ?? undefined;
  }

  get commandLine(): string {
    return this.opts.command.join(' ');
  }

  /** First start: resolves with the manifest, or rejects with what went wrong (stderr included). */
  async start(): Promise<InitializeResult> {
    if (this.state !== 'idle') throw new Error(`sidekick already ${this.state}`);
    return this.launch(false);
  }

  /** A request to the sidekick; fails at once with UNAVAILABLE while it is not running. */
  call<T>(method: string, params: unknown, options: RequestOptions = {}): Promise<T> {
    if (this.state !== 'ready' || !this.conn) return Promise.reject(this.unavailable());
    return this.conn.request<T>(method, params, { timeoutMs: this.opts.requestTimeoutMs, ...options });
  }

  /** Why calls fail right now, for error messages. */
  unavailable(): RpcError {
    const what = `Python sidekick (${this.commandLine})`;
    let why: string;
    if (this.state === 'stopped') why = 'has been stopped';
    else if (this.state === 'restarting') {
      const wait = Math.max(0, this.nextAttemptAt - Date.now());
      why = `is down (${this.lastExit ?? 'not started'}); restart attempt ${this.failures + 1} in ${wait} ms`;
    } else if (this.state === 'starting') why = 'is starting';
    else why = 'is not started';
    const tail = this.stderrTail.slice(-5).join(' | ');
    return new RpcError(ErrorCode.UNAVAILABLE, `${what} ${why}${tail ? `; last stderr: ${tail}` : ''}`, {
      state: this.state,
      restarts: this.restarts,
    });
  }

  async ping(timeoutMs = this.opts.healthTimeoutMs): Promise<PingResult> {
    return this.call<PingResult>('$/ping', {}, { timeoutMs });
  }

  /** `shutdown`, close stdin, then SIGTERM/SIGKILL if the process lingers. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return this.exited;
    const wasReady = this.state === 'ready';
    this.state = 'stopped';
    this.clearTimers();
    const child = this.child;
    const conn = this.conn;
    if (!child) return;
    if (wasReady && conn) {
      try {
        await conn.request('shutdown', {}, { timeoutMs: 2_000 });
      } catch (err) {
        this.opts.logger.debug(`[python-sidekick] shutdown: ${String(err)}`);
      }
    }
    child.stdin?.end();
    if (await this.waitExit(3_000)) return;
    child.kill('SIGTERM');
    if (await this.waitExit(2_000)) return;
    child.kill('SIGKILL');
    await this.waitExit(2_000);
  }

  /** Kill the process the hard way (tests use it to simulate a crash); the supervisor restarts it. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  // --- internals ------------------------------------------------------------------------------------------

  private waitExit(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      void this.exited.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private clearTimers(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.restartTimer = null;
    this.healthTimer = null;
  }

  private async launch(restarted: boolean): Promise<InitializeResult> {
    this.state = 'starting';
    const [cmd, ...args] = this.opts.command;
    if (!cmd) throw new Error('PYTHON_SIDEKICK_COMMAND is empty');
    this.stderrTail = [];
    const child = spawn(cmd, args, {
      cwd: this.opts.cwd,
      env: this.opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      // its own process group: a terminal's Ctrl-C reaches node, which then stops the sidekick in order;
      // if node dies instead, the sidekick sees end-of-input on stdin and exits by itself
      detached: true,
    });
    this.child = child;
    const conn = new RpcConnection(coalescingWriter((data) => child.stdin?.write(data)), this.opts.handler, {
      maxFrameBytes: this.opts.maxFrameBytes,
      maxInFlight: this.opts.maxInFlight,
      defaultTimeoutMs: this.opts.requestTimeoutMs,
      onWarning: (m) => this.opts.logger.warn(`[python-sidekick] ${m}`),
    });
    this.conn = conn;
    const decoder = new LineDecoder(
      this.opts.maxFrameBytes,
      (line) => conn.receive(line),
      (size, head) => conn.receiveOversize(size, head),
    );
    child.stdout?.on('data', (chunk: Buffer) => decoder.push(chunk));
    let partial = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.onStderr(line);
    });
    child.stdin?.on('error', (err) => this.opts.logger.debug(`[python-sidekick] stdin: ${err.message}`));
    let spawnError: Error | null = null;
    this.exited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        spawnError = err;
        this.onExit(child, `could not be spawned: ${err.message}`);
        resolve();
      });
      child.once('exit', (code, signal) => {
        if (partial) this.onStderr(partial);
        this.onExit(child, signal ? `killed by ${signal}` : `exited with code ${code}`);
        resolve();
      });
    });

    let init: InitializeResult;
    try {
      init = await conn.request<InitializeResult>(
        'initialize',
        {
          protocolVersions: [...SUPPORTED_VERSIONS],
          host: { name: '@elizapy/plugin-python-sidekick', version: '0.1.0' },
          agent: this.opts.agent,
          limits: conn.limits,
        },
        { timeoutMs: this.opts.startTimeoutMs },
      );
      if (!SUPPORTED_VERSIONS.includes(init.protocolVersion)) {
        throw new Error(`the sidekick chose protocol ${init.protocolVersion}; this plugin speaks ${PROTOCOL_VERSION}`);
      }
      conn.setPeerLimits(init.limits);
      if (this.opts.onReady) {
        await this.opts.onReady(init, restarted, (method, params, options) => conn.request(method, params, options));
      }
    } catch (err) {
      const why = spawnError ?? err;
      const tail = this.stderrTail.slice(-10).join('\n');
      if (this.child === child) {
        this.child = null;
        this.conn = null;
      }
      conn.close(new RpcError(ErrorCode.UNAVAILABLE, 'the Python sidekick failed to start'));
      child.kill('SIGKILL');
      const message = `could not start the Python sidekick (${this.commandLine}): ${why instanceof Error ? why.message : String(why)}${
        tail ? `\n--- sidekick stderr ---\n${tail}` : ''
      }`;
      throw new Error(message);
    }
    if (this.state !== 'starting' || this.child !== child) {
      throw new Error('the Python sidekick was stopped while starting');
    }
    this.init = init;
    this.state = 'ready';
    this.failures = 0;
    this.startHealthChecks(child);
    this.opts.logger.info(
      `[python-sidekick] ${restarted ? 'restarted' : 'started'} pid ${child.pid}: ${init.manifest.actions.length} actions, ` +
        `${init.manifest.providers.length} providers, ${init.manifest.evaluators.length} evaluators (protocol ${init.protocolVersion})`,
    );
    return init;
  }

  private onStderr(line: string): void {
    if (!line.trim()) return;
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    const log = this.opts.logger;
    if (/^(ERROR|CRITICAL|Traceback)/.test(line)) log.error(`[python-sidekick] ${line}`);
    else if (/^WARNING/.test(line)) log.warn(`[python-sidekick] ${line}`);
    else log.debug(`[python-sidekick] ${line}`);
  }

  private onExit(child: ChildProcess, how: string): void {
    if (this.child !== child) return;
    this.lastExit = `${how} at ${new Date().toISOString()}`;
    const error = new RpcError(ErrorCode.UNAVAILABLE, `the Python sidekick ${how}`);
    this.conn?.close(error);
    this.conn = null;
    this.child = null;
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.healthTimer = null;
    // A failed (re)start is reported by launch() itself; stop() waits for the exit.
    if (this.state === 'stopped' || this.state === 'idle' || this.state === 'starting') return;
    this.opts.logger.warn(`[python-sidekick] ${this.lastExit}; restarting`);
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    this.state = 'restarting';
    const delay = Math.min(this.opts.backoffMaxMs, this.opts.backoffInitialMs * 2 ** this.failures);
    this.nextAttemptAt = Date.now() + delay;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.state !== 'restarting') return;
      this.restarts += 1;
      this.launch(true).catch((err: unknown) => {
        if ((this.state as SidekickState) === 'stopped') return;
        this.failures += 1;
        this.opts.logger.warn(`[python-sidekick] restart failed: ${err instanceof Error ? err.message : String(err)}`);
        this.scheduleRestart();
      });
    }, delay);
    this.restartTimer.unref();
  }

  private startHealthChecks(child: ChildProcess): void {
    if (this.opts.healthIntervalMs <= 0) return;
    let busy = false;
    let missed = 0;
    this.healthTimer = setInterval(() => {
      if (busy || this.child !== child || this.state !== 'ready') return;
      busy = true;
      this.ping()
        .then(() => {
          missed = 0;
        })
        .catch((err: unknown) => {
          if (this.child !== child || this.state !== 'ready') return;
          missed += 1;
          if (missed < this.opts.healthFailures) {
            this.opts.logger.warn(`[python-sidekick] health check failed (${String(err)}), ${missed} in a row`);
            return;
          }
          this.opts.logger.warn(`[python-sidekick] ${missed} health checks failed (${String(err)}); killing pid ${child.pid}`);
          child.kill('SIGKILL');
        })
        .finally(() => {
          busy = false;
        });
    }, this.opts.healthIntervalMs);
    this.healthTimer.unref();
  }
}
