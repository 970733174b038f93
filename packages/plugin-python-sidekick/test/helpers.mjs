// Test helpers: a real @elizaos/core 1.7.2 AgentRuntime (plugin-bootstrap + plugin-sql/PGLite) with a scripted
// model plugin, started the way @elizaos/server does it (PGLite migrations before initialize()).

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = path.resolve(PKG, '..', '..');
export const FIXTURES = path.join(PKG, 'test', 'fixtures');
export const EMBEDDING_DIM = 384;

// ElizaOS reads LOG_LEVEL when @elizaos/core is first evaluated; keep test output readable.
process.env.LOG_LEVEL = process.env.SIDEKICK_TEST_LOG_LEVEL || 'fatal';
for (const key of ['USE_MULTI_STEP', 'MAX_MULTISTEP_ITERATIONS', 'BOOTSTRAP_DEFLLMOFF', 'BOOTSTRAP_KEEP_RESP']) {
  delete process.env[key];
}

/** The Python interpreter of the repository's venv (or python3), running the sidekick CLI module. */
export function pythonCommand() {
  const venv = path.join(REPO, '.venv', 'bin', 'python');
  const python = process.env.SIDEKICK_TEST_PYTHON || (fs.existsSync(venv) ? venv : 'python3');
  return [python, '-m', 'elizapy.cli_sidekick'];
}

/** Settings that make the plugin serve test/fixtures/sidekick_fixture.py. */
export function sidekickSettings(extra = {}) {
  return {
    PYTHON_SIDEKICK_MODULE: 'sidekick_fixture',
    PYTHON_SIDEKICK_COMMAND: JSON.stringify(pythonCommand()),
    PYTHON_SIDEKICK_CWD: FIXTURES,
    ...extra,
  };
}

export let core;
let sqlPlugin;
let createDatabaseAdapter;
let bootstrapPlugin;

export async function loadElizaOS() {
  if (core) return core;
  core = await import('@elizaos/core');
  const sql = await import('@elizaos/plugin-sql');
  sqlPlugin = sql.default;
  createDatabaseAdapter = sql.createDatabaseAdapter;
  bootstrapPlugin = (await import('@elizaos/plugin-bootstrap')).default;
  return core;
}

/** A deterministic bag-of-words vector: equal texts give similarity 1, overlapping texts a high one. */
export function hashedEmbedding(text) {
  const v = new Array(EMBEDDING_DIM).fill(0);
  for (const word of String(text ?? '').toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    let h = 2166136261;
    for (const ch of word) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    v[h % EMBEDDING_DIM] += (h >>> 16) & 1 ? 1 : -1;
  }
  const norm = Math.hypot(...v);
  if (!norm) v[0] = 1;
  return norm ? v.map((x) => x / norm) : v;
}

export const replyXml = (text, actions = 'REPLY') =>
  `<response><thought>scripted</thought><actions>${actions}</actions><providers></providers><text>${text}</text></response>`;

const REFLECTION_XML =
  '<response><thought>ok</thought><facts></facts><relationships></relationships></response>';

/**
 * A model plugin answering from a script: the message-handler prompt takes the next queued response (or a
 * plain REPLY), other prompts go to `answer(type, prompt, params)` rules. Every call is recorded.
 */
export class ScriptedModel {
  constructor(rules = []) {
    this.rules = rules;
    this.queue = [];
    this.calls = [];
  }

  respondNext(xml) {
    this.queue.push(xml);
  }

  text(type, params) {
    const prompt = typeof params?.prompt === 'string' ? params.prompt : '';
    this.calls.push({ type, prompt, params });
    if (prompt.includes('Generate dialog and actions for the character')) {
      return this.queue.shift() ?? replyXml('Scripted reply.');
    }
    if (prompt.includes('Generate Agent Reflection')) return REFLECTION_XML;
    for (const rule of this.rules) {
      const out = rule(type, prompt, params);
      if (out !== undefined) return out;
    }
    return replyXml('Scripted reply.');
  }

  plugin() {
    const M = core.ModelType;
    const text = (type) => async (_runtime, params) => this.text(type, params);
    return {
      name: 'scripted-model',
      description: 'Scripted test model',
      priority: 1000,
      models: {
        [M.TEXT_SMALL]: text(M.TEXT_SMALL),
        [M.TEXT_LARGE]: text(M.TEXT_LARGE),
        [M.OBJECT_SMALL]: async () => ({}),
        [M.OBJECT_LARGE]: async () => ({}),
        [M.TEXT_EMBEDDING]: async (_runtime, params) => {
          if (params === null) return new Array(EMBEDDING_DIM).fill(0.01);
          this.calls.push({ type: M.TEXT_EMBEDDING, prompt: '', params });
          return hashedEmbedding(typeof params === 'string' ? params : params?.text);
        },
      },
    };
  }
}

/** `ElizaOS.addAgents` as @elizaos/server does it, with a fresh PGLite directory. */
export async function startAgent({ name = 'Eliza', plugins = [], settings = {}, system, character: given } = {}) {
  await loadElizaOS();
  const pgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidekick-test-'));
  // `given`: a whole ElizaOS character (the tau2 bench agent); its name wins, the plugin list is ours.
  const character = {
    name,
    bio: ['A helpful assistant used to test the Python sidekick.'],
    ...(system ? { system } : {}),
    ...given,
    plugins: [],
    settings: { ...given?.settings, ...settings, secrets: {} },
  };
  name = character.name;
  const eliza = new core.ElizaOS();
  const agentId = core.stringToUuid(name);
  const adapter = createDatabaseAdapter({ dataDir: pgDir }, agentId);
  await adapter.init();
  await adapter.runPluginMigrations([{ name: '@elizaos/plugin-sql', schema: sqlPlugin.schema }], { verbose: false });
  const [runtime] = await eliza.addAgents(
    [{ character, plugins: [sqlPlugin, bootstrapPlugin, ...plugins], databaseAdapter: adapter }],
    { autoStart: true, returnRuntimes: true },
  );
  return { eliza, runtime, pgDir };
}

export async function stopAgent(agent) {
  if (!agent) return;
  try {
    await agent.eliza.stopAgents([agent.runtime.agentId]);
  } catch {
    // already stopped
  }
  try {
    await agent.runtime.adapter?.close?.();
  } catch {
    // best effort
  }
  fs.rmSync(agent.pgDir, { recursive: true, force: true });
}

export async function openDm(runtime, tag = randomUUID()) {
  const worldId = core.createUniqueUuid(runtime, `world-${tag}`);
  const roomId = core.createUniqueUuid(runtime, `dm-${tag}`);
  const entityId = core.createUniqueUuid(runtime, `user-${tag}`);
  await runtime.ensureConnection({
    entityId,
    roomId,
    worldId,
    worldName: 'Test',
    userName: 'tester',
    name: 'Test User',
    source: 'test',
    type: core.ChannelType.DM,
    channelId: roomId,
    messageServerId: worldId,
  });
  return { worldId, roomId, entityId };
}

/**
 * One user message through `ElizaOS.handleMessage` (the server's path). Resolves when the run completed,
 * with the reply contents and the streamed chunks; rejects after `timeoutMs`.
 */
export function sendMessage(agent, dm, text, { stream = false, timeoutMs = 30_000 } = {}) {
  const { eliza, runtime } = agent;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no completion within ${timeoutMs} ms for ${JSON.stringify(text)}`)), timeoutMs);
    const replies = [];
    const chunks = [];
    const messageId = randomUUID();
    eliza
      .handleMessage(
        runtime,
        {
          id: messageId,
          entityId: dm.entityId,
          roomId: dm.roomId,
          worldId: dm.worldId,
          content: { text, source: 'test', channelType: core.ChannelType.DM },
          createdAt: Date.now(),
        },
        {
          ...(stream ? { onStreamChunk: async (chunk) => chunks.push(chunk) } : {}),
          onResponse: async (content) => {
            replies.push(content);
          },
          onComplete: () => {
            clearTimeout(timer);
            resolve({ messageId, replies, chunks });
          },
          onError: (err) => {
            clearTimeout(timer);
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        },
      )
      .catch((err) => {
        clearTimeout(timer);
        reject(err);
      });
  });
}

/** `promise`, or a rejection naming `what` after `ms` (the timer is cleared either way). */
export async function within(promise, ms, what) {
  let timer;
  try {
    return await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A minimal message object for calling component handlers directly. */
export function makeMessage(runtime, dm, text) {
  return {
    id: randomUUID(),
    entityId: dm.entityId,
    agentId: runtime.agentId,
    roomId: dm.roomId,
    worldId: dm.worldId,
    content: { text, source: 'test' },
    createdAt: Date.now(),
  };
}
