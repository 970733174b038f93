#!/usr/bin/env node
// Round-trip latency of a trivial Python action invoked from TS: the action ElizaOS registered from the
// manifest is called N times (after W warm-up calls) the way processActions calls it, inside a real
// @elizaos/core 1.7.2 AgentRuntime (plugin-bootstrap + plugin-sql/PGLite). Each call is one `action/invoke`
// JSON-RPC round trip over the sidekick's stdio, validation by pydantic on the Python side included.
//
//   node bench/roundtrip.mjs [--n 200] [--warmup 20]
//
// Prints exactly one JSON object on stdout; ElizaOS's logs go to stderr. `ping_*` is the bare protocol
// round trip (`$/ping`) for comparison. Needs `scripts/setup/sidekick.sh` (npm ci + tsc) and a Python with
// elizapy (the repository's .venv, or SIDEKICK_BENCH_PYTHON).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PKG = path.resolve(HERE, '..');
const REPO = path.resolve(PKG, '..', '..');

const writeStdout = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, encoding, cb) => process.stderr.write(chunk, encoding, cb);
process.env.LOG_LEVEL = process.env.BENCH_LOG_LEVEL || 'fatal';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) {
    process.stderr.write(`--${name} must be a non-negative integer\n`);
    process.exit(2);
  }
  return v;
}

const N = arg('n', 200);
const WARMUP = arg('warmup', 20);
if (!fs.existsSync(path.join(PKG, 'dist', 'index.js')) || !fs.existsSync(path.join(PKG, 'node_modules', '@elizaos', 'core'))) {
  process.stderr.write('run scripts/setup/sidekick.sh first (npm ci + tsc in packages/plugin-python-sidekick)\n');
  process.exit(3);
}

const quantile = (values, q) => {
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
};
const round = (x) => Number(x.toFixed(4));
const summary = (values) => ({
  p50_ms: round(quantile(values, 0.5)),
  p90_ms: round(quantile(values, 0.9)),
  p99_ms: round(quantile(values, 0.99)),
  mean_ms: round(values.reduce((a, b) => a + b, 0) / values.length),
  min_ms: round(Math.min(...values)),
  max_ms: round(Math.max(...values)),
});

const core = await import('@elizaos/core');
const sql = await import('@elizaos/plugin-sql');
const bootstrap = (await import('@elizaos/plugin-bootstrap')).default;
const { default: sidekick, bridgeFor } = await import('../dist/index.js');

const venv = path.join(REPO, '.venv', 'bin', 'python');
const python = process.env.SIDEKICK_BENCH_PYTHON || (fs.existsSync(venv) ? venv : 'python3');
const model = {
  name: 'bench-null-model',
  description: 'answers nothing; the benchmark calls the action directly',
  priority: 1000,
  models: {
    [core.ModelType.TEXT_SMALL]: async () => '',
    [core.ModelType.TEXT_LARGE]: async () => '',
    [core.ModelType.TEXT_EMBEDDING]: async () => new Array(384).fill(0.01),
  },
};

const pgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sidekick-roundtrip-'));
const character = {
  name: 'Bench',
  bio: ['Round-trip benchmark agent.'],
  plugins: [],
  settings: {
    PYTHON_SIDEKICK_MODULE: 'roundtrip_module',
    PYTHON_SIDEKICK_COMMAND: JSON.stringify([python, '-m', 'elizapy.cli_sidekick', '--log-level', 'WARNING']),
    PYTHON_SIDEKICK_CWD: HERE,
    PYTHON_SIDEKICK_HEALTH_INTERVAL_MS: '0',
    secrets: {},
  },
};
const eliza = new core.ElizaOS();
const adapter = sql.createDatabaseAdapter({ dataDir: pgDir }, core.stringToUuid(character.name));
await adapter.init();
await adapter.runPluginMigrations([{ name: '@elizaos/plugin-sql', schema: sql.default.schema }], { verbose: false });
const t0 = performance.now();
const [runtime] = await eliza.addAgents(
  [{ character, plugins: [sql.default, bootstrap, model, sidekick], databaseAdapter: adapter }],
  { autoStart: true, returnRuntimes: true },
);
const startMs = performance.now() - t0;

try {
  const action = runtime.actions.find((a) => a.name === 'PY_NOOP');
  if (!action) throw new Error('PY_NOOP was not registered');
  const roomId = core.createUniqueUuid(runtime, 'bench-room');
  const message = {
    id: core.createUniqueUuid(runtime, 'bench-message'),
    entityId: core.createUniqueUuid(runtime, 'bench-user'),
    agentId: runtime.agentId,
    roomId,
    content: { text: 'noop', source: 'bench' },
    createdAt: Date.now(),
  };
  const state = { values: {}, data: {}, text: '' };
  const options = { actionContext: { previousResults: [] } };
  const callback = async () => [];
  const times = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const start = performance.now();
    const r = await action.handler(runtime, message, state, options, callback, []);
    const ms = performance.now() - start;
    if (!r?.success || r.text !== 'ok') throw new Error(`call ${i} failed: ${JSON.stringify(r)}`);
    if (i >= WARMUP) times.push(ms);
  }
  const supervisor = bridgeFor(runtime).supervisor;
  const pings = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const start = performance.now();
    await supervisor.ping();
    if (i >= WARMUP) pings.push(performance.now() - start);
  }
  const ping = summary(pings);
  const result = {
    scenario: 'sidekick_roundtrip',
    n: N,
    warmup: WARMUP,
    ...summary(times),
    ping_p50_ms: ping.p50_ms,
    ping_p90_ms: ping.p90_ms,
    agent_start_with_sidekick_ms: round(startMs),
    node: process.version,
    elizaos_core: JSON.parse(fs.readFileSync(path.join(PKG, 'node_modules', '@elizaos', 'core', 'package.json'), 'utf8')).version,
    protocol: supervisor.init.protocolVersion,
    python,
    cpus: os.cpus().length,
  };
  await eliza.stopAgents([runtime.agentId]);
  await adapter.close?.();
  fs.rmSync(pgDir, { recursive: true, force: true });
  writeStdout(`${JSON.stringify(result)}\n`, () => process.exit(0));
} catch (err) {
  process.stderr.write(`roundtrip benchmark failed: ${err?.stack ?? err}\n`);
  fs.rmSync(pgDir, { recursive: true, force: true });
  process.exit(1);
}
