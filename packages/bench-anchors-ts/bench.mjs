#!/usr/bin/env node
// Anchor benchmarks: the real ElizaOS TypeScript 1.7.2 runtime, measured on this machine, so that ElizaOS-Py's
// numbers can be stated as ratios taken in the same run.
//
//   node packages/bench-anchors-ts/bench.mjs --scenario P1|P2|P3 [--messages N] [--latency-ms L] [--reps R]
//   node packages/bench-anchors-ts/bench.mjs --scenario P5 [--n 100000] [--dim 384] [--queries 200] [--seed 1]
//   node packages/bench-anchors-ts/bench.mjs --scenario P6 [--rooms 1000] [--per-room 1] [--latency-ms 100]
//
// Exactly one JSON object goes to stdout; everything else (ours and ElizaOS's) goes to stderr.
// See README.md beside this file for what each scenario measures and the 1.7.2 quirks it works around.

// Milliseconds since this process started (performance.timeOrigin is set when node boots). Taken before any
// ElizaOS module is loaded: those are imported dynamically below, so P2 can time the import itself.
const T_SCRIPT_START = performance.now();

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXPECTED_VERSION = '1.7.2';
const PACKAGES = ['@elizaos/core', '@elizaos/plugin-bootstrap', '@elizaos/plugin-sql'];

// ---------------------------------------------------------------------------------------------------------------
// stdout discipline: keep the real writer for the final JSON, send every other write to stderr.
const writeStdout = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, encoding, cb) => process.stderr.write(chunk, encoding, cb);
for (const level of ['log', 'info', 'debug']) console[level] = (...args) => console.error(...args);

function log(...args) {
  process.stderr.write(`[bench-anchors-ts] ${args.join(' ')}\n`);
}

function finish(obj, code = 0) {
  writeStdout(`${JSON.stringify(obj)}\n`, () => process.exit(code));
}

function fail(message, code = 1) {
  process.stderr.write(`[bench-anchors-ts] ERROR: ${message}\n`);
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------------------------
// arguments

const USAGE = `usage: node bench.mjs --scenario P1|P2|P3 [--messages N] [--latency-ms L] [--reps R] [--warmup W]
       node bench.mjs --scenario P5 [--n N] [--dim D] [--queries Q] [--seed S] [--load api|sql] [--batch B]
                                   [--load-budget-s T] [--compare-tuned]
  P1  per-message overhead, zero-latency model (N messages, default 200; W warm-up messages, default 10)
  P2  cold start in fresh child processes (R reps, default 5)
  P3  4 independent lookups in multi-step mode, model latency L ms per call (default 200; R reps, default 3)
  P5  vector search (pgvector in PGLite): N memories (default 100000) x D dims (default 384), Q queries
      (default 200) through runtime.searchMemories, p50/p99 and recall@10 vs exact brute-force cosine
  P6  --rooms R (default 1000) concurrent DM rooms, --per-room K messages each (default 1), model latency L ms
      (default 100): msg/s, p50/p99 reply latency, CPU-ms per message`;

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      process.stderr.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (!a.startsWith('--')) fail(`unexpected argument ${JSON.stringify(a)}\n${USAGE}`, 2);
    const eq = a.indexOf('=');
    let key;
    let value;
    if (eq >= 0) {
      key = a.slice(2, eq);
      value = a.slice(eq + 1);
    } else {
      key = a.slice(2);
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) value = 'true';
      else i++;
    }
    out[key] = value;
  }
  return out;
}

function intArg(args, name, def, min = 0) {
  if (args[name] === undefined) return def;
  const v = Number(args[name]);
  if (!Number.isInteger(v) || v < min) fail(`--${name} must be an integer >= ${min}, got ${args[name]}`, 2);
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// installation check, then the ElizaOS imports (dynamic, so a missing install gives a clear message)

function checkInstall() {
  const missing = PACKAGES.filter((p) => !fs.existsSync(path.join(HERE, 'node_modules', p, 'package.json')));
  if (missing.length) {
    fail(
      `${missing.join(', ')} not installed in ${path.join(HERE, 'node_modules')}.\n` +
        '  Run: npm ci --prefix packages/bench-anchors-ts   (from the repository root)',
      3,
    );
  }
  for (const p of PACKAGES) {
    const { version } = JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', p, 'package.json'), 'utf8'));
    if (version !== EXPECTED_VERSION) {
      fail(`${p} is ${version}, expected ${EXPECTED_VERSION}; run: npm ci --prefix packages/bench-anchors-ts`, 3);
    }
  }
}

let core;
let sqlPlugin;
let createDatabaseAdapter;
let bootstrapPlugin;

// ElizaOS.addAgents() copies the whole environment into the character's secrets, and getSetting() reads them:
// these would silently change the measured pipeline, so the benchmark sets them itself.
const BEHAVIOUR_ENV = [
  'USE_MULTI_STEP',
  'MAX_MULTISTEP_ITERATIONS',
  'MULTISTEP_PARSE_RETRIES',
  'MULTISTEP_SUMMARY_PARSE_RETRIES',
  'BOOTSTRAP_DEFLLMOFF',
  'BOOTSTRAP_KEEP_RESP',
  'PROVIDERS_TOTAL_TIMEOUT_MS',
];

async function importElizaOS() {
  for (const key of BEHAVIOUR_ENV) {
    if (process.env[key] !== undefined) {
      log(`ignoring ${key}=${process.env[key]} from the environment`);
      delete process.env[key];
    }
  }
  // The logger reads LOG_LEVEL when @elizaos/core is first evaluated.
  process.env.LOG_LEVEL = process.env.BENCH_LOG_LEVEL || 'fatal';
  core = await import('@elizaos/core');
  const sql = await import('@elizaos/plugin-sql');
  sqlPlugin = sql.default;
  createDatabaseAdapter = sql.createDatabaseAdapter;
  bootstrapPlugin = (await import('@elizaos/plugin-bootstrap')).default;
}

// ---------------------------------------------------------------------------------------------------------------
// helpers

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function quantile(values, q) {
  // linear interpolation between closest ranks (numpy's default), so results compare with Python's statistics
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
const round = (x, digits = 3) => Number(x.toFixed(digits));

function stats(values, digits = 3) {
  return {
    p50: round(quantile(values, 0.5), digits),
    p90: round(quantile(values, 0.9), digits),
    mean: round(mean(values), digits),
    min: round(Math.min(...values), digits),
    max: round(Math.max(...values), digits),
  };
}

function freshPgDir(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `elizaos-ts-anchor-${tag}-`));
}

function removeDir(dir) {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    log(`could not remove ${dir}: ${err.message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the model plugin: zero (or fixed) latency, counts every call by model type

const REPLY_TEXT = 'Hello there, friend.';
const SINGLE_REPLY_XML =
  '<response><thought>Greet the user back.</thought><actions>REPLY</actions><providers></providers>' +
  `<text>${REPLY_TEXT}</text></response>`;
const EMBEDDING_DIM = 384;

// Prompt classification by the fixed headings of the 1.7.2 templates.
const isDecisionPrompt = (p) => p.includes('# Multi-Step Workflow');
const isSummaryPrompt = (p) => p.includes('# Execution Trace');
const isMessageHandlerPrompt = (p) => p.includes('Generate dialog and actions for the character');
const isReplyPrompt = (p) => p.includes('# Task: Generate dialog for the character');
const isReflectionPrompt = (p) => p.includes('# Task: Generate Agent Reflection');

/**
 * A well-formed answer to plugin-bootstrap's reflection evaluator prompt: one already-known fact (so no fact memory
 * is written) and a DM relationship sender -> agent. The evaluator then records it and marks the room processed,
 * as it does with a real model; an unparseable answer would make it retry on every following message.
 */
function reflectionAnswer(prompt, runtime) {
  const sender = /Message Sender: .*\(ID: ([0-9a-f-]{36})\)/i.exec(prompt)?.[1];
  const relationship = sender
    ? `<relationship><sourceEntityId>${sender}</sourceEntityId><targetEntityId>${runtime.agentId}</targetEntityId>` +
      '<tags>dm_interaction</tags></relationship>'
    : '';
  return (
    '<response><thought>The exchange is friendly and on topic.</thought>' +
    '<facts><fact><claim>The user is chatting with the agent</claim><type>status</type><in_bio>false</in_bio>' +
    '<already_known>true</already_known></fact></facts>' +
    `<relationships>${relationship}</relationships></response>`
  );
}

class ModelCounter {
  constructor() {
    this.byType = {};
  }
  add(type) {
    this.byType[type] = (this.byType[type] || 0) + 1;
  }
  total(filter = () => true) {
    return Object.entries(this.byType)
      .filter(([t]) => filter(t))
      .reduce((a, [, n]) => a + n, 0);
  }
  snapshot() {
    return { ...this.byType };
  }
  reset() {
    this.byType = {};
  }
}

const isEmbeddingType = (t) => t === 'TEXT_EMBEDDING';

/**
 * @param {ModelCounter} counter
 * @param {{ latencyMs: () => number, text: (type: string, prompt: string) => string }} behaviour
 */
function makeModelPlugin(counter, behaviour) {
  const M = core.ModelType;
  const text = (type) => async (_runtime, params) => {
    counter.add(type);
    const prompt = typeof params?.prompt === 'string' ? params.prompt : '';
    if (process.env.BENCH_DUMP_PROMPTS) log(`--- ${type} prompt ---\n${prompt}\n--- end ---`);
    const latency = behaviour.latencyMs();
    if (latency > 0) await sleep(latency);
    return behaviour.text(type, prompt, _runtime);
  };
  const object = (type) => async () => {
    counter.add(type);
    const latency = behaviour.latencyMs();
    if (latency > 0) await sleep(latency);
    return {};
  };
  return {
    name: 'bench-scripted-model',
    description: 'Scripted model for the anchor benchmarks: fixed latency, canned answers, counts calls',
    priority: 1000,
    models: {
      [M.TEXT_SMALL]: text(M.TEXT_SMALL),
      [M.TEXT_LARGE]: text(M.TEXT_LARGE),
      [M.OBJECT_SMALL]: object(M.OBJECT_SMALL),
      [M.OBJECT_LARGE]: object(M.OBJECT_LARGE),
      [M.TEXT_EMBEDDING]: async (_runtime, params) => {
        // the runtime probes the dimension with `null` during initialize(); that probe is counted too
        counter.add(M.TEXT_EMBEDDING);
        const latency = params === null ? 0 : behaviour.latencyMs();
        if (latency > 0) await sleep(latency);
        return new Array(EMBEDDING_DIM).fill(0.01);
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// agent start: what @elizaos/server does — create the PGLite adapter, run plugin-sql migrations (a fresh 1.7.2
// database needs them before initialize(), whose ensureAgentExists() runs before its own migrations), then
// ElizaOS.addAgents(..., autoStart) which calls AgentRuntime.initialize().

async function startAgent({ pgDir, plugins, settings = {}, actions = [] }) {
  const character = {
    name: 'Eliza',
    bio: ['A helpful assistant used as a benchmark anchor.'],
    plugins: [],
    settings: { ...settings, secrets: {} },
  };
  const t0 = performance.now();
  const eliza = new core.ElizaOS();
  const agentId = core.stringToUuid(character.name);
  const adapter = createDatabaseAdapter({ dataDir: pgDir }, agentId);
  await adapter.init();
  const tDb = performance.now();
  await adapter.runPluginMigrations([{ name: '@elizaos/plugin-sql', schema: sqlPlugin.schema }], {
    verbose: false,
  });
  const tMigrated = performance.now();
  const benchPlugin = actions.length
    ? [{ name: 'bench-lookups', description: 'Benchmark lookup actions', actions }]
    : [];
  const [runtime] = await eliza.addAgents(
    [{ character, plugins: [sqlPlugin, bootstrapPlugin, ...plugins, ...benchPlugin], databaseAdapter: adapter }],
    { autoStart: true, returnRuntimes: true },
  );
  const tReady = performance.now();
  const timings = { db_open_ms: tDb - t0, migrations_ms: tMigrated - tDb, add_and_initialize_ms: tReady - tMigrated };
  return { eliza, runtime, timings };
}

async function stopAgent({ eliza, runtime }) {
  try {
    await eliza.stopAgents([runtime.agentId]);
  } catch (err) {
    log(`stopAgents: ${err.message}`);
  }
  try {
    await runtime.adapter?.close?.();
  } catch (err) {
    log(`adapter.close: ${err.message}`);
  }
}

/** A DM conversation as a connector / the server's message bus sets one up. */
async function openDm(runtime, tag) {
  const worldId = core.createUniqueUuid(runtime, `bench-world-${tag}`);
  const roomId = core.createUniqueUuid(runtime, `bench-dm-${tag}`);
  const entityId = core.createUniqueUuid(runtime, `bench-user-${tag}`);
  await runtime.ensureConnection({
    entityId,
    roomId,
    worldId,
    worldName: 'Bench',
    userName: 'benchuser',
    name: 'Bench User',
    source: 'bench',
    type: core.ChannelType.DM,
    channelId: roomId,
    messageServerId: worldId,
  });
  return { worldId, roomId, entityId };
}

/**
 * Send one user message the way @elizaos/server's message bus does: ElizaOS.handleMessage in async mode,
 * with onResponse saving the agent's reply memory. Resolves when the run has completed.
 */
function sendMessage(eliza, runtime, dm, text, extraOptions = {}, timeoutMs = 60_000) {
  return new Promise((resolveRun, rejectRun) => {
    const timer = setTimeout(() => rejectRun(new Error(`no completion within ${timeoutMs} ms for ${JSON.stringify(text)}`)), timeoutMs);
    const resolve = (v) => {
      clearTimeout(timer);
      resolveRun(v);
    };
    const reject = (e) => {
      clearTimeout(timer);
      rejectRun(e);
    };
    const replies = [];
    const t0 = performance.now();
    let firstReplyMs = null;
    let lastReplyMs = null;
    const savedIds = new Set();
    eliza
      .handleMessage(
        runtime,
        {
          id: randomUUID(),
          entityId: dm.entityId,
          roomId: dm.roomId,
          worldId: dm.worldId,
          content: { text, source: 'bench', channelType: core.ChannelType.DM },
          createdAt: Date.now(),
        },
        {
          ...extraOptions,
          onResponse: async (content) => {
            const now = performance.now() - t0;
            replies.push({ atMs: now, content });
            if (content?.text) {
              if (firstReplyMs === null) firstReplyMs = now;
              lastReplyMs = now;
            }
            // as the server does: persist the reply memory (a second callback of the same run may reuse the id)
            const id = content?.responseId && !savedIds.has(content.responseId) ? content.responseId : undefined;
            if (id) savedIds.add(id);
            await runtime.createMemory(
              { id, entityId: runtime.agentId, agentId: runtime.agentId, content, roomId: dm.roomId, worldId: dm.worldId },
              'messages',
            );
          },
          onComplete: () => resolve({ firstReplyMs, lastReplyMs, runMs: performance.now() - t0, replies }),
          onError: (err) => reject(err instanceof Error ? err : new Error(String(err))),
        },
      )
      .catch(reject);
  });
}

/** Wait until background work (queued embeddings) has stopped calling the model. */
async function settle(counter, quietMs = 300, maxMs = 5000) {
  const start = performance.now();
  let last = JSON.stringify(counter.snapshot());
  let lastChange = performance.now();
  while (performance.now() - start < maxMs) {
    await sleep(50);
    const now = JSON.stringify(counter.snapshot());
    if (now !== last) {
      last = now;
      lastChange = performance.now();
    } else if (performance.now() - lastChange >= quietMs) {
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// P1: per-message overhead with a zero-latency model

async function scenarioP1(args) {
  const n = intArg(args, 'messages', 200, 1);
  const warmup = intArg(args, 'warmup', 10, 0);
  const latency = intArg(args, 'latency-ms', 0, 0);
  const reflection = args['reflection-answer'] || 'valid';
  if (!['valid', 'reply-xml'].includes(reflection)) fail('--reflection-answer must be valid or reply-xml', 2);
  await importElizaOS();
  const counter = new ModelCounter();
  const promptKinds = {};
  const model = makeModelPlugin(counter, {
    latencyMs: () => latency,
    text: (type, prompt, runtime) => {
      const kind = isReflectionPrompt(prompt) ? 'reflection' : isMessageHandlerPrompt(prompt) ? 'message_handler' : 'other';
      promptKinds[kind] = (promptKinds[kind] || 0) + 1;
      if (kind === 'reflection' && reflection === 'valid') return reflectionAnswer(prompt, runtime);
      return SINGLE_REPLY_XML;
    },
  });
  const pgDir = freshPgDir('p1');
  const agent = await startAgent({ pgDir, plugins: [model] });
  try {
    const dm = await openDm(agent.runtime, 'p1');
    const check = (r, i) => {
      const texts = r.replies.filter((x) => x.content?.text).map((x) => x.content.text);
      if (texts.length !== 1 || texts[0] !== REPLY_TEXT) {
        throw new Error(`message ${i}: expected exactly one reply ${JSON.stringify(REPLY_TEXT)}, got ${JSON.stringify(texts)}`);
      }
    };
    for (let i = 0; i < warmup; i++) check(await sendMessage(agent.eliza, agent.runtime, dm, `warm-up message ${i}`), -i);
    await settle(counter);
    counter.reset();
    for (const k of Object.keys(promptKinds)) delete promptKinds[k];

    const replyMs = [];
    const runMs = [];
    let replies = 0;
    for (let i = 0; i < n; i++) {
      const r = await sendMessage(agent.eliza, agent.runtime, dm, `bench message number ${i}, how are you?`);
      check(r, i);
      replies += 1;
      replyMs.push(r.firstReplyMs);
      runMs.push(r.runMs);
    }
    await settle(counter);
    if (replies !== n) throw new Error(`only ${replies}/${n} messages got a reply`);
    const byType = counter.snapshot();
    const reply = stats(replyMs);
    const run = stats(runMs);
    return {
      scenario: 'P1',
      p50_ms: reply.p50,
      p90_ms: reply.p90,
      mean_ms: reply.mean,
      n,
      replies,
      model_calls_per_reply: round(counter.total() / replies, 3),
      llm_calls_per_reply: round(counter.total((t) => !isEmbeddingType(t)) / replies, 3),
      calls_by_type: byType,
      calls_by_prompt: { ...promptKinds },
      reflection_answer: reflection,
      run_p50_ms: run.p50,
      run_p90_ms: run.p90,
      run_mean_ms: run.mean,
      warmup,
      latency_ms: latency,
      version: EXPECTED_VERSION,
      node: process.version,
    };
  } finally {
    await stopAgent(agent);
    removeDir(pgDir);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// P2: cold start, each rep in a fresh node process with a fresh PGLite directory

async function coldStartChild(args) {
  // Runs inside the child process. T_SCRIPT_START: ms from process start to the first line of this script.
  const pgDir = args['pg-dir'];
  const tImport0 = performance.now();
  await importElizaOS();
  const tImported = performance.now();
  const counter = new ModelCounter();
  const model = makeModelPlugin(counter, { latencyMs: () => 0, text: () => SINGLE_REPLY_XML });
  const agent = await startAgent({ pgDir, plugins: [model] });
  const tReady = performance.now();
  if (!agent.runtime.messageService) throw new Error('runtime has no messageService after initialize()');
  const result = {
    process_to_ready_ms: tReady, // node boot + imports + adapter + migrations + initialize
    script_start_ms: T_SCRIPT_START, // node boot until the first line of this script
    import_ms: tImported - tImport0,
    import_init_ms: tReady - tImport0, // from `import('@elizaos/core')` to initialize() returned
    init_only_ms: tReady - tImported, // adapter + migrations + initialize()
    ...agent.timings,
  };
  await stopAgent(agent);
  finish(result);
}

function runChild(scriptArgs) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...scriptArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    let out = '';
    let err = '';
    let tFirstOutput = null;
    child.stdout.on('data', (d) => {
      if (tFirstOutput === null) tFirstOutput = performance.now() - t0;
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`child exited with ${code}:\n${err.slice(-4000)}`));
        return;
      }
      try {
        resolve({ result: JSON.parse(out.trim()), spawnToOutputMs: tFirstOutput, wallMs: performance.now() - t0 });
      } catch (e) {
        reject(new Error(`child printed no JSON (${e.message}):\n${out.slice(0, 2000)}\n${err.slice(-4000)}`));
      }
    });
  });
}

async function scenarioP2(args) {
  const reps = intArg(args, 'reps', 5, 1);
  const rows = [];
  for (let i = 0; i < reps; i++) {
    const pgDir = freshPgDir('p2');
    try {
      const { result, spawnToOutputMs } = await runChild(['--cold-start-child', '--pg-dir', pgDir]);
      rows.push({ ...result, spawn_to_ready_ms: spawnToOutputMs });
      log(`P2 rep ${i + 1}/${reps}: process start -> ready ${(result.process_to_ready_ms / 1000).toFixed(3)} s`);
    } finally {
      removeDir(pgDir);
    }
  }
  const sec = (key) => rows.map((r) => r[key] / 1000);
  const s = (key) => {
    const v = sec(key);
    return { p50_s: round(quantile(v, 0.5)), min_s: round(Math.min(...v)), max_s: round(Math.max(...v)) };
  };
  const primary = s('process_to_ready_ms');
  return {
    scenario: 'P2',
    ...primary,
    reps,
    measures: 'process start (node boot) -> AgentRuntime.initialize() returned, fresh process and PGLite dir per rep',
    import_init: s('import_init_ms'),
    init_only: s('init_only_ms'),
    import_only: s('import_ms'),
    node_boot: s('script_start_ms'),
    spawn_to_ready: s('spawn_to_ready_ms'),
    init_breakdown_p50_s: {
      db_open: s('db_open_ms').p50_s,
      pglite_start_and_migrations: s('migrations_ms').p50_s,
      add_and_initialize: s('add_and_initialize_ms').p50_s,
    },
    per_rep_s: rows.map((r) => round(r.process_to_ready_ms / 1000)),
    version: EXPECTED_VERSION,
    node: process.version,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// P3: four independent lookups, model latency L ms per call

const LOOKUPS = [
  { name: 'LOOKUP_WEATHER', what: 'the weather forecast for a city', result: 'Weather in Paris: 18 C, light rain.' },
  { name: 'LOOKUP_STOCK', what: 'the latest price of a stock ticker', result: 'ACME trades at 123.45 USD (+1.2%).' },
  { name: 'LOOKUP_NEWS', what: "today's top news headlines", result: 'Top headline: local team wins the cup.' },
  { name: 'LOOKUP_CALENDAR', what: "the user's calendar for today", result: 'Today: 10:00 stand-up, 15:00 dentist.' },
];
const LOOKUP_NAMES = LOOKUPS.map((l) => l.name);
const P3_REQUEST =
  'Please look up the weather in Paris, the ACME stock price, the top news and my calendar for today.';
const SUMMARY_TEXT = 'Here is everything you asked for: weather, stock, news and calendar.';

function makeLookupActions(runLog) {
  return LOOKUPS.map((l) => ({
    name: l.name,
    similes: [],
    description: `Look up ${l.what}.`,
    parameters: {},
    examples: [],
    validate: async () => true,
    handler: async () => {
      runLog.push(l.name);
      return { success: true, text: l.result, values: { [`${l.name.toLowerCase()}Result`]: l.result }, data: { actionName: l.name } };
    },
  }));
}


/** Lookups already done in this run, read from the decision prompt's "# Previous Action Results" section. */
function doneFromPrompt(prompt) {
  const done = new Set();
  const re = /\*\*\d+\. ([A-Z_]+)\*\* - Success/g;
  let m;
  while ((m = re.exec(prompt)) !== null) done.add(m[1]);
  return done;
}

function makeP3Behaviour(state) {
  return {
    latencyMs: () => state.latencyMs,
    text: (type, prompt, runtime) => {
      if (isDecisionPrompt(prompt)) {
        state.decisionCalls += 1;
        // what the prompt shows the model: available actions and the results so far
        if (!LOOKUP_NAMES.every((n) => prompt.includes(`## ${n}`))) state.actionsMissingFromPrompt += 1;
        const fromPrompt = doneFromPrompt(prompt);
        const fromCounter = new Set(LOOKUP_NAMES.slice(0, state.decisionsIssued));
        let done = fromPrompt;
        if (fromPrompt.size !== fromCounter.size) {
          // the prompt does not reflect what already ran: fall back to our own counter
          state.promptTraceMismatches += 1;
          done = fromCounter;
        }
        const next = LOOKUP_NAMES.find((n) => !done.has(n));
        if (next) {
          state.decisionsIssued += 1;
          return (
            `<response><thought>Next lookup: ${next}.</thought><action>${next}</action>` +
            '<parameters>{}</parameters><providers></providers><isFinish>false</isFinish></response>'
          );
        }
        return (
          '<response><thought>All four lookups are done.</thought><action></action>' +
          '<parameters>{}</parameters><providers></providers><isFinish>true</isFinish></response>'
        );
      }
      if (isSummaryPrompt(prompt)) {
        state.summaryCalls += 1;
        return `<response><thought>Summarise the four results.</thought><text>${SUMMARY_TEXT}</text></response>`;
      }
      if (isMessageHandlerPrompt(prompt)) {
        // single-shot mode: one call plans the whole chain; lookups first so REPLY can see their results
        state.handlerCalls += 1;
        return (
          '<response><thought>Run the four lookups, then answer.</thought>' +
          `<actions>${[...LOOKUP_NAMES, 'REPLY'].join(',')}</actions><providers></providers>` +
          `<text>${SUMMARY_TEXT}</text></response>`
        );
      }
      if (isReplyPrompt(prompt)) {
        state.replyCalls += 1;
        return `<response><thought>Answer with the results.</thought><text>${SUMMARY_TEXT}</text></response>`;
      }
      if (isReflectionPrompt(prompt)) {
        state.reflectionCalls += 1;
        return reflectionAnswer(prompt, runtime);
      }
      state.otherCalls += 1;
      return SINGLE_REPLY_XML;
    },
  };
}

async function runP3Mode({ agent, counter, state, runLog, mode, reps, latency }) {
  const rows = [];
  for (let rep = 0; rep < reps; rep++) {
    const dm = await openDm(agent.runtime, `p3-${mode}-${rep}-${randomUUID()}`);
    await settle(counter, 200);
    counter.reset();
    runLog.length = 0;
    Object.assign(state, {
      latencyMs: latency,
      decisionsIssued: 0,
      decisionCalls: 0,
      summaryCalls: 0,
      handlerCalls: 0,
      replyCalls: 0,
      reflectionCalls: 0,
      otherCalls: 0,
      actionsMissingFromPrompt: 0,
      promptTraceMismatches: 0,
    });
    // multi-step comes from the USE_MULTI_STEP=true character setting (no per-call option, as a connector sends it);
    // the single-shot comparison overrides it for this call only
    const options = mode === 'multi-step' ? {} : { useMultiStep: false };
    const r = await sendMessage(agent.eliza, agent.runtime, dm, P3_REQUEST, options);
    const callsDuringRun = counter.snapshot();
    const llmCalls = counter.total((t) => !isEmbeddingType(t));
    await settle(counter, 200);
    const finalReplies = r.replies.filter((x) => x.content?.text === SUMMARY_TEXT);
    const ran = [...runLog];
    if (LOOKUP_NAMES.some((n) => !ran.includes(n)) || ran.length !== 4) {
      throw new Error(`${mode} rep ${rep}: expected the 4 lookups to run once each, ran ${JSON.stringify(ran)}`);
    }
    const expected =
      mode === 'multi-step'
        ? state.decisionCalls === 5 && state.summaryCalls === 1 && state.handlerCalls === 0
        : state.handlerCalls === 1 && state.replyCalls === 1 && state.decisionCalls === 0;
    if (!expected) {
      throw new Error(
        `${mode} rep ${rep}: unexpected prompts (decision ${state.decisionCalls}, summary ${state.summaryCalls}, ` +
          `message handler ${state.handlerCalls}, reply ${state.replyCalls}, other ${state.otherCalls})`,
      );
    }
    if (finalReplies.length !== 1) {
      throw new Error(`${mode} rep ${rep}: expected one final answer, got ${JSON.stringify(r.replies.map((x) => x.content))}`);
    }
    rows.push({
      wall_ms: finalReplies[0].atMs,
      run_ms: r.runMs,
      model_calls: llmCalls,
      calls_by_type: callsDuringRun,
      calls_by_type_incl_background: counter.snapshot(),
      actions_run: ran.length,
      actions_order: ran,
      callbacks: r.replies.length,
      decision_calls: state.decisionCalls,
      summary_calls: state.summaryCalls,
      handler_calls: state.handlerCalls,
      reply_calls: state.replyCalls,
      reflection_calls: state.reflectionCalls,
      other_calls: state.otherCalls,
      actions_missing_from_prompt: state.actionsMissingFromPrompt,
      prompt_trace_mismatches: state.promptTraceMismatches,
    });
    log(`P3 ${mode} rep ${rep + 1}/${reps}: ${finalReplies[0].atMs.toFixed(1)} ms, ${llmCalls} model calls, ran ${ran.join(',')}`);
  }
  const median = (key) => round(quantile(rows.map((x) => x[key]), 0.5), 1);
  return {
    wall_ms: median('wall_ms'),
    run_ms: median('run_ms'),
    model_calls: median('model_calls'),
    actions_run: median('actions_run'),
    wall_ms_per_rep: rows.map((x) => round(x.wall_ms, 1)),
    detail: rows[rows.length - 1],
  };
}

async function scenarioP3(args) {
  const latency = intArg(args, 'latency-ms', 200, 0);
  const reps = intArg(args, 'reps', 3, 1);
  const modes = (args.mode || 'both').toLowerCase();
  if (!['both', 'multi', 'single'].includes(modes)) fail('--mode must be multi, single or both', 2);
  await importElizaOS();
  const counter = new ModelCounter();
  const state = { latencyMs: 0 };
  const runLog = [];
  const model = makeModelPlugin(counter, makeP3Behaviour(state));
  const pgDir = freshPgDir('p3');
  const agent = await startAgent({
    pgDir,
    plugins: [model],
    settings: { USE_MULTI_STEP: 'true' },
    actions: makeLookupActions(runLog),
  });
  try {
    if (String(agent.runtime.getSetting('USE_MULTI_STEP')) !== 'true') {
      throw new Error(`USE_MULTI_STEP setting not visible to the runtime: ${agent.runtime.getSetting('USE_MULTI_STEP')}`);
    }
    // warm-up: one zero-latency run per mode (JIT, first-query costs), not measured
    if (modes !== 'single') await runP3Mode({ agent, counter, state, runLog, mode: 'multi-step', reps: 1, latency: 0 });
    if (modes !== 'multi') await runP3Mode({ agent, counter, state, runLog, mode: 'single-shot', reps: 1, latency: 0 });

    const out = { scenario: 'P3' };
    if (modes !== 'single') {
      const m = await runP3Mode({ agent, counter, state, runLog, mode: 'multi-step', reps, latency });
      Object.assign(out, {
        mode: 'multi-step (USE_MULTI_STEP=true)',
        wall_ms: m.wall_ms,
        model_calls: m.model_calls,
        actions_run: m.actions_run,
        latency_ms: latency,
        reps,
        run_ms: m.run_ms,
        wall_ms_per_rep: m.wall_ms_per_rep,
        multi_step_detail: m.detail,
      });
    } else {
      Object.assign(out, { latency_ms: latency, reps });
    }
    if (modes !== 'multi') {
      const s = await runP3Mode({ agent, counter, state, runLog, mode: 'single-shot', reps, latency });
      out.single_shot = {
        mode: `single-shot XML, actions chained sequentially: ${[...LOOKUP_NAMES, 'REPLY'].join(',')}`,
        wall_ms: s.wall_ms,
        model_calls: s.model_calls,
        actions_run: s.actions_run,
        run_ms: s.run_ms,
        wall_ms_per_rep: s.wall_ms_per_rep,
        detail: s.detail,
      };
    }
    out.version = EXPECTED_VERSION;
    out.node = process.version;
    return out;
  } finally {
    await stopAgent(agent);
    removeDir(pgDir);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// P5: vector search over N memories x D dims, pgvector inside PGLite, through runtime.searchMemories
//
// The vectors come from a small, language-independent generator (spec and a test vector in README.md) so that
// ElizaOS-Py can load bit-identical float32 vectors and compare its own search with this one.

const P5_DIMS = [384, 512, 768, 1024, 1536, 3072]; // the embeddings table has one column per dimension
const P5_TABLE = 'knowledge';
const WEYL_GAMMA = 0x9e3779b9;
const QUERY_STREAM_OFFSET = 0x80000000; // query stream = corpus stream from draw 2^31 on

/** uint32 draw t (0-based) of the stream for `seed`: fmix32(seed + (t + 1) * gamma mod 2^32). Sequential form. */
function makeU32Stream(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + WEYL_GAMMA) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Next `dim` draws as one L2-normalised float32 vector. Component: k = u >>> 11 (21 bits), x = (k - 2^20) / 2^20
 * in [-1, 1). The sum of squares is exact in float64 for dim <= 8192 (every x*x is a multiple of 2^-40 and the
 * total stays below 2^13), so its order does not matter; sqrt and division are correctly rounded; each component
 * is then rounded to the nearest float32.
 */
function nextUnitVector(next, dim, out) {
  const x = new Float64Array(dim);
  let ss = 0;
  for (let i = 0; i < dim; i++) {
    x[i] = ((next() >>> 11) - 1048576) / 1048576;
    ss += x[i] * x[i];
  }
  const norm = Math.sqrt(ss);
  for (let i = 0; i < dim; i++) out[i] = norm > 0 ? x[i] / norm : 0; // Float32Array store rounds to nearest
  return out;
}

/** `count` vectors of `dim` float32 components, row-major, from the stream for `seed`. */
function generateVectors(seed, count, dim) {
  const next = makeU32Stream(seed);
  const flat = new Float32Array(count * dim);
  for (let j = 0; j < count; j++) nextUnitVector(next, dim, flat.subarray(j * dim, (j + 1) * dim));
  return flat;
}

/** Exact top-k by cosine (float64 arithmetic) of `q` against the first `n` rows of `flat`. Ties: lower index. */
function bruteForceTopK(flat, norms, n, dim, q, k) {
  let qq = 0;
  for (let d = 0; d < dim; d++) qq += q[d] * q[d];
  const qn = Math.sqrt(qq);
  const bestIdx = new Int32Array(k).fill(-1);
  const bestSim = new Float64Array(k).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    const off = i * dim;
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += flat[off + d] * q[d];
    const sim = dot / (norms[i] * qn);
    if (sim <= bestSim[k - 1]) continue;
    let p = k - 1;
    while (p > 0 && sim > bestSim[p - 1]) {
      bestSim[p] = bestSim[p - 1];
      bestIdx[p] = bestIdx[p - 1];
      p--;
    }
    bestSim[p] = sim;
    bestIdx[p] = i;
  }
  return { idx: Array.from(bestIdx), sim: Array.from(bestSim) };
}

function cosine(a, b) {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let d = 0; d < a.length; d++) {
    dot += a[d] * b[d];
    aa += a[d] * a[d];
    bb += b[d] * b[d];
  }
  return dot / Math.sqrt(aa * bb);
}

/** What plugin-sql does to every vector before storing or searching it (MemoryStore.upsertEmbedding). */
const elizaCleanVector = (v) => Array.from(v, (n) => (Number.isFinite(n) ? Number(n.toFixed(6)) : 0));

const p5MemoryId = (i) => core.stringToUuid(`bench-p5-memory-${i}`);

function p5Memory(runtime, dm, i, vec, createdAt) {
  return {
    id: p5MemoryId(i),
    entityId: runtime.agentId,
    agentId: runtime.agentId,
    roomId: dm.roomId,
    worldId: dm.worldId,
    content: { text: `benchmark knowledge item ${i}`, source: 'bench' },
    metadata: { type: 'custom', source: 'bench-p5', index: i },
    embedding: Array.from(vec),
    createdAt,
  };
}

/** Load through the runtime: AgentRuntime.createMemory -> adapter.createMemory, `batch` calls in flight at a time. */
async function p5LoadApi({ runtime, dm, flat, n, dim, batch, budgetMs, t0 }) {
  let loaded = 0;
  while (loaded < n) {
    if (performance.now() - t0 > budgetMs) return { loaded, stoppedBy: 'load budget' };
    const end = Math.min(n, loaded + batch);
    const createdAt = Date.now();
    const calls = [];
    for (let i = loaded; i < end; i++) {
      // unique=true is passed explicitly: with it undefined, 1.7.2 runs a similarity search (an exact scan of the
      // whole table) before every insert to decide uniqueness, which makes a bulk load quadratic (see README)
      const mem = p5Memory(runtime, dm, i, flat.subarray(i * dim, (i + 1) * dim), createdAt);
      calls.push(runtime.createMemory(mem, P5_TABLE, true));
    }
    const settled = await Promise.allSettled(calls);
    const firstFailure = settled.findIndex((r) => r.status === 'rejected');
    if (firstFailure >= 0) {
      // keep a contiguous prefix 0..k-1, so that `n` means "the first n vectors"
      for (let j = firstFailure + 1; j < settled.length; j++) {
        if (settled[j].status === 'fulfilled') await runtime.deleteMemory(p5MemoryId(loaded + j)).catch(() => {});
      }
      return { loaded: loaded + firstFailure, stoppedBy: `error: ${settled[firstFailure].reason?.message}` };
    }
    loaded = end;
    if (loaded % 10000 < batch || loaded === n) {
      log(`P5 load (api): ${loaded}/${n} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  return { loaded, stoppedBy: null };
}

/**
 * Load with multi-row INSERTs on the adapter's own PGLite connection, one transaction per batch, into the same
 * tables and columns plugin-sql writes (memories + embeddings.dim_<D>), vectors rounded as plugin-sql rounds them.
 */
async function p5LoadSql({ runtime, dm, client, flat, n, dim, batch, budgetMs, t0 }) {
  let loaded = 0;
  const col = `dim_${dim}`;
  while (loaded < n) {
    if (performance.now() - t0 > budgetMs) return { loaded, stoppedBy: 'load budget' };
    const end = Math.min(n, loaded + batch);
    const createdAt = new Date().toISOString();
    const memValues = [];
    const memParams = [];
    const embValues = [];
    const embParams = [];
    for (let i = loaded; i < end; i++) {
      const m = p5Memory(runtime, dm, i, flat.subarray(i * dim, (i + 1) * dim), createdAt);
      const b = memParams.length;
      memValues.push(
        `($${b + 1}, $${b + 2}, $${b + 3}::jsonb, $${b + 4}::jsonb, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8}, true, $${b + 9})`,
      );
      memParams.push(m.id, P5_TABLE, JSON.stringify(m.content), JSON.stringify(m.metadata), m.entityId, m.agentId,
        m.roomId, m.worldId, createdAt);
      const e = embParams.length;
      embValues.push(`($${e + 1}, $${e + 2}, $${e + 3}::vector)`);
      embParams.push(randomUUID(), m.id, JSON.stringify(elizaCleanVector(m.embedding)));
    }
    try {
      await client.transaction(async (tx) => {
        await tx.query(
          'INSERT INTO memories (id, type, content, metadata, entity_id, agent_id, room_id, world_id, "unique", created_at) ' +
            `VALUES ${memValues.join(', ')}`,
          memParams,
        );
        await tx.query(`INSERT INTO embeddings (id, memory_id, ${col}) VALUES ${embValues.join(', ')}`, embParams);
      });
    } catch (err) {
      return { loaded, stoppedBy: `error: ${err.message}` };
    }
    loaded = end;
    if (loaded % 10000 < batch || loaded === n) {
      log(`P5 load (sql): ${loaded}/${n} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  return { loaded, stoppedBy: null };
}

/** Indexes on the embeddings table, and the plan of the exact SQL plugin-sql sent for one search. */
async function p5IndexReport(client, capturedSearch) {
  const { rows } = await client.query(
    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('embeddings', 'memories') ORDER BY tablename, indexname",
  );
  const ann = rows.filter((r) => /using\s+(hnsw|ivfflat)/i.test(r.indexdef));
  let plan = [];
  if (capturedSearch) {
    const res = await client.query(`EXPLAIN ${capturedSearch.sql}`, capturedSearch.params);
    // the query vector is inlined as a literal in the plan: shorten it
    plan = res.rows.map((r) => r['QUERY PLAN'].replace(/'\[[-0-9.,e]+\]'::vector/g, "'[query]'::vector"));
  }
  const planText = plan.join('\n');
  const annUsed = ann.find((r) => planText.includes(r.indexname));
  // without an ANN index in the plan every candidate row is scored: the search is exact
  const exact = 'exact scan: every embedding of the table scored, then sorted';
  let index;
  if (annUsed) index = `${/using\s+(hnsw|ivfflat)/i.exec(annUsed.indexdef)[1].toLowerCase()} (${annUsed.indexname})`;
  else if (ann.length) index = `none used: ${exact} (ANN index ${ann.map((r) => r.indexname).join(', ')} ignored)`;
  else index = `none: ${exact}`;
  // PGLite's defaults differ from a server's (enable_seqscan is off in 0.3.x): they shape the plan above
  const settings = {};
  for (const name of ['enable_seqscan', 'shared_buffers', 'work_mem']) {
    settings[name] = (await client.query(`SHOW ${name}`)).rows[0]?.[name];
  }
  return {
    index,
    settings,
    ann_indexes: ann.map((r) => r.indexdef),
    embeddings_indexes: rows.filter((r) => /ON public\.embeddings|ON embeddings/.test(r.indexdef)).map((r) => r.indexname),
    explain: plan,
  };
}

function pgliteVersion() {
  try {
    const pkg = path.join(HERE, 'node_modules', '@electric-sql', 'pglite', 'package.json');
    return JSON.parse(fs.readFileSync(pkg, 'utf8')).version;
  } catch {
    return null;
  }
}

async function scenarioP5(args) {
  const nRequested = intArg(args, 'n', 100000, 1);
  const dim = intArg(args, 'dim', EMBEDDING_DIM, 1);
  if (!P5_DIMS.includes(dim)) fail(`--dim must be one of ${P5_DIMS.join(', ')} (plugin-sql's vector columns)`, 2);
  const nQueries = intArg(args, 'queries', 200, 1);
  const seed = intArg(args, 'seed', 1, 0);
  if (seed > 0xffffffff) fail('--seed must fit in 32 bits', 2);
  const loadMode = args.load || 'api';
  if (!['api', 'sql'].includes(loadMode)) fail('--load must be api or sql', 2);
  const batch = intArg(args, 'batch', loadMode === 'api' ? 100 : 500, 1);
  const budgetS = intArg(args, 'load-budget-s', 3600, 1);
  const compareTuned = args['compare-tuned'] === 'true';
  const warmupQueries = Math.min(5, nQueries);
  const k = 10;

  await importElizaOS();
  const tGen = performance.now();
  const flat = generateVectors(seed, nRequested, dim);
  const queries = generateVectors((seed + QUERY_STREAM_OFFSET) >>> 0, nQueries, dim);
  log(`P5: generated ${nRequested} + ${nQueries} vectors x ${dim} in ${((performance.now() - tGen) / 1000).toFixed(1)} s`);

  const counter = new ModelCounter();
  const model = makeModelPlugin(counter, { latencyMs: () => 0, text: () => SINGLE_REPLY_XML });
  // the runtime learns the embedding dimension from this probe during initialize() (ensureEmbeddingDimension)
  model.models[core.ModelType.TEXT_EMBEDDING] = async () => {
    counter.add(core.ModelType.TEXT_EMBEDDING);
    return new Array(dim).fill(0.01);
  };
  const pgDir = freshPgDir('p5');
  const agent = await startAgent({ pgDir, plugins: [model] });
  try {
    const { runtime } = agent;
    const client = runtime.adapter.manager?.getConnection?.();
    if (!client?.query) throw new Error('cannot reach the PGLite connection of the plugin-sql adapter');
    const dm = await openDm(runtime, 'p5');

    // load
    const memBefore = process.memoryUsage().rss;
    const tLoad = performance.now();
    const loadArgs = { runtime, dm, client, flat, n: nRequested, dim, batch, budgetMs: budgetS * 1000, t0: tLoad };
    const { loaded, stoppedBy } = loadMode === 'api' ? await p5LoadApi(loadArgs) : await p5LoadSql(loadArgs);
    const loadS = (performance.now() - tLoad) / 1000;
    if (loaded < 1) throw new Error(`nothing could be loaded (${stoppedBy})`);
    const n = loaded;
    const { rows: countRows } = await client.query(
      'SELECT count(*)::int AS c FROM memories m JOIN embeddings e ON e.memory_id = m.id WHERE m.type = $1 AND m.agent_id = $2',
      [P5_TABLE, runtime.agentId],
    );
    if (countRows[0].c !== n) throw new Error(`expected ${n} memories with embeddings in the database, found ${countRows[0].c}`);
    const { rows: sizeRows } = await client.query(
      "SELECT pg_total_relation_size('embeddings')::bigint AS e, pg_total_relation_size('memories')::bigint AS m",
    );
    log(`P5: loaded ${n}/${nRequested} in ${loadS.toFixed(1)} s${stoppedBy ? ` (stopped: ${stoppedBy})` : ''}`);

    // search through the runtime, as an agent's provider does; capture the SQL plugin-sql sends for EXPLAIN
    const search = (q) =>
      runtime.searchMemories({ tableName: P5_TABLE, embedding: Array.from(q), count: k, match_threshold: 0 });
    let captured = null;
    const origQuery = client.query;
    client.query = function capture(sqlText, params, ...rest) {
      if (!captured && typeof sqlText === 'string' && sqlText.includes('<=>')) captured = { sql: sqlText, params };
      return origQuery.call(this, sqlText, params, ...rest);
    };
    try {
      for (let j = 0; j < warmupQueries; j++) await search(queries.subarray(j * dim, (j + 1) * dim));
    } finally {
      client.query = origQuery;
    }
    const lat = [];
    const results = [];
    for (let j = 0; j < nQueries; j++) {
      const q = queries.subarray(j * dim, (j + 1) * dim);
      const t0 = performance.now();
      const res = await search(q);
      lat.push(performance.now() - t0);
      results.push(res);
    }
    log(`P5: ${nQueries} searches, p50 ${quantile(lat, 0.5).toFixed(1)} ms`);

    // optional diagnostic, not part of the anchor (ElizaOS does neither): the same searches again after ANALYZE
    // and with enable_seqscan on, i.e. with a planner that knows the table sizes and may scan
    let tuned = null;
    if (compareTuned) {
      await client.query('ANALYZE memories');
      await client.query('ANALYZE embeddings');
      await client.query('SET enable_seqscan = on');
      try {
        const lat2 = [];
        let same = 0;
        for (let j = 0; j < nQueries; j++) {
          const t0 = performance.now();
          const res = await search(queries.subarray(j * dim, (j + 1) * dim));
          lat2.push(performance.now() - t0);
          if (res.map((m) => m.id).join() === results[j].map((m) => m.id).join()) same += 1;
        }
        const plan = captured ? (await client.query(`EXPLAIN ${captured.sql}`, captured.params)).rows : [];
        tuned = {
          changes: 'ANALYZE memories, embeddings; SET enable_seqscan = on',
          p50_ms: round(quantile(lat2, 0.5)),
          p99_ms: round(quantile(lat2, 0.99)),
          same_results: same,
          explain: plan.map((r) => r['QUERY PLAN'].replace(/'\[[-0-9.,e]+\]'::vector/g, "'[query]'::vector")),
        };
        log(`P5: after ANALYZE with enable_seqscan=on, p50 ${tuned.p50_ms} ms`);
      } finally {
        await client.query('RESET enable_seqscan');
      }
    }

    // recall@10 against exact cosine on the generated float32 vectors (what ElizaOS-Py loads)
    const tBrute = performance.now();
    const norms = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += flat[i * dim + d] ** 2;
      norms[i] = Math.sqrt(s);
    }
    const idOf = new Map();
    for (let i = 0; i < n; i++) idOf.set(p5MemoryId(i), i);
    let hits = 0;
    let tieTolerantHits = 0;
    let short = 0;
    let maxSimErr = 0;
    let exactTop1 = 0;
    for (let j = 0; j < nQueries; j++) {
      const q = queries.subarray(j * dim, (j + 1) * dim);
      const truth = bruteForceTopK(flat, norms, n, dim, q, k);
      const want = new Set(truth.idx.filter((i) => i >= 0));
      const got = results[j].map((m) => idOf.get(m.id));
      if (got.length < Math.min(k, n)) short += 1;
      if (got[0] === truth.idx[0]) exactTop1 += 1;
      const kth = truth.sim[Math.min(k, n) - 1];
      for (let r = 0; r < got.length; r++) {
        const i = got[r];
        if (i === undefined) continue;
        if (want.has(i)) hits += 1;
        const exact = cosine(flat.subarray(i * dim, (i + 1) * dim), q);
        if (exact >= kth - 1e-5) tieTolerantHits += 1; // as good as the true k-th up to the 6-decimal rounding
        maxSimErr = Math.max(maxSimErr, Math.abs(exact - Number(results[j][r].similarity)));
      }
    }
    const denom = nQueries * Math.min(k, n);
    log(`P5: brute force for recall in ${((performance.now() - tBrute) / 1000).toFixed(1)} s`);

    const idx = await p5IndexReport(client, captured);
    const out = {
      scenario: 'P5',
      n,
      dim,
      queries: nQueries,
      p50_ms: round(quantile(lat, 0.5)),
      p99_ms: round(quantile(lat, 0.99)),
      recall_at_10: round(hits / denom, 4),
      load_s: round(loadS, 2),
      index: idx.index,
      version: EXPECTED_VERSION,
      n_requested: nRequested,
      complete: n === nRequested,
      ...(n === nRequested ? {} : { note: `only ${n} of ${nRequested} vectors could be loaded (${stoppedBy})` }),
      mean_ms: round(mean(lat)),
      p90_ms: round(quantile(lat, 0.9)),
      min_ms: round(Math.min(...lat)),
      max_ms: round(Math.max(...lat)),
      recall_at_10_tie_tolerant: round(tieTolerantHits / denom, 4),
      top1_agreement: round(exactTop1 / nQueries, 4),
      short_results: short,
      similarity_max_abs_err: Number(maxSimErr.toExponential(2)),
      load_mode:
        loadMode === 'api'
          ? `runtime.createMemory(memory, '${P5_TABLE}', unique=true), ${batch} in flight per batch`
          : `multi-row INSERT into memories + embeddings.dim_${dim} on the adapter's PGLite connection, ${batch} rows per transaction`,
      load_rows_per_s: round(n / loadS, 1),
      search_call: `runtime.searchMemories({tableName: '${P5_TABLE}', embedding, count: ${k}, match_threshold: 0})`,
      warmup_queries: warmupQueries,
      seed,
      query_seed: (seed + QUERY_STREAM_OFFSET) >>> 0,
      generator: 'fmix32-weyl/21-bit, L2-normalised float32 (README.md)',
      embeddings_table_mb: round(Number(sizeRows[0].e) / 2 ** 20, 1),
      memories_table_mb: round(Number(sizeRows[0].m) / 2 ** 20, 1),
      rss_mb_before_load: round(memBefore / 2 ** 20, 0),
      rss_mb_after: round(process.memoryUsage().rss / 2 ** 20, 0),
      ann_indexes: idx.ann_indexes,
      embeddings_indexes: idx.embeddings_indexes,
      explain: idx.explain,
      pglite_settings: idx.settings,
      ...(tuned ? { tuned_planner: tuned } : {}),
      pglite: pgliteVersion(),
      node: process.version,
    };
    return out;
  } finally {
    await stopAgent(agent);
    removeDir(pgDir);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// P6: many concurrent rooms against one agent, fixed model latency. In-process through ElizaOS.handleMessage (no
// HTTP in front of the TS agent, which only flatters it): --rooms DM rooms are opened first (ensureConnection, not
// measured), then each room sends --per-room messages one after another, all rooms at once.

async function scenarioP6(args) {
  const rooms = intArg(args, 'rooms', 1000, 1);
  const perRoom = intArg(args, 'per-room', 1, 1);
  const latency = intArg(args, 'latency-ms', 100, 0);
  const warmup = intArg(args, 'warmup', 5, 0);
  const timeoutMs = intArg(args, 'timeout-s', 900, 1) * 1000;
  await importElizaOS();
  const counter = new ModelCounter();
  const promptKinds = {};
  const model = makeModelPlugin(counter, {
    latencyMs: () => latency,
    text: (type, prompt, runtime) => {
      const kind = isReflectionPrompt(prompt) ? 'reflection' : isMessageHandlerPrompt(prompt) ? 'message_handler' : 'other';
      promptKinds[kind] = (promptKinds[kind] || 0) + 1;
      if (kind === 'reflection') return reflectionAnswer(prompt, runtime);
      return SINGLE_REPLY_XML;
    },
  });
  const pgDir = freshPgDir('p6');
  const agent = await startAgent({ pgDir, plugins: [model] });
  try {
    // warm-up in a room of its own (JIT, first queries), not measured
    const warmDm = await openDm(agent.runtime, 'p6-warmup');
    for (let i = 0; i < warmup; i++) await sendMessage(agent.eliza, agent.runtime, warmDm, `warm-up message ${i}`);
    const tOpen = performance.now();
    const dms = [];
    for (let r = 0; r < rooms; r++) dms.push(await openDm(agent.runtime, `p6-room-${r}`));
    const openMs = performance.now() - tOpen;
    await settle(counter);
    counter.reset();
    for (const k of Object.keys(promptKinds)) delete promptKinds[k];

    const replyMs = [];
    const runMs = [];
    const failures = [];
    let lastReplyAt = 0;
    let replies = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const room = async (dm, r) => {
      for (let k = 0; k < perRoom; k++) {
        const sent = performance.now();
        try {
          const res = await sendMessage(agent.eliza, agent.runtime, dm, `room ${r} message ${k}, how are you?`, {}, timeoutMs);
          const texts = res.replies.filter((x) => x.content?.text);
          if (texts.length >= 1) {
            replies += 1;
            replyMs.push(res.firstReplyMs);
            lastReplyAt = Math.max(lastReplyAt, sent + res.firstReplyMs);
          } else {
            failures.push(`room ${r} message ${k}: no reply text`);
          }
          runMs.push(res.runMs);
        } catch (err) {
          failures.push(`room ${r} message ${k}: ${err.message}`);
        }
      }
    };
    await Promise.all(dms.map((dm, r) => room(dm, r)));
    const tDone = performance.now();
    const cpuRuns = process.cpuUsage(cpu0);
    await settle(counter);
    const cpuAll = process.cpuUsage(cpu0);
    const messages = rooms * perRoom;
    const replyWindowS = (lastReplyAt - t0) / 1000;
    const cpuMs = (u) => (u.user + u.system) / 1000;
    const reply = replyMs.length ? replyMs : [NaN];
    return {
      scenario: 'P6',
      rooms,
      per_room: perRoom,
      messages,
      replies,
      failures: failures.length,
      failure_examples: failures.slice(0, 5),
      msgs_per_s: round(replies / replyWindowS, 3),
      completed_per_s: round(messages / ((tDone - t0) / 1000), 3),
      p50_ms: round(quantile(reply, 0.5)),
      p90_ms: round(quantile(reply, 0.9)),
      p99_ms: round(quantile(reply, 0.99)),
      max_ms: round(Math.max(...reply)),
      run_p50_ms: round(quantile(runMs, 0.5)),
      run_p99_ms: round(quantile(runMs, 0.99)),
      wall_s: round((tDone - t0) / 1000),
      reply_window_s: round(replyWindowS),
      cpu_ms_per_msg: round(cpuMs(cpuAll) / messages),
      cpu_ms_per_msg_runs_only: round(cpuMs(cpuRuns) / messages),
      cpu_utilisation: round(cpuMs(cpuRuns) / (tDone - t0), 3),
      open_rooms_s: round(openMs / 1000),
      model_calls_per_msg: round(counter.total() / messages, 3),
      llm_calls_per_msg: round(counter.total((t) => !isEmbeddingType(t)) / messages, 3),
      calls_by_type: counter.snapshot(),
      calls_by_prompt: { ...promptKinds },
      latency_ms: latency,
      transport: 'in-process ElizaOS.handleMessage (no HTTP)',
      version: EXPECTED_VERSION,
      node: process.version,
    };
  } finally {
    await stopAgent(agent);
    removeDir(pgDir);
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const args = parseArgs(process.argv.slice(2));
  checkInstall();
  if (args['cold-start-child']) {
    await coldStartChild(args);
    return;
  }
  const scenario = String(args.scenario || '').toUpperCase();
  const run = { P1: scenarioP1, P2: scenarioP2, P3: scenarioP3, P5: scenarioP5, P6: scenarioP6 }[scenario];
  if (!run) fail(`--scenario must be P1, P2, P3, P5 or P6\n${USAGE}`, 2);
  const result = await run(args);
  finish(result);
}

main().catch((err) => fail(err?.stack || String(err)));
