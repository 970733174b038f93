/**
 * One agent's link to its sidekick: the supervised process, the reverse channel, and the ElizaOS objects
 * registered from the manifest. Created in the plugin's `init` (the only point where 1.7.2 registers a
 * plugin's components) and stopped by the plugin's service when the runtime stops.
 */

import type { IAgentRuntime, Memory, State } from '@elizaos/core';

import { pythonAction, pythonEvaluator, pythonProvider, pythonServiceClass } from './components.js';
import type { SidekickConfig } from './config.js';
import { ReverseChannel, type Invocation } from './host.js';
import type { InitializeResult, Manifest } from './protocol.js';
import type { RequestOptions } from './rpc.js';
import { SidekickSupervisor, type LoggerLike } from './supervisor.js';
import { toJson, wireMemory, wireState } from './wire.js';

const bridges = new WeakMap<IAgentRuntime, SidekickBridge>();

export function bridgeFor(runtime: IAgentRuntime): SidekickBridge | undefined {
  return bridges.get(runtime);
}

function loggerFor(runtime: IAgentRuntime): LoggerLike {
  const l = runtime.logger;
  return {
    debug: (m) => l.debug(m),
    info: (m) => l.info(m),
    warn: (m) => l.warn(m),
    error: (m) => l.error(m),
  };
}

/** Character fields for the sidekick, secrets left out. */
function publicCharacter(runtime: IAgentRuntime): Record<string, unknown> {
  const { secrets: _secrets, settings, ...rest } = runtime.character as unknown as Record<string, unknown>;
  const publicSettings =
    settings && typeof settings === 'object' ? { ...(settings as Record<string, unknown>), secrets: undefined } : undefined;
  return toJson({ ...rest, settings: publicSettings }) as Record<string, unknown>;
}

export class SidekickBridge {
  readonly supervisor: SidekickSupervisor;
  readonly channel: ReverseChannel;
  manifest: Manifest = { actions: [], providers: [], evaluators: [], services: [], delegate: false };
  readonly pythonActions = new Set<string>();
  private readonly providers = new Set<string>();
  private readonly evaluators = new Set<string>();
  private readonly services = new Set<string>();
  /** Python services started through their TS service class (started again after a restart). */
  readonly startedServices = new Set<string>();

  constructor(
    readonly runtime: IAgentRuntime,
    readonly config: SidekickConfig,
  ) {
    this.channel = new ReverseChannel(runtime);
    this.supervisor = new SidekickSupervisor({
      command: config.command,
      cwd: config.cwd,
      agent: { id: runtime.agentId, name: runtime.character.name, character: publicCharacter(runtime) },
      handler: this.channel,
      logger: loggerFor(runtime),
      startTimeoutMs: config.startTimeoutMs,
      healthIntervalMs: config.healthIntervalMs,
      healthTimeoutMs: config.healthTimeoutMs,
      onReady: (init, restarted, request) => this.onReady(init, restarted, request),
    });
  }

  static attach(runtime: IAgentRuntime, config: SidekickConfig): SidekickBridge {
    const bridge = new SidekickBridge(runtime, config);
    bridges.set(runtime, bridge);
    return bridge;
  }

  get ready(): boolean {
    return this.supervisor.state === 'ready';
  }

  async start(): Promise<void> {
    try {
      await this.supervisor.start();
    } catch (err) {
      bridges.delete(this.runtime);
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.supervisor.stop();
    if (bridges.get(this.runtime) === this) bridges.delete(this.runtime);
  }

  private async onReady(
    init: InitializeResult,
    restarted: boolean,
    request: (method: string, params: unknown) => Promise<unknown>,
  ): Promise<void> {
    this.manifest = init.manifest;
    this.register(init.manifest);
    if (restarted) {
      for (const serviceType of this.startedServices) {
        await request('service/start', { serviceType }).catch((err: unknown) => {
          this.runtime.logger.warn(`[python-sidekick] could not restart service ${serviceType}: ${String(err)}`);
        });
      }
    }
  }

  /** Register what the manifest declares and is not registered yet (a restart may bring new components). */
  register(manifest: Manifest): void {
    const rt = this.runtime;
    for (const spec of manifest.actions) {
      if (this.pythonActions.has(spec.name)) continue;
      this.pythonActions.add(spec.name);
      rt.registerAction(pythonAction(this, spec));
    }
    for (const spec of manifest.providers) {
      if (this.providers.has(spec.name)) continue;
      this.providers.add(spec.name);
      rt.registerProvider(pythonProvider(this, spec));
    }
    for (const spec of manifest.evaluators) {
      if (this.evaluators.has(spec.name)) continue;
      this.evaluators.add(spec.name);
      rt.registerEvaluator(pythonEvaluator(this, spec));
    }
    for (const spec of manifest.services) {
      if (this.services.has(spec.serviceType)) continue;
      this.services.add(spec.serviceType);
      // registerService waits for initialize() to finish, so it must not be awaited inside init
      rt.registerService(pythonServiceClass(spec)).catch((err: unknown) => {
        rt.logger.error(`[python-sidekick] service ${spec.serviceType} failed to register: ${String(err)}`);
      });
    }
  }

  /** One component call: open an invocation for the reverse channel, send, close. */
  async invoke<T>(
    method: string,
    context: { message: Memory; state?: State } & Omit<Invocation, 'id' | 'message' | 'state'>,
    extra: Record<string, unknown>,
    options: RequestOptions,
  ): Promise<T> {
    const inv = this.channel.open(context);
    try {
      const params = {
        invocation: inv.id,
        message: wireMemory(context.message),
        state: wireState(context.state, Math.floor((this.supervisor.init?.limits.maxFrameBytes ?? 4_194_304) / 4)),
        ...extra,
      };
      return await this.supervisor.call<T>(method, params, options);
    } finally {
      this.channel.close(inv);
    }
  }
}
