#!/usr/bin/env node
// A real, unmodified ElizaOS 1.7.2 agent (plugin-bootstrap + plugin-sql/PGLite) as a tau2 agent, driven by the
// Python harness (src/elizapy/bench/tau2/ts_agent.py) over JSON lines on stdin/stdout.
//
// Each tau2 domain tool is an ordinary TS Action. Bootstrap's XML message handler picks actions; a tool
// action gets its arguments the ElizaOS way (OBJECT_LARGE over the conversation) unless its caller passed
// them (the sidekick's PYTHON_DELEGATE does), then asks Python to run the call in tau2's environment and
// returns the result as its ActionResult text, which the next action of the chain (REPLY) sees.
//
//   py -> node  {"op":"init", character, policy, tools, model_url, model, sidekick, python, ...}  -> ready
//               {"op":"history", turns:[{role, text}]}                                            -> ok
//               {"op":"user", text}    -> tool_call* (each answered by tool_result), then reply | error
//               {"op":"tool_result", id, content, error}
//               {"op":"stop"}                                                                      -> stopped
//
// stdout carries the protocol only: everything else written to it (ElizaOS logging) goes to stderr.

import readline from 'node:readline';

const emitLine = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, encoding, cb) => process.stderr.write(chunk, encoding, cb);
process.env.SIDEKICK_TEST_LOG_LEVEL ??= process.env.LOG_LEVEL || 'fatal';

const { EMBEDDING_DIM, hashedEmbedding, loadElizaOS, openDm, sendMessage, startAgent, stopAgent, within } = await import(
  '../test/helpers.mjs'
);
let core; // @elizaos/core, loaded by init

const STOP_TIMEOUT_MS = 15_000;
const MODEL_TIMEOUT_MS = 600_000;

function send(message) {
  emitLine(`${JSON.stringify(message)}\n`);
}

const describe = (err) => (err instanceof Error ? err.message : String(err));
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

// --- the model: an OpenAI-compatible endpoint ---------------------------------------------------------------

/** The first JSON object in a model's text (bare, or in a ```json fence, or amid prose). */
function parseObject(text) {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text);
  const body = (fenced ? fenced[1] : text).trim();
  try {
    const value = JSON.parse(body);
    if (isObject(value)) return value;
  } catch {
    // fall through to the outermost braces
  }
  const start = body.indexOf('{');
  const end = body.lastIndexOf('}');
  if (start >= 0 && end > start) {
    const value = JSON.parse(body.slice(start, end + 1));
    if (isObject(value)) return value;
  }
  throw new Error(`the model returned no JSON object: ${JSON.stringify(text.slice(0, 200))}`);
}

/**
 * TEXT_*, OBJECT_* and TEXT_EMBEDDING for the agent (and, through `useModel`, for the sidekick's delegate),
 * metering every chat call so each tau2 turn reports its tokens.
 */
class EndpointModel {
  constructor({ url, model, apiKey, temperature = 0 }) {
    this.url = `${String(url).replace(/\/+$/, '')}/chat/completions`;
    this.model = model;
    this.apiKey = apiKey;
    this.temperature = temperature;
    this.meter = { prompt_tokens: 0, completion_tokens: 0, model_calls: 0 };
  }

  async chat(params, { json }) {
    const prompt = typeof params === 'string' ? params : String(params?.prompt ?? '');
    const body = { model: this.model, messages: [{ role: 'user', content: prompt }], temperature: this.temperature };
    if (Number.isFinite(params?.maxTokens)) body.max_tokens = params.maxTokens;
    if (Array.isArray(params?.stopSequences) && params.stopSequences.length) body.stop = params.stopSequences;
    // The delegate sends its step schema as responseSchema on TEXT_LARGE; OBJECT_* send `schema`.
    const schema = params?.schema ?? params?.responseSchema;
    if (isObject(schema)) {
      body.response_format = { type: 'json_schema', json_schema: { name: 'object', schema } };
    } else if (json) {
      body.response_format = { type: 'json_object' };
    }
    const headers = { 'content-type': 'application/json' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    this.meter.model_calls += 1;
    const res = await fetch(this.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(MODEL_TIMEOUT_MS),
    });
    const raw = await res.text();
    if (!res.ok) throw new Error(`model endpoint answered HTTP ${res.status}: ${raw.slice(0, 300)}`);
    const data = JSON.parse(raw);
    this.meter.prompt_tokens += Number(data.usage?.prompt_tokens ?? 0);
    this.meter.completion_tokens += Number(data.usage?.completion_tokens ?? 0);
    return String(data.choices?.[0]?.message?.content ?? '');
  }

  plugin() {
    const M = core.ModelType;
    const text = async (_runtime, params) => this.chat(params, { json: false });
    const object = async (_runtime, params) => parseObject(await this.chat(params, { json: true }));
    return {
      name: 'tau2-endpoint-model',
      description: `OpenAI-compatible model ${this.model} at ${this.url}`,
      priority: 1000,
      models: {
        [M.TEXT_SMALL]: text,
        [M.TEXT_LARGE]: text,
        [M.OBJECT_SMALL]: object,
        [M.OBJECT_LARGE]: object,
        [M.TEXT_EMBEDDING]: async (_runtime, params) => {
          // ElizaOS probes the dimension with `null` at start-up.
          if (params === null) return new Array(EMBEDDING_DIM).fill(0.01);
          return hashedEmbedding(typeof params === 'string' ? params : params?.text);
        },
      },
    };
  }
}

// --- tau2's tools as TS actions -----------------------------------------------------------------------------

/** Tool calls waiting for Python's answer, by id. */
class ToolBridge {
  constructor(timeoutMs) {
    this.timeoutMs = timeoutMs;
    this.pending = new Map();
    this.counter = 0;
  }

  call(name, args) {
    this.counter += 1;
    const id = `ts_call_${this.counter}`;
    const answer = new Promise((resolve) => this.pending.set(id, resolve));
    send({ op: 'tool_call', id, name, arguments: args });
    return within(answer, this.timeoutMs, `the result of tool call ${id} (${name})`).finally(() =>
      this.pending.delete(id),
    );
  }

  answer(msg) {
    const resolve = this.pending.get(msg.id);
    if (!resolve) throw new Error(`tool_result for unknown call id ${JSON.stringify(msg.id)}`);
    resolve({ content: String(msg.content ?? ''), error: Boolean(msg.error) });
  }
}

const ARGUMENTS_TEMPLATE = `{{providers}}

# Task: Write the arguments of a {{toolName}} call for {{agentName}}.
Tool: {{toolName}} — {{toolDescription}}
Arguments JSON schema: {{toolSchema}}

From the conversation above, give the arguments of this call as one JSON object matching the schema. Use
only values the user stated or earlier tool results showed; never invent ids. Respond with the JSON object only.`;

function toolAction(tool, bridge) {
  const schema = isObject(tool.parameters) ? tool.parameters : { type: 'object', properties: {} };
  const takesArguments = Object.keys(schema.properties ?? {}).length > 0;
  return {
    name: tool.name,
    similes: [],
    description: tool.description || tool.name,
    parameters: schema,
    validate: async () => true,
    handler: async (runtime, message, state, options) => {
      let args = isObject(options?.parameters) ? options.parameters : undefined;
      try {
        if (!args && takesArguments) {
          const prompt = core.composePromptFromState({
            state: {
              ...state,
              values: {
                ...state?.values,
                toolName: tool.name,
                toolDescription: tool.description,
                toolSchema: JSON.stringify(schema),
              },
            },
            template: ARGUMENTS_TEMPLATE,
          });
          args = await runtime.useModel(core.ModelType.OBJECT_LARGE, { prompt, schema });
        }
        const result = await bridge.call(tool.name, args ?? {});
        return {
          success: !result.error,
          text: result.content,
          values: { lastToolName: tool.name },
          data: { actionName: tool.name, arguments: args ?? {}, toolError: result.error },
        };
      } catch (err) {
        const text = `${tool.name} failed: ${describe(err)}`;
        return { success: false, text, error: text, data: { actionName: tool.name, arguments: args ?? null } };
      }
    },
  };
}

function policyProvider(policy) {
  return {
    name: 'TAU2_POLICY',
    description: 'The domain policy the agent must follow',
    position: -100,
    get: async () => ({ text: `# Policy\n${policy}`, values: { policy }, data: {} }),
  };
}

// --- the session --------------------------------------------------------------------------------------------

let agent;
let dm;
let model;
let bridge;
let turnTimeoutMs = 900_000;

async function init(msg) {
  core = await loadElizaOS();
  turnTimeoutMs = Number(msg.turn_timeout_ms ?? turnTimeoutMs);
  model = new EndpointModel({ url: msg.model_url, model: msg.model, apiKey: msg.api_key, temperature: msg.temperature ?? 0 });
  bridge = new ToolBridge(turnTimeoutMs);
  const tools = msg.tools ?? [];
  const tau2Plugin = {
    name: 'tau2-tools',
    description: 'The tau2 domain tools, run by the harness',
    actions: tools.map((t) => toolAction(t, bridge)),
    providers: [policyProvider(String(msg.policy ?? ''))],
  };
  const plugins = [model.plugin(), tau2Plugin];
  let settings = {};
  if (msg.sidekick) {
    plugins.push((await import('../dist/index.js')).default);
    settings = {
      PYTHON_SIDEKICK_MODULE: msg.sidekick_module ?? 'elizapy.bench.tau2.ts_sidekick',
      PYTHON_SIDEKICK_COMMAND: JSON.stringify(msg.python),
      PYTHON_DELEGATE_BACKEND: 'tools',
      // Only the domain tools: bootstrap's own actions (FOLLOW_ROOM, SEND_MESSAGE, ...) are not tau2 tools.
      PYTHON_DELEGATE_TOOLS: tools.map((t) => t.name).join(','),
      PYTHON_SIDEKICK_DELEGATE_TIMEOUT_MS: String(turnTimeoutMs),
      PYTHON_SIDEKICK_TIMEOUT_MS: String(turnTimeoutMs),
      ...(msg.max_steps ? { PYTHON_DELEGATE_MAX_STEPS: String(msg.max_steps) } : {}),
    };
  }
  agent = await startAgent({ character: msg.character ?? {}, plugins, settings });
  dm = await openDm(agent.runtime, 'tau2');
  send({ op: 'ready', agent_id: agent.runtime.agentId, actions: agent.runtime.actions.map((a) => a.name) });
}

async function history(msg) {
  const rt = agent.runtime;
  const base = Date.now() - (msg.turns?.length ?? 0) * 1000;
  for (const [i, turn] of (msg.turns ?? []).entries()) {
    await rt.createMemory(
      {
        id: crypto.randomUUID(),
        entityId: turn.role === 'assistant' ? rt.agentId : dm.entityId,
        agentId: rt.agentId,
        roomId: dm.roomId,
        worldId: dm.worldId,
        content: { text: String(turn.text ?? ''), source: 'test' },
        createdAt: base + i * 1000,
      },
      'messages',
    );
  }
  send({ op: 'ok' });
}

async function userTurn(msg) {
  const before = { ...model.meter };
  const usage = () => ({
    prompt_tokens: model.meter.prompt_tokens - before.prompt_tokens,
    completion_tokens: model.meter.completion_tokens - before.completion_tokens,
  });
  try {
    const r = await sendMessage(agent, dm, String(msg.text ?? ''), { timeoutMs: turnTimeoutMs });
    const texts = r.replies.map((c) => (typeof c?.text === 'string' ? c.text.trim() : '')).filter(Boolean);
    send({
      op: 'reply',
      text: texts.join('\n'),
      actions: r.replies.flatMap((c) => c?.actions ?? []),
      usage: usage(),
      model_calls: model.meter.model_calls - before.model_calls,
    });
  } catch (err) {
    send({ op: 'error', message: describe(err), usage: usage(), model_calls: model.meter.model_calls - before.model_calls });
  }
}

async function stop() {
  try {
    if (agent) await within(stopAgent(agent), STOP_TIMEOUT_MS, 'stopping the agent');
  } catch (err) {
    process.stderr.write(`tau2-agent: ${describe(err)}\n`);
  }
  send({ op: 'stopped' });
  process.exit(0);
}

const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of input) {
  if (!line.trim()) continue;
  let msg;
  try {
    msg = JSON.parse(line);
    switch (msg.op) {
      case 'init':
        await init(msg);
        break;
      case 'history':
        await history(msg);
        break;
      case 'user':
        // Not awaited: the turn's tool calls are answered by lines this loop has yet to read.
        void userTurn(msg);
        break;
      case 'tool_result':
        bridge.answer(msg);
        break;
      case 'stop':
        await stop();
        break;
      default:
        throw new Error(`unknown op ${JSON.stringify(msg.op)}`);
    }
  } catch (err) {
    send({ op: 'error', message: `${msg?.op ?? 'line'}: ${describe(err)}` });
  }
}
await stop();
