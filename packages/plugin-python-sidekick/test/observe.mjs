// What "an agent behaves the same" means in the zero-impact test: the same components, the same model calls,
// the same prompt structure and the same replies for the same conversation.

import { openDm, sendMessage } from './helpers.mjs';

const normalize = (line) =>
  line
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
    .replace(/\d+/g, '<n>');

export async function observe(agent, model) {
  const rt = agent.runtime;
  const dm = await openDm(rt, 'zero-impact');
  const replies = [];
  for (const text of ['hello there', 'how are you today?']) {
    const r = await sendMessage(agent, dm, text);
    replies.push(r.replies.map((c) => c.text));
  }
  const llm = model.calls.filter((c) => c.type !== 'TEXT_EMBEDDING');
  return {
    plugins: rt.plugins.map((p) => p.name).sort(),
    actions: rt.actions.map((a) => a.name).sort(),
    providers: rt.providers.map((p) => p.name).sort(),
    evaluators: rt.evaluators.map((e) => e.name).sort(),
    services: [...rt.services.keys()].sort(),
    models: [...rt.models.keys()].sort(),
    llmCalls: llm.map((c) => c.type),
    promptHeaders: llm.map((c) => c.prompt.split('\n').filter((l) => l.startsWith('#')).map(normalize)),
    replies,
  };
}
