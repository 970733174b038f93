// Chats with an agent over Socket.IO using the official socket.io-client, the way @elizaos/client does,
// and prints every event it received as JSON.
// Usage: node socket_flow.mjs <baseUrl> <agentId> <text> [apiKey]
//        node socket_flow.mjs --refused <baseUrl> [entityId] [apiKey]   (expects the connection to be refused)
import { io } from "socket.io-client";
import { randomUUID } from "node:crypto";

const SERVER_ID = "00000000-0000-0000-0000-000000000000";
const args = process.argv.slice(2);

function finish(out, socket) {
  if (socket) socket.disconnect();
  process.stdout.write(JSON.stringify(out) + "\n");
  process.exit(0);
}

if (args[0] === "--refused") {
  const [, baseUrl, entityId, apiKey] = args;
  const auth = {};
  if (entityId) auth.entityId = entityId;
  if (apiKey) auth.apiKey = apiKey;
  const socket = io(baseUrl, { auth, reconnection: false, timeout: 10000 });
  socket.on("connect", () => finish({ connected: true }, socket));
  socket.on("connect_error", (e) => finish({ connected: false, error: e.message }, socket));
} else {
  const [baseUrl, agentId, text, apiKey] = args;
  const userId = randomUUID();
  const headers = { "Content-Type": "application/json", ...(apiKey ? { "X-API-KEY": apiKey } : {}) };
  const out = { userId, events: [] };
  const timer = setTimeout(() => { out.timedOut = true; finish(out, socket); }, 20000);

  // A group channel with the user and the agent, as the GUI creates one.
  const created = await fetch(`${baseUrl}/api/messaging/channels`, {
    method: "POST", headers,
    body: JSON.stringify({ name: "socket test", participantCentralUserIds: [userId, agentId],
                           message_server_id: SERVER_ID, type: "GROUP" }),
  });
  const channel = (await created.json()).data;
  out.channelId = channel.id;

  const socket = io(baseUrl, { auth: { entityId: userId, apiKey }, reconnection: false });
  const clientMessageId = randomUUID();
  out.clientMessageId = clientMessageId;
  for (const name of ["authenticated", "connection_established", "channel_joined", "room_joined", "messageAck",
                      "messageBroadcast", "messageStreamChunk", "messageComplete", "messageError"]) {
    socket.on(name, (data) => {
      out.events.push({ name, data });
      if (name === "channel_joined") {
        socket.emit("message", { type: 2, payload: {
          senderId: userId, senderName: "Tester", message: text, channelId: channel.id, roomId: channel.id,
          messageServerId: SERVER_ID, messageId: clientMessageId, source: "client_chat",
          metadata: { channelType: "GROUP" } } });
      }
      if (name === "messageComplete") { clearTimeout(timer); finish(out, socket); }
    });
  }
  socket.on("connect", () => {
    socket.emit("message", { type: 1, payload: { channelId: channel.id, roomId: channel.id, entityId: userId } });
  });
  socket.on("connect_error", (e) => { out.connectError = e.message; clearTimeout(timer); finish(out, socket); });
}
