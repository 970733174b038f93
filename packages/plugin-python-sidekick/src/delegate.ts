/**
 * `PYTHON_DELEGATE`: hand a task to the Python tool-calling loop. Its model is this agent's own `useModel`;
 * its tools are the sidekick's Python actions plus this agent's TS actions (offered here, called back
 * through `runtime/invokeAction` with this message and state).
 */

import type {
  Action,
  ActionResult,
  HandlerCallback,
  HandlerOptions,
  IAgentRuntime,
  Memory,
  State,
} from '@elizaos/core';

import { bridgeFor, type SidekickBridge } from './bridge.js';
import { describeError } from './components.js';
import { NOT_CALLABLE } from './host.js';
import type { DelegateResult, JsonObject, ToolSpecWire } from './protocol.js';

export const DELEGATE_ACTION = 'PYTHON_DELEGATE';
const NOT_TOOLS = new Set(['REPLY', 'IGNORE', 'NONE', ...NOT_CALLABLE]);

/** The TS actions offered to the loop: valid for this message, not Python's own, allowed by settings. */
async function toolsFor(bridge: SidekickBridge, message: Memory, state: State | undefined): Promise<ToolSpecWire[]> {
  const rt = bridge.runtime;
  const allowed = bridge.config.delegateTools;
  const out: ToolSpecWire[] = [];
  for (const action of rt.actions) {
    if (NOT_TOOLS.has(action.name) || bridge.pythonActions.has(action.name)) continue;
    if (allowed && !allowed.includes(action.name)) continue;
    let valid = false;
    try {
      valid = await action.validate(rt, message, state);
    } catch {
      valid = false;
    }
    if (!valid) continue;
    const parameters = action.parameters;
    out.push({
      name: action.name,
      description: action.description,
      parameters: parameters && typeof parameters === 'object' ? (parameters as JsonObject) : null,
    });
  }
  return out;
}

export const pythonDelegateAction: Action = {
  name: DELEGATE_ACTION,
  similes: ['DELEGATE_TO_PYTHON', 'PYTHON_AGENT', 'PYTHON_TOOLS'],
  description:
    'Hand a multi-step task to the Python tool-calling agent: it plans step by step, calls several tools at ' +
    "once when they are independent (this agent's actions included) and replies with the result.",
  parameters: {
    type: 'object',
    properties: { task: { type: 'string', description: 'the task, in full; defaults to the message text' } },
  },
  validate: async (runtime: IAgentRuntime) => {
    const bridge = bridgeFor(runtime);
    return Boolean(bridge?.ready && bridge.manifest.delegate);
  },
  handler: async (
    runtime: IAgentRuntime,
    message: Memory,
    state?: State,
    options?: HandlerOptions,
    callback?: HandlerCallback,
  ): Promise<ActionResult> => {
    const bridge = bridgeFor(runtime);
    if (!bridge) {
      return { success: false, error: 'python-sidekick is not running for this agent', data: { actionName: DELEGATE_ACTION } };
    }
    const fromParams = (options?.parameters as { task?: unknown } | undefined)?.task;
    const task = typeof fromParams === 'string' && fromParams.trim() ? fromParams : (message.content.text ?? '');
    try {
      const tools = await toolsFor(bridge, message, state);
      const r = await bridge.invoke<DelegateResult>(
        'delegate/run',
        { message, state, callback },
        { task, tools, maxSteps: bridge.config.delegateMaxSteps, modelType: 'TEXT_LARGE' },
        { timeoutMs: bridge.config.delegateTimeoutMs },
      );
      return {
        success: r.success,
        text: r.text,
        values: { pythonDelegateAnswer: r.text },
        data: { actionName: DELEGATE_ACTION, toolCalls: r.toolCalls, thought: r.thought },
      };
    } catch (err) {
      const text = `Python delegate failed: ${describeError(err)}`;
      runtime.logger.warn(`[python-sidekick] ${text}`);
      return { success: false, error: text, data: { actionName: DELEGATE_ACTION } };
    }
  },
};
