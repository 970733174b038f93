// The plugin inside a real @elizaos/core 1.7.2 AgentRuntime (plugin-bootstrap + plugin-sql/PGLite, scripted
// model), serving test/fixtures/sidekick_fixture.py from a real Python process.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  ScriptedModel,
  loadElizaOS,
  makeMessage,
  openDm,
  replyXml,
  sendMessage,
  sidekickSettings,
  startAgent,
  stopAgent,
  within,
  PKG,
} from './helpers.mjs';
import { observe } from './observe.mjs';

const { default: pythonSidekickPlugin, bridgeFor, DELEGATE_ACTION, ErrorCode } = await import('../dist/index.js');

const WAIT_MS = 20_000;

/** The same conversation in a node process that never imports the plugin (started now, awaited later). */
const baseline = new Promise((resolve, reject) => {
  execFile(process.execPath, [path.join(PKG, 'test', 'baseline-agent.mjs')], { timeout: 60_000 }, (err, stdout, stderr) => {
    if (err) reject(new Error(`baseline agent failed: ${err.message}\n${stderr.slice(-2000)}`));
    else resolve(JSON.parse(stdout.trim().split('\n').at(-1)));
  });
});
baseline.catch(() => undefined); // awaited (and reported) by its test

/** The JSON "next step" answers the Python tool loop expects, played by the TS model plugin. */
function delegateRule(log) {
  return (_type, prompt, params) => {
    if (!prompt.includes('# Tools')) return undefined;
    log.push({ prompt, params });
    if (!prompt.includes('Tool results:')) {
      return JSON.stringify({
        thought: 'look it up and count the words, both at once',
        tool_calls: [
          { tool: 'TS_LOOKUP', arguments: { city: 'Paris' } },
          { tool: 'WORD_COUNT', arguments: { text: 'weather in Paris please' } },
        ],
        final_answer: '',
      });
    }
    const temp = /It is (\d+)C in Paris/.exec(prompt)?.[1];
    const words = /WORD_COUNT\([^)]*\) -> (\d+)/.exec(prompt)?.[1];
    return JSON.stringify({ thought: 'done', tool_calls: [], final_answer: `Paris is ${temp}C; your request had ${words} words.` });
  };
}

const summaryRule = (_type, prompt) => (prompt.startsWith('Summarize for the sidekick test') ? 'SUMMARY-OK' : undefined);

describe('python sidekick in a real ElizaOS 1.7.2 runtime', () => {
  let agent;
  let dm;
  let model;
  const delegatePrompts = [];
  const tsLookups = [];

  const tsPlugin = {
    name: 'ts-test-actions',
    description: 'A TS action for the delegate to call',
    actions: [
      {
        name: 'TS_LOOKUP',
        description: 'Looks up the weather of a city (a TypeScript action).',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        validate: async () => true,
        handler: async (_runtime, message, _state, options, callback) => {
          tsLookups.push({ parameters: options?.parameters, messageText: message.content.text });
          await callback?.({ text: `TS looked up ${options?.parameters?.city}` });
          return { success: true, text: `It is 21C in ${options?.parameters?.city}`, data: { actionName: 'TS_LOOKUP' } };
        },
      },
    ],
  };

  before(async () => {
    await loadElizaOS();
    model = new ScriptedModel([delegateRule(delegatePrompts), summaryRule]);
    agent = await startAgent({
      plugins: [model.plugin(), tsPlugin, pythonSidekickPlugin],
      settings: sidekickSettings({
        FIXTURE_SETTING: 'fixture-value',
        PYTHON_DELEGATE_TOOLS: 'TS_LOOKUP',
        PYTHON_SIDEKICK_HEALTH_INTERVAL_MS: '300',
        PYTHON_SIDEKICK_HEALTH_TIMEOUT_MS: '1500',
      }),
    });
    dm = await openDm(agent.runtime);
  });

  after(async () => {
    await stopAgent(agent);
  });

  it('registers the manifest as ordinary ElizaOS actions, providers, evaluators and services', async () => {
    const rt = agent.runtime;
    const actions = rt.actions.map((a) => a.name);
    for (const name of ['PY_PING', 'PY_GREET', 'PY_MEMORY', 'WORD_COUNT', DELEGATE_ACTION]) assert.ok(actions.includes(name), name);
    assert.ok(rt.providers.some((p) => p.name === 'PY_FACTS' && p.position === 50));
    assert.ok(rt.evaluators.some((e) => e.name === 'PY_EVAL' && e.alwaysRun === true));
    const wordCount = rt.actions.find((a) => a.name === 'WORD_COUNT');
    assert.deepEqual(wordCount.parameters.required, ['text']);
    const clock = await within(rt.getServiceLoadPromise('python_clock'), WAIT_MS, 'the python_clock service start');
    assert.ok(clock);
    assert.ok(rt.getService('python_sidekick'));
  });

  it("runs a Python action from the message pipeline; its streamed callback message arrives", async () => {
    model.respondNext(replyXml('', 'PY_GREET'));
    const r = await sendMessage(agent, dm, 'please greet me from python', { stream: true });
    const texts = r.replies.map((c) => c.text);
    assert.ok(texts.includes('Hello from Python, Eliza here.'), JSON.stringify(texts));
    assert.deepEqual(r.chunks, ['Hello ', 'from ', 'Python, Eliza here.']);
    const results = agent.runtime.getActionResults(r.messageId);
    assert.equal(results[0]?.success, true);
    assert.equal(results[0]?.values?.greetedBy, 'python');
  });

  it("puts a Python provider's text into the agent's prompt, and runs the Python evaluator", async () => {
    const before_ = model.calls.length;
    const r = await sendMessage(agent, dm, 'what do you know?');
    assert.ok(r.replies.some((c) => c.text === 'Scripted reply.'));
    const handlerPrompt = model.calls.slice(before_).find((c) => c.prompt.includes('Generate dialog and actions'));
    assert.ok(handlerPrompt, 'the message handler prompt was not seen');
    assert.ok(handlerPrompt.prompt.includes('PYFACT: the Python sidekick is alive'));
    const notes = await agent.runtime.getMemories({ tableName: 'python_evaluations', roomId: dm.roomId, count: 50 });
    assert.ok(notes.some((m) => m.content.text === 'evaluated: what do you know?'), JSON.stringify(notes.map((m) => m.content.text)));
  });

  it('picks up an action registered after init (what a restarted sidekick with a new manifest relies on)', async () => {
    agent.runtime.registerAction({
      name: 'LATE_ACTION',
      description: 'Registered after the runtime started.',
      validate: async () => true,
      handler: async () => ({ success: true, text: 'late ran' }),
    });
    model.respondNext(replyXml('', 'LATE_ACTION'));
    const before_ = model.calls.length;
    const r = await sendMessage(agent, dm, 'use the late action');
    const handlerPrompt = model.calls.slice(before_).find((c) => c.prompt.includes('Generate dialog and actions'));
    assert.ok(handlerPrompt.prompt.includes('LATE_ACTION'));
    assert.equal(agent.runtime.getActionResults(r.messageId)[0]?.text, 'late ran');
  });

  it('gives Python handlers the runtime: useModel, memories (get, create, search) and settings', async () => {
    model.respondNext(replyXml('', 'PY_MEMORY'));
    const r = await sendMessage(agent, dm, 'remember that the sky is green');
    const [result] = agent.runtime.getActionResults(r.messageId);
    assert.equal(result?.success, true, JSON.stringify(result));
    assert.equal(result.data.summary, 'SUMMARY-OK');
    assert.equal(result.data.setting, 'fixture-value');
    assert.equal(result.data.agentId, agent.runtime.agentId);
    assert.ok(result.data.recentTexts.includes('remember that the sky is green'));
    assert.ok(result.data.searchTexts.includes('python-note: remembered by the sidekick'), JSON.stringify(result.data.searchTexts));
    const stored = await agent.runtime.getMemoryById(result.data.createdId);
    assert.equal(stored?.content.text, 'python-note: remembered by the sidekick');
    const summaryCall = model.calls.find((c) => c.prompt.startsWith('Summarize for the sidekick test'));
    assert.equal(summaryCall?.type, 'TEXT_SMALL');
  });

  it('runs PYTHON_DELEGATE: the Python tool loop calls a TS action and a Python action at once, then answers', async () => {
    model.respondNext(replyXml('', DELEGATE_ACTION));
    const r = await sendMessage(agent, dm, 'delegate: weather in Paris please');
    const texts = r.replies.map((c) => c.text);
    assert.ok(texts.includes('Paris is 21C; your request had 4 words.'), JSON.stringify(texts));
    assert.deepEqual(tsLookups.at(-1), { parameters: { city: 'Paris' }, messageText: 'delegate: weather in Paris please' });
    assert.equal(delegatePrompts.length, 2);
    assert.equal(delegatePrompts[0].params.responseFormat?.type, 'json_object');
    assert.ok(delegatePrompts[0].params.responseSchema?.properties?.tool_calls);
    assert.ok(delegatePrompts[0].prompt.includes('TS_LOOKUP'));
    const [result] = agent.runtime.getActionResults(r.messageId);
    assert.equal(result.success, true);
    const calls = result.data.toolCalls.map((c) => `${c.name}:${c.success}:${c.output}`).sort();
    assert.deepEqual(calls, ['TS_LOOKUP:true:It is 21C in Paris', 'WORD_COUNT:true:4']);
  });

  it('reports a failing Python action as a failed ActionResult; the sidekick keeps serving', async () => {
    const rt = agent.runtime;
    const fail = rt.actions.find((a) => a.name === 'PY_FAIL');
    const out = await fail.handler(rt, makeMessage(rt, dm, 'x'), { values: {}, data: {}, text: '' }, {}, async () => []);
    assert.equal(out.success, false);
    assert.match(out.error, /Python action PY_FAIL failed: RuntimeError: the fixture failed on purpose/);
    assert.equal(out.data.errorCode, ErrorCode.HANDLER_FAILED);
    const ping = rt.actions.find((a) => a.name === 'PY_PING');
    const ok = await ping.handler(rt, makeMessage(rt, dm, 'x'), { values: {}, data: {}, text: '' }, {}, async () => []);
    assert.equal(ok.text, 'pong');
  });

  it('leaves an agent without the plugin exactly as it is without the plugin installed (zero impact)', async () => {
    // This process imported the plugin and runs it for another agent; a plain agent must not notice.
    const plainModel = new ScriptedModel();
    const plain = await startAgent({ name: 'Plain', plugins: [plainModel.plugin()] });
    try {
      const seen = await observe(plain, plainModel);
      assert.ok(!seen.plugins.includes('python-sidekick'));
      assert.deepEqual(seen, await within(baseline, 60_000, 'the baseline agent'));
    } finally {
      await stopAgent(plain);
    }
  });

  it('fails calls clearly while the Python process is down, then restarts it with backoff', async () => {
    const rt = agent.runtime;
    const supervisor = bridgeFor(rt).supervisor;
    const ping = rt.actions.find((a) => a.name === 'PY_PING');
    const oldPid = supervisor.pid;
    const restarts = supervisor.restarts;
    const down = supervisor.waitFor('restarting', WAIT_MS);
    supervisor.kill('SIGKILL');
    await down;
    const out = await ping.handler(rt, makeMessage(rt, dm, 'x'), undefined, {}, async () => []);
    assert.equal(out.success, false);
    assert.match(out.error, /Python sidekick .* is down \(killed by SIGKILL/);
    assert.equal(out.data.errorCode, ErrorCode.UNAVAILABLE);
    assert.equal(await ping.validate(rt, makeMessage(rt, dm, 'x')), false, 'hidden from the model while down');
    await supervisor.waitFor('ready', WAIT_MS);
    assert.equal(supervisor.restarts, restarts + 1);
    assert.notEqual(supervisor.pid, oldPid);
    const again = await ping.handler(rt, makeMessage(rt, dm, 'x'), undefined, {}, async () => []);
    assert.equal(again.text, 'pong');
  });

  it('kills and restarts a sidekick that stops answering health checks', async () => {
    const supervisor = bridgeFor(agent.runtime).supervisor;
    const frozenPid = supervisor.pid;
    const down = supervisor.waitFor('restarting', WAIT_MS);
    process.kill(frozenPid, 'SIGSTOP'); // alive but unresponsive
    await down;
    assert.match(supervisor.lastExit, /killed by SIGKILL/);
    await supervisor.waitFor('ready', WAIT_MS);
    assert.notEqual(supervisor.pid, frozenPid);
    assert.equal((await supervisor.ping()).inFlight, 1);
  });

  it('stops the Python process when the runtime stops', async () => {
    const supervisor = bridgeFor(agent.runtime).supervisor;
    const pid = supervisor.pid;
    await agent.runtime.stop();
    assert.equal(supervisor.state, 'stopped');
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    assert.equal(bridgeFor(agent.runtime), undefined);
  });
});
