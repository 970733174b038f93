/**
 * Manifest entries as ordinary ElizaOS objects. Each wrapper turns every failure (the sidekick down, a
 * Python exception, a timeout) into what ElizaOS expects from a failing component — a failed ActionResult,
 * an empty provider result, `false` from validate — because 1.7.2 does not catch errors thrown by action
 * handlers, provider `get`s or validators (one throw would abort the whole message).
 */

import {
  Service,
  getStreamingContext,
  type Action,
  type ActionExample,
  type ActionResult,
  type Evaluator,
  type HandlerCallback,
  type HandlerOptions,
  type IAgentRuntime,
  type Memory,
  type Provider,
  type ProviderResult,
  type State,
} from '@elizaos/core';

import type { SidekickBridge } from './bridge.js';
import { bridgeFor } from './bridge.js';
import { normalizeResult } from './host.js';
import type { ActionResultWire, ActionSpec, EvaluatorSpec, ProviderSpec, ServiceSpec } from './protocol.js';
import { RpcError } from './rpc.js';
import { wireMemory } from './wire.js';

export function describeError(err: unknown): string {
  if (err instanceof RpcError) return `${err.message} (code ${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

function errorCode(err: unknown): number | undefined {
  return err instanceof RpcError ? err.code : undefined;
}

type StreamSink = (chunk: string, messageId?: string) => Promise<void>;

async function validateRemotely(
  bridge: SidekickBridge,
  method: 'action/validate' | 'evaluator/validate',
  name: string,
  hasValidate: () => boolean,
  message: Memory,
  state: State | undefined,
): Promise<boolean> {
  if (!bridge.ready) return false; // hidden from the model while the sidekick is down
  if (!hasValidate()) return true;
  try {
    const r = await bridge.invoke<{ valid: boolean }>(
      method,
      { message, state },
      { name },
      { timeoutMs: bridge.config.providerTimeoutMs },
    );
    return r.valid === true;
  } catch (err) {
    bridge.runtime.logger.warn(`[python-sidekick] ${method} ${name}: ${describeError(err)}`);
    return false;
  }
}

export function pythonAction(bridge: SidekickBridge, spec: ActionSpec): Action {
  const current = (): ActionSpec | undefined => bridge.manifest.actions.find((a) => a.name === spec.name);
  return {
    name: spec.name,
    description: spec.description || `Python action ${spec.name}`,
    similes: spec.similes,
    examples: spec.examples as unknown as ActionExample[][],
    parameters: spec.parameters ?? undefined,
    validate: (_runtime: IAgentRuntime, message: Memory, state?: State) =>
      validateRemotely(bridge, 'action/validate', spec.name, () => current()?.hasValidate ?? false, message, state),
    handler: async (
      runtime: IAgentRuntime,
      message: Memory,
      state?: State,
      options?: HandlerOptions,
      callback?: HandlerCallback,
      responses?: Memory[],
    ): Promise<ActionResult> => {
      const onStreamChunk = options?.onStreamChunk as StreamSink | undefined;
      const previous = options?.actionContext?.previousResults ?? [];
      try {
        const r = await bridge.invoke<{ result: ActionResultWire | null }>(
          'action/invoke',
          { message, state, callback, onStreamChunk, streamMessageId: getStreamingContext()?.messageId },
          {
            name: spec.name,
            options: {
              parameters: (options?.parameters as Record<string, unknown> | undefined) ?? {},
              actionContext: { previousResults: previous.map((p) => normalizeResult(p)).filter(Boolean) },
            },
            responses: (responses ?? []).map(wireMemory),
            streaming: Boolean(onStreamChunk),
          },
          { timeoutMs: bridge.config.actionTimeoutMs },
        );
        const result = r.result ?? { success: true };
        return { ...result, data: { actionName: spec.name, ...(result.data ?? {}) } };
      } catch (err) {
        const message_ = `Python action ${spec.name} failed: ${describeError(err)}`;
        runtime.logger.warn(`[python-sidekick] ${message_}`);
        return { success: false, error: message_, data: { actionName: spec.name, errorCode: errorCode(err) } };
      }
    },
  };
}

export function pythonProvider(bridge: SidekickBridge, spec: ProviderSpec): Provider {
  return {
    name: spec.name,
    description: spec.description || undefined,
    dynamic: spec.dynamic,
    private: spec.private,
    position: spec.position,
    get: async (runtime: IAgentRuntime, message: Memory, state: State): Promise<ProviderResult> => {
      try {
        return await bridge.invoke<ProviderResult>(
          'provider/get',
          { message, state },
          { name: spec.name },
          { timeoutMs: bridge.config.providerTimeoutMs },
        );
      } catch (err) {
        runtime.logger.warn(`[python-sidekick] Python provider ${spec.name} failed: ${describeError(err)}`);
        return { text: '', values: {}, data: { error: `Python provider ${spec.name} failed: ${describeError(err)}` } };
      }
    },
  };
}

export function pythonEvaluator(bridge: SidekickBridge, spec: EvaluatorSpec): Evaluator {
  const current = (): EvaluatorSpec | undefined => bridge.manifest.evaluators.find((e) => e.name === spec.name);
  return {
    name: spec.name,
    description: spec.description || `Python evaluator ${spec.name}`,
    similes: spec.similes,
    alwaysRun: spec.alwaysRun,
    examples: [],
    validate: (_runtime: IAgentRuntime, message: Memory, state?: State) =>
      validateRemotely(bridge, 'evaluator/validate', spec.name, () => current()?.hasValidate ?? false, message, state),
    handler: async (
      runtime: IAgentRuntime,
      message: Memory,
      state?: State,
      _options?: HandlerOptions,
      callback?: HandlerCallback,
      responses?: Memory[],
    ): Promise<ActionResult> => {
      try {
        const r = await bridge.invoke<{ result: ActionResultWire | null }>(
          'evaluator/invoke',
          { message, state, callback },
          { name: spec.name, responses: (responses ?? []).map(wireMemory) },
          { timeoutMs: bridge.config.actionTimeoutMs },
        );
        return r.result ?? { success: true };
      } catch (err) {
        const text = `Python evaluator ${spec.name} failed: ${describeError(err)}`;
        runtime.logger.warn(`[python-sidekick] ${text}`);
        return { success: false, error: text };
      }
    },
  };
}

/** A TS service class standing for one Python service: `start`/`stop` go to the sidekick. */
export function pythonServiceClass(spec: ServiceSpec): typeof Service {
  class PythonService extends Service {
    static override serviceType = spec.serviceType;
    override capabilityDescription = spec.description || `Python service ${spec.serviceType}`;

    static override async start(runtime: IAgentRuntime): Promise<Service> {
      const bridge = bridgeFor(runtime);
      if (!bridge) throw new Error(`python-sidekick is not running for agent ${runtime.agentId}`);
      await bridge.supervisor.call('service/start', { serviceType: spec.serviceType });
      bridge.startedServices.add(spec.serviceType);
      return new PythonService(runtime);
    }

    override async stop(): Promise<void> {
      const bridge = bridgeFor(this.runtime);
      bridge?.startedServices.delete(spec.serviceType);
      if (!bridge?.ready) return;
      await bridge.supervisor.call('service/stop', { serviceType: spec.serviceType }).catch(() => undefined);
    }
  }
  return PythonService;
}
