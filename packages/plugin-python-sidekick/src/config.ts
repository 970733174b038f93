/** Plugin configuration, read once per agent from `runtime.getSetting` (then the environment). */

import type { IAgentRuntime } from '@elizaos/core';

export interface SidekickConfig {
  /** Python module to serve (`PYTHON_SIDEKICK_MODULE`). */
  module: string;
  /** Full argv: `PYTHON_SIDEKICK_COMMAND` + `--module <module>`. */
  command: string[];
  cwd?: string;
  actionTimeoutMs: number;
  providerTimeoutMs: number;
  delegateTimeoutMs: number;
  startTimeoutMs: number;
  healthIntervalMs: number;
  healthTimeoutMs: number;
  /** TS actions the delegate may call (`PYTHON_DELEGATE_TOOLS`, comma-separated); null = all valid ones. */
  delegateTools: string[] | null;
  delegateMaxSteps?: number;
}

export const DEFAULT_COMMAND = ['elizapy', 'sidekick'];

function setting(runtime: IAgentRuntime, key: string): string | undefined {
  const v = runtime.getSetting(key) ?? process.env[key];
  if (v === undefined || v === null || v === '') return undefined;
  return String(v);
}

function int(runtime: IAgentRuntime, key: string, fallback: number): number {
  const raw = setting(runtime, key);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${key} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return n;
}

/** `["python3", "-m", "x"]` as JSON, or a whitespace-separated string. */
export function parseCommand(raw: string): string[] {
  const trimmed = raw.trim();
  if (trimmed.startsWith('[')) {
    const parsed: unknown = JSON.parse(trimmed);
    if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string') || parsed.length === 0) {
      throw new Error('PYTHON_SIDEKICK_COMMAND as JSON must be a non-empty array of strings');
    }
    return parsed as string[];
  }
  return trimmed.split(/\s+/).filter(Boolean);
}

export function readConfig(runtime: IAgentRuntime): SidekickConfig {
  const module = setting(runtime, 'PYTHON_SIDEKICK_MODULE');
  if (!module) {
    throw new Error(
      'python-sidekick: set PYTHON_SIDEKICK_MODULE (character settings or environment) to the Python module to serve',
    );
  }
  const rawCommand = setting(runtime, 'PYTHON_SIDEKICK_COMMAND');
  const base = rawCommand ? parseCommand(rawCommand) : DEFAULT_COMMAND;
  const tools = setting(runtime, 'PYTHON_DELEGATE_TOOLS');
  const maxSteps = setting(runtime, 'PYTHON_DELEGATE_MAX_STEPS');
  return {
    module,
    command: [...base, '--module', module],
    cwd: setting(runtime, 'PYTHON_SIDEKICK_CWD'),
    actionTimeoutMs: int(runtime, 'PYTHON_SIDEKICK_TIMEOUT_MS', 60_000),
    providerTimeoutMs: int(runtime, 'PYTHON_SIDEKICK_PROVIDER_TIMEOUT_MS', 10_000),
    delegateTimeoutMs: int(runtime, 'PYTHON_SIDEKICK_DELEGATE_TIMEOUT_MS', 300_000),
    startTimeoutMs: int(runtime, 'PYTHON_SIDEKICK_START_TIMEOUT_MS', 20_000),
    healthIntervalMs: int(runtime, 'PYTHON_SIDEKICK_HEALTH_INTERVAL_MS', 10_000),
    healthTimeoutMs: int(runtime, 'PYTHON_SIDEKICK_HEALTH_TIMEOUT_MS', 5_000),
    delegateTools: tools ? tools.split(',').map((s) => s.trim()).filter(Boolean) : null,
    delegateMaxSteps: maxSteps ? Number(maxSteps) : undefined,
  };
}
