// PYTHON_DELEGATE answered by a LangGraph graph, switched on by character settings alone, inside a real
// @elizaos/core 1.7.2 AgentRuntime: the graph (examples/sidekick/langgraph_graph.py) runs on this agent's
// own model and calls a TS action as a tool.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  REPO,
  ScriptedModel,
  loadElizaOS,
  openDm,
  replyXml,
  sendMessage,
  sidekickSettings,
  startAgent,
  stopAgent,
} from './helpers.mjs';

const { default: pythonSidekickPlugin, DELEGATE_ACTION } = await import('../dist/index.js');

const GRAPH = `${path.join(REPO, 'examples', 'sidekick', 'langgraph_graph.py')}:build`;

/** This agent's model, as the graph's `model.bind_tools(...)` reaches it: the JSON "next step" prompt. */
function graphRule(log) {
  return (type, prompt, params) => {
    if (!prompt.includes('You are the LangGraph delegate.')) return undefined;
    log.push({ type, prompt, params });
    const result = /Tool result \(TS_LOOKUP\): (.*)/.exec(prompt)?.[1];
    if (!result) {
      return JSON.stringify({ thought: 'ask TS', tool_calls: [{ tool: 'TS_LOOKUP', arguments: { city: 'Paris' } }], final_answer: '' });
    }
    return JSON.stringify({ thought: 'done', tool_calls: [], final_answer: `The graph says: ${result}.` });
  };
}

describe('PYTHON_DELEGATE on a LangGraph graph chosen by character settings', () => {
  let agent;
  let dm;
  let model;
  const graphPrompts = [];
  const tsLookups = [];

  const tsPlugin = {
    name: 'ts-graph-tools',
    description: 'A TS action for the graph to call',
    actions: [
      {
        name: 'TS_LOOKUP',
        description: 'Looks up the weather of a city (a TypeScript action).',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        validate: async () => true,
        handler: async (_runtime, message, _state, options) => {
          tsLookups.push({ parameters: options?.parameters, messageText: message.content.text });
          return { success: true, text: `It is 19C in ${options?.parameters?.city}`, data: { actionName: 'TS_LOOKUP' } };
        },
      },
    ],
  };

  before(async () => {
    await loadElizaOS();
    model = new ScriptedModel([graphRule(graphPrompts)]);
    agent = await startAgent({
      plugins: [model.plugin(), tsPlugin, pythonSidekickPlugin],
      settings: sidekickSettings({
        PYTHON_DELEGATE_TOOLS: 'TS_LOOKUP',
        PYTHON_DELEGATE_BACKEND: 'langgraph',
        PYTHON_DELEGATE_GRAPH: GRAPH,
      }),
    });
    dm = await openDm(agent.runtime);
  });

  after(async () => {
    await stopAgent(agent);
  });

  it('answers through the graph, which calls the TS action as a tool', async () => {
    model.respondNext(replyXml('', DELEGATE_ACTION));
    const r = await sendMessage(agent, dm, 'graph: weather in Paris?');
    const texts = r.replies.map((c) => c.text);
    assert.ok(texts.includes('The graph says: It is 19C in Paris.'), JSON.stringify(texts));
    assert.deepEqual(tsLookups, [{ parameters: { city: 'Paris' }, messageText: 'graph: weather in Paris?' }]);
    // two turns of the graph's agent node on this agent's TEXT_LARGE; the tools reach it as the step schema
    assert.equal(graphPrompts.length, 2);
    assert.ok(graphPrompts.every((p) => p.type === 'TEXT_LARGE'));
    assert.equal(graphPrompts[0].params.responseFormat?.type, 'json_object');
    const offered = graphPrompts[0].params.responseSchema.properties.tool_calls.items.anyOf.map((v) => v.properties.tool.const);
    assert.ok(offered.includes('TS_LOOKUP') && offered.includes('WORD_COUNT'), JSON.stringify(offered));
    assert.ok(graphPrompts[1].prompt.includes('[call TS_LOOKUP {"city": "Paris"}]'));
    const [result] = agent.runtime.getActionResults(r.messageId);
    assert.equal(result.success, true, JSON.stringify(result));
    assert.equal(result.text, 'The graph says: It is 19C in Paris.');
    assert.equal(result.data.backend, 'langgraph');
    assert.deepEqual(
      result.data.toolCalls.map((c) => `${c.name}:${c.success}:${c.output}`),
      ['TS_LOOKUP:true:It is 19C in Paris'],
    );
  });
});
