// Drives the ElizaOS-Py server with the official @elizaos/api-client 1.7.2 and prints what it saw as JSON.
// Usage: node api_client_flow.mjs <baseUrl> <characterJson> [apiKey]
// The Python test asserts on the output; this script only records (errors included), it asserts nothing.
import { ApiError, ElizaClient } from "@elizaos/api-client";
import { randomUUID } from "node:crypto";

const [baseUrl, characterText, apiKey] = process.argv.slice(2);
const client = ElizaClient.create({ baseUrl, apiKey: apiKey || undefined, timeout: 20000 });
const out = { steps: [] };

async function step(name, fn) {
  try {
    const value = await fn();
    out[name] = value === undefined ? { undefined: true } : value;
  } catch (e) {
    out[name] = { error: e instanceof ApiError ? { code: e.code, message: e.message, status: e.status }
                                               : { message: String(e) } };
  }
  out.steps.push(name);
  return out[name];
}

async function waitFor(what, fn, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const userId = randomUUID();
const character = JSON.parse(characterText);
out.userId = userId;

await step("listBefore", () => client.agents.listAgents());
const created = await step("created", () => client.agents.createAgent({ characterJson: character }));
const agentId = created.id;
await step("createdAgain", () => client.agents.createAgent({ characterJson: character }));
await step("getBeforeStart", () => client.agents.getAgent(agentId));
await step("started", () => client.agents.startAgent(agentId));
await step("listRunning", () => client.agents.listAgents());

const session = await step("session", () => client.sessions.createSession({ agentId, userId }));
await step("sendAsync", () => client.sessions.sendMessage(session.sessionId, { content: "please say alpha42" }));
await step("history", () => waitFor("the agent's reply in the session history", async () => {
  const page = await client.sessions.getMessages(session.sessionId);
  return page.messages.some((m) => m.isAgent) ? page : null;
}));
// transport "http" answers {success, userMessage, agentResponse, ...} without "data": the client unwraps to undefined.
await step("sendSync", () => client.sessions.sendMessageSync(session.sessionId, { content: "please say beta7" }));
await step("historyAfterSync", () => client.sessions.getMessages(session.sessionId, { limit: 10 }));

const dm = await step("dmChannel", () => client.messaging.getOrCreateDmChannel({ participantIds: [userId, agentId] }));
await step("channelMessages", () => client.messaging.getChannelMessages(session.channelId, { limit: 20 }));
await step("memories", () => client.memory.getAgentMemories(agentId));
await step("roomMemories", () => client.memory.getRoomMemories(agentId, session.channelId, { limit: 10 }));
await step("rooms", () => client.memory.listAgentRooms(agentId));
await step("runs", () => client.runs.listRuns(agentId));
await step("servers", () => client.messaging.listMessageServers());
await step("currentServer", () => client.messaging.getCurrentMessageServer());
await step("serverChannels", () => client.messaging.getMessageServerChannels("00000000-0000-0000-0000-000000000000"));
await step("ping", () => client.server.ping());
await step("missingAgent", () => client.agents.getAgent(randomUUID()));
await step("stopped", () => client.agents.stopAgent(agentId));
await step("stoppedAgain", () => client.agents.stopAgent(agentId));
await step("deleted", () => client.agents.deleteAgent(agentId));
await step("listAfter", () => client.agents.listAgents());
out.dmChannelId = dm && dm.id;

process.stdout.write(JSON.stringify(out) + "\n");
