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
} else if (args[0] === "--hostile") {
  // Malformed and hostile payloads: each should be answered with messageError (or ignored), never crash
  // the server; a valid message afterwards must still be answered.
  const [, baseUrl, agentId] = args;
  const userId = randomUUID();
  const out = { errors: [], broadcasts: [] };
  const socket = io(baseUrl, { auth: { entityId: userId }, reconnection: false });
  const timer = setTimeout(() => { out.timedOut = true; finish(out, socket); }, 45000);
  const channelId = randomUUID();
  const valid = { senderId: userId, senderName: "H", message: "please say survived", channelId,
                  messageServerId: SERVER_ID, metadata: { channelType: "DM", isDm: true, targetUserId: agentId } };
  const hostile = [
    null, 42, "just a string", [], { type: 2 }, { payload: {} }, { type: 99, payload: {} },
    { type: 1, payload: null }, { type: 1, payload: { channelId: 7 } }, { type: 1, payload: { channelId: "x".repeat(5000) } },
    { type: 2, payload: null }, { type: 2, payload: { ...valid, channelId: "not-a-uuid" } },
    { type: 2, payload: { ...valid, senderId: { $ne: null } } }, { type: 2, payload: { ...valid, message: 12 } },
    { type: 2, payload: { ...valid, message: "" } }, { type: 2, payload: { ...valid, message: "y".repeat(40000) } },
    { type: 2, payload: { ...valid, metadata: "nope" } }, { type: 2, payload: { ...valid, messageServerId: randomUUID() } },
  ];
  socket.on("messageError", (e) => {
    out.errors.push(e.error);
    if (out.errors.length === hostile.length) {
      socket.emit("message", { type: 1, payload: { channelId } });
    }
  });
  socket.on("channel_joined", () => socket.emit("message", { type: 2, payload: valid }));
  socket.on("messageBroadcast", (b) => {
    out.broadcasts.push({ senderId: b.senderId, text: b.text });
    if (b.senderId === agentId) { clearTimeout(timer); finish(out, socket); }
  });
  socket.on("connect", () => { for (const h of hostile) socket.emit("message", h); });
} else {
  const [baseUrl, agentId, text, apiKey] = args;
  const userId = randomUUID();
  const headers = { "Content-Type": "application/json", ...(apiKey ? { "X-API-KEY": apiKey } : {}) };
  const out = { userId, events: [] };
  const timer = setTimeout(() => { out.timedOut = true; finish(out, socket); }, 45000);

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
