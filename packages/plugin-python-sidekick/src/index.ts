/**
 * @elizapy/plugin-python-sidekick — an ElizaOS 1.7 plugin that runs Python actions, providers, evaluators,
 * services and a Python tool-calling agent (`PYTHON_DELEGATE`) from an ElizaOS-Py sidekick process.
 *
 * Settings: `PYTHON_SIDEKICK_MODULE` (required), `PYTHON_SIDEKICK_COMMAND` (default `elizapy sidekick`),
 * `PYTHON_SIDEKICK_CWD`, `PYTHON_SIDEKICK_TIMEOUT_MS`, `PYTHON_SIDEKICK_PROVIDER_TIMEOUT_MS`,
 * `PYTHON_SIDEKICK_DELEGATE_TIMEOUT_MS`, `PYTHON_SIDEKICK_START_TIMEOUT_MS`,
 * `PYTHON_SIDEKICK_HEALTH_INTERVAL_MS`, `PYTHON_SIDEKICK_HEALTH_TIMEOUT_MS`, `PYTHON_DELEGATE_TOOLS`, `PYTHON_DELEGATE_MAX_STEPS`.
 *
 * Importing this module has no side effects: nothing runs until an agent that lists the plugin starts.
 */

import { Service, type IAgentRuntime, type Plugin } from '@elizaos/core';

import { SidekickBridge, bridgeFor } from './bridge.js';
import { readConfig } from './config.js';
import { pythonDelegateAction } from './delegate.js';

export const SERVICE_TYPE = 'python_sidekick';

/** Owns the sidekick's lifetime on the runtime: `runtime.stop()` stops this service, which stops Python. */
export class PythonSidekickService extends Service {
  static override serviceType = SERVICE_TYPE;
  override capabilityDescription = 'Runs and supervises the ElizaOS-Py sidekick process of this agent';

  static override async start(runtime: IAgentRuntime): Promise<Service> {
    return new PythonSidekickService(runtime);
  }

  get bridge(): SidekickBridge | undefined {
    return bridgeFor(this.runtime);
  }

  override async stop(): Promise<void> {
    await bridgeFor(this.runtime)?.stop();
  }
}

export const pythonSidekickPlugin: Plugin = {
  name: 'python-sidekick',
  description: 'Python actions, providers, evaluators, services and a Python tool-loop agent via ElizaOS-Py',
  // 1.7.2 registers a plugin's actions/providers right after awaiting init, so the manifest is read here.
  init: async (_config: Record<string, string>, runtime: IAgentRuntime) => {
    const existing = bridgeFor(runtime);
    if (existing) return;
    const bridge = SidekickBridge.attach(runtime, readConfig(runtime));
    await bridge.start();
  },
  actions: [pythonDelegateAction],
  services: [PythonSidekickService],
};

export default pythonSidekickPlugin;
export { bridgeFor, SidekickBridge } from './bridge.js';
export { parseCommand, readConfig, type SidekickConfig } from './config.js';
export { DELEGATE_ACTION } from './delegate.js';
export * from './protocol.js';
export { LineDecoder, RpcConnection, RpcError, sniffHead } from './rpc.js';
export { SidekickSupervisor, type SidekickState } from './supervisor.js';
