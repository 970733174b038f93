/**
 * `PYTHON_DELEGATE`: hand a task to a Python delegate backend. Its model is this agent's own `useModel`;
 * its tools are the sidekick's Python actions plus this agent's TS actions (offered here, called back
 * through `runtime/invokeAction` with this message and state).
 *
 * Which backend runs is a character setting, sent with every `delegate/run` (no TS code to change):
 * `PYTHON_DELEGATE_BACKEND` = `tools` (the built-in tool loop, the default), `langgraph` or `callable` (or a
 * `module:attr` of its own), and `PYTHON_DELEGATE_GRAPH` (or `LANGGRAPH_GRAPH`) = the graph or callable as
 * `module:attr` / `path/to/file.py:attr`, resolved in the sidekick's working directory.
 */

import {
  getStreamingContext,
  type Action,
  type ActionResult,
  type HandlerCallback,
  type HandlerOptions,
  type IAgentRuntime,
  type Memory,
  type State,
} from '@elizaos/core';

import { bridgeFor, type SidekickBridge } from './bridge.js';
import { describeError } from './components.js';
import { NOT_CALLABLE } from './host.js';
import type { DelegateResult, JsonObject, ToolSpecWire } from './protocol.js';

export const DELEGATE_ACTION = 'PYTHON_DELEGATE';
export const DELEGATE_BACKEND_SETTING = 'PYTHON_DELEGATE_BACKEND';
export const DELEGATE_GRAPH_SETTING = 'PYTHON_DELEGATE_GRAPH';
type StreamSink = (chunk: string, messageId?: string) => void | Promise<void>;

function setting(runtime: IAgentRuntime, key: string): string | undefined {
  const v = runtime.getSetting(key) ?? process.env[key];
  if (v === undefined || v === null || v === '' || v === false) return undefined;
  const text = String(v).trim();
  return text || undefined;
}

/** The delegate backend the character asks for, as `delegate/run` params (absent keys: the default loop). */
export function delegateChoice(runtime: IAgentRuntime): { backend?: string; graph?: string } {
  const backend = setting(runtime, DELEGATE_BACKEND_SETTING);
  let graph = setting(runtime, DELEGATE_GRAPH_SETTING);
  if (!graph && backend && ['langgraph', 'graph'].includes(backend.toLowerCase())) {
    graph = setting(runtime, 'LANGGRAPH_GRAPH');
  }
  return { ...(backend ? { backend } : {}), ...(graph ? { graph } : {}) };
}
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
    const onStreamChunk = options?.onStreamChunk as StreamSink | undefined;
    try {
      const tools = await toolsFor(bridge, message, state);
      const r = await bridge.invoke<DelegateResult>(
        'delegate/run',
        { message, state, callback, onStreamChunk, streamMessageId: getStreamingContext()?.messageId },
        {
          task,
          tools,
          maxSteps: bridge.config.delegateMaxSteps,
          modelType: 'TEXT_LARGE',
          ...delegateChoice(runtime),
          streaming: Boolean(onStreamChunk),
        },
        { timeoutMs: bridge.config.delegateTimeoutMs },
      );
      return {
        success: r.success,
        text: r.text,
        values: { pythonDelegateAnswer: r.text },
        data: { actionName: DELEGATE_ACTION, toolCalls: r.toolCalls, thought: r.thought, ...delegateChoice(runtime) },
      };
    } catch (err) {
      const text = `Python delegate failed: ${describeError(err)}`;
      runtime.logger.warn(`[python-sidekick] ${text}`);
      return { success: false, error: text, data: { actionName: DELEGATE_ACTION } };
    }
  },
};
