#!/usr/bin/env node
// P4: round-trip latency and throughput of a no-op Python action over the sidekick's stdio transport, next
// to two anchors measured in the same run:
//
//   pipe  - the physical floor: node writes newline-delimited JSON frames of the same size as an
//           `action/invoke` request to a Python child (bench/p4_echo.py) that echoes the lines back;
//   stdio - ours: `action/invoke` of PY_NOOP through the plugin's RPC client (SidekickSupervisor.call, the
//           JSON-RPC connection the ElizaOS action handler uses, without an AgentRuntime around it), served
//           by `python -m elizapy.cli_sidekick` (pydantic validation of the params included);
//   http  - the same SidekickServer handler behind a bare ASGI route on uvicorn (bench/p4_http.py), called
//           with keep-alive http.Agent on 127.0.0.1.
//
// Each leg: `sequential` (one call at a time, after warm-up) p50/p99, and `concurrent` (--concurrency calls
// in flight) calls/s and p50/p99.
//
//   node bench/p4.mjs [--n 20000] [--concurrency 64] [--warmup 500]
//
// Prints exactly one JSON object on stdout. Needs `scripts/setup/sidekick.sh` (tsc) and a Python with
// elizapy and uvicorn (the repository's .venv, or SIDEKICK_BENCH_PYTHON).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PKG = path.resolve(HERE, '..');
const REPO = path.resolve(PKG, '..', '..');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`--${name} must be a positive integer\n`);
    process.exit(2);
  }
  return v;
}

const N = arg('n', 20000);
const CONCURRENCY = arg('concurrency', 64);
const WARMUP = arg('warmup', Math.min(500, N));
const SEQ_N = Math.max(1, Math.min(N, arg('seq-n', 5000)));
const GOAL_RATIO = 3;
const GOAL_CALLS_S = 20000;

if (!fs.existsSync(path.join(PKG, 'dist', 'supervisor.js'))) {
  process.stderr.write('run scripts/setup/sidekick.sh first (npm ci + tsc in packages/plugin-python-sidekick)\n');
  process.exit(3);
}
const { SidekickSupervisor } = await import('../dist/supervisor.js');
const { LineDecoder } = await import('../dist/rpc.js');

const venv = path.join(REPO, '.venv', 'bin', 'python');
const python = process.env.SIDEKICK_BENCH_PYTHON || (fs.existsSync(venv) ? venv : 'python3');

// --- statistics -------------------------------------------------------------------------------------------

const quantile = (sorted, q) => {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
};
const r4 = (x) => Number(x.toFixed(4));
const latency = (values) => {
  const s = Float64Array.from(values).sort();
  return { p50_ms: r4(quantile(s, 0.5)), p99_ms: r4(quantile(s, 0.99)) };
};

/** `call()` WARMUP times, then SEQ_N times one at a time, then N times with CONCURRENCY in flight. */
async function measure(call) {
  for (let i = 0; i < WARMUP; i++) await call();
  const seq = new Array(SEQ_N);
  for (let i = 0; i < SEQ_N; i++) {
    const t = performance.now();
    await call();
    seq[i] = performance.now() - t;
  }
  const conc = new Array(N);
  let next = 0;
  const worker = async () => {
    while (next < N) {
      const i = next++;
      const t = performance.now();
      await call();
      conc[i] = performance.now() - t;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, N) }, worker));
  const elapsed = performance.now() - t0;
  const c = latency(conc);
  return {
    sequential: latency(seq),
    concurrent: { calls_s: Math.round((N / elapsed) * 1000), p50_ms: c.p50_ms, p99_ms: c.p99_ms },
  };
}

// --- the payload: what the plugin sends for one ElizaOS action call ---------------------------------------

const uuid = (n) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const invokeParams = (i) => ({
  invocation: `inv-${i}`,
  message: {
    id: uuid(1),
    entityId: uuid(2),
    agentId: uuid(3),
    roomId: uuid(4),
    content: { text: 'noop', source: 'bench' },
    createdAt: 1_760_000_000_000,
  },
  state: { values: {}, data: {}, text: '' },
  name: 'PY_NOOP',
  options: { parameters: {}, actionContext: { previousResults: [] } },
  responses: [],
  streaming: false,
});
const checkResult = (r) => {
  if (!r?.result?.success || r.result.text !== 'ok') throw new Error(`unexpected result ${JSON.stringify(r)}`);
};
const FRAME_BYTES = Buffer.byteLength(JSON.stringify({ jsonrpc: '2.0', id: 12345, method: 'action/invoke', params: invokeParams(12345) }));

// --- (a) raw pipe echo ------------------------------------------------------------------------------------

async function pipeLeg() {
  const child = spawn(python, [path.join(HERE, 'p4_echo.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map();
  const decoder = new LineDecoder(
    4 * 1024 * 1024,
    (line) => {
      const msg = JSON.parse(line);
      const done = waiting.get(msg.id);
      waiting.delete(msg.id);
      done(msg);
    },
    () => {
      throw new Error('oversize echo');
    },
  );
  child.stdout.on('data', (chunk) => decoder.push(chunk));
  // frames written in one tick go out in one write (the same coalescing the plugin's connection does)
  let queued = [];
  const flush = () => {
    const data = queued.length === 1 ? queued[0] : queued.join('');
    queued = [];
    child.stdin.write(data);
  };
  let id = 0;
  const call = () =>
    new Promise((resolve) => {
      const i = ++id;
      waiting.set(i, resolve);
      if (queued.length === 0) queueMicrotask(flush);
      queued.push(`${JSON.stringify({ jsonrpc: '2.0', id: i, method: 'action/invoke', params: invokeParams(i) })}\n`);
    });
  try {
    return await measure(call);
  } finally {
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
  }
}

// --- (b) our stdio transport ------------------------------------------------------------------------------

async function stdioLeg() {
  const quiet = { debug() {}, info() {}, warn: (m) => process.stderr.write(`${m}\n`), error: (m) => process.stderr.write(`${m}\n`) };
  const supervisor = new SidekickSupervisor({
    command: [python, '-m', 'elizapy.cli_sidekick', '--module', 'roundtrip_module', '--log-level', 'WARNING'],
    cwd: HERE,
    agent: { id: uuid(3), name: 'Bench', character: { name: 'Bench' } },
    handler: {
      onRequest: async (method) => {
        throw new Error(`the benchmark serves no reverse calls (${method})`);
      },
      onNotification: () => undefined,
    },
    logger: quiet,
    healthIntervalMs: 0,
    requestTimeoutMs: 60_000,
  });
  const init = await supervisor.start();
  let i = 0;
  const call = async () => checkResult(await supervisor.call('action/invoke', invokeParams(++i)));
  try {
    return { ...(await measure(call)), peer_max_in_flight: init.limits.maxInFlight };
  } finally {
    await supervisor.stop();
  }
}

// --- (c) HTTP/JSON ----------------------------------------------------------------------------------------

async function httpLeg() {
  const child = spawn(python, [path.join(HERE, 'p4_http.py'), '--module', 'roundtrip_module'], {
    cwd: HERE,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      const m = /^LISTENING (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`p4_http.py exited with ${code}`)));
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let i = 0;
  const call = () =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify(invokeParams(++i));
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/invoke',
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            try {
              checkResult(JSON.parse(Buffer.concat(chunks).toString('utf8')));
              resolve();
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  try {
    return await measure(call);
  } finally {
    agent.destroy();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

// --- run ----------------------------------------------------------------------------------------------------

try {
  const pipe = await pipeLeg();
  const stdio = await stdioLeg();
  const httpJson = await httpLeg();
  const p50VsPipe = r4(stdio.sequential.p50_ms / pipe.sequential.p50_ms);
  const result = {
    scenario: 'P4_sidekick_transport',
    n: N,
    seq_n: SEQ_N,
    warmup: WARMUP,
    concurrency: CONCURRENCY,
    frame_bytes: FRAME_BYTES,
    pipe,
    stdio,
    http: httpJson,
    p50_vs_pipe: p50VsPipe,
    concurrent_p50_vs_pipe: r4(stdio.concurrent.p50_ms / pipe.concurrent.p50_ms),
    calls_s_vs_http: r4(stdio.concurrent.calls_s / httpJson.concurrent.calls_s),
    p50_vs_http: r4(stdio.sequential.p50_ms / httpJson.sequential.p50_ms),
    goal_p50_vs_pipe: GOAL_RATIO,
    goal_calls_s: GOAL_CALLS_S,
    goal_p50_met: p50VsPipe <= GOAL_RATIO,
    goal_calls_s_met: stdio.concurrent.calls_s >= GOAL_CALLS_S,
    driver: 'SidekickSupervisor.call (plugin RPC client, no AgentRuntime)',
    node: process.version,
    python,
    cpus: os.cpus().length,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
} catch (err) {
  process.stderr.write(`P4 benchmark failed: ${err?.stack ?? err}\n`);
  process.exit(1);
}
