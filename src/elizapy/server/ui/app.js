// ElizaOS-Py built-in chat: plain JS on the REST API. Each agent gets a DM channel with this browser's user;
// a message is posted with transport "sse", so the reply streams in as server-sent events.
"use strict";

const DEFAULT_SERVER_ID = "00000000-0000-0000-0000-000000000000";
const $ = (id) => document.getElementById(id);
const state = { agent: null, channelId: null, busy: false };

function uuid4() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function setting(key, fallback) {
  return localStorage.getItem(`elizapy-${key}`) ?? fallback;
}

const userId = setting("user-id", null) || (() => {
  const id = uuid4();
  localStorage.setItem("elizapy-user-id", id);
  return id;
})();

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = setting("api-key", "");
  if (key) h["X-API-KEY"] = key;
  return h;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers() });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const err = body && body.error;
    const message = typeof err === "string" ? err : (err && err.message) || (body && body.message);
    if (response.status === 401) throw new Error("API key required: set it under Settings.");
    throw new Error(message || `HTTP ${response.status}`);
  }
  return body && "data" in body ? body.data : body;
}

function showError(text) {
  const li = document.createElement("li");
  li.className = "message error";
  li.textContent = text;
  $("messages").appendChild(li);
  li.scrollIntoView({ block: "end" });
}

function bubble(kind, who, text, id) {
  const li = document.createElement("li");
  li.className = `message ${kind}`;
  if (id) li.dataset.messageId = id;
  const name = document.createElement("span");
  name.className = "who";
  name.textContent = who;
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  li.append(name, body);
  $("messages").appendChild(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

async function loadAgents() {
  const list = $("agents");
  try {
    const { agents } = await api("/api/agents");
    list.replaceChildren();
    for (const agent of agents) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.agentId = agent.id;
      if (state.agent && state.agent.id === agent.id) button.classList.add("selected");
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = agent.name;
      const status = document.createElement("span");
      status.className = `state ${agent.status}`;
      status.textContent = agent.status === "active" ? "running" : "stopped (click to start)";
      button.append(name, status);
      button.addEventListener("click", () => selectAgent(agent));
      li.appendChild(button);
      list.appendChild(li);
    }
    if (!agents.length) list.innerHTML = '<li class="muted">No agents yet.</li>';
  } catch (e) {
    list.replaceChildren();
    showError(e.message);
  }
}

async function selectAgent(agent) {
  state.agent = agent;
  state.channelId = null;
  $("chat-title").textContent = agent.name;
  $("chat-status").textContent = "connecting…";
  $("messages").replaceChildren();
  setComposer(false);
  try {
    if (agent.status !== "active") {
      await api(`/api/agents/${agent.id}/start`, { method: "POST" });
      agent.status = "active";
    }
    const channel = await api(`/api/messaging/dm-channel?currentUserId=${userId}&targetUserId=${agent.id}`);
    state.channelId = channel.id;
    const { messages } = await api(`/api/messaging/channels/${channel.id}/messages?limit=50`);
    for (const m of messages.reverse()) {
      const mine = m.authorId === userId;
      bubble(mine ? "user" : "agent", mine ? setting("user-name", "You") : agent.name, m.content, m.id);
    }
    $("chat-status").textContent = "";
    setComposer(true);
    $("input").focus();
  } catch (e) {
    $("chat-status").textContent = "";
    showError(e.message);
  }
  loadAgents();
}

function setComposer(enabled) {
  $("input").disabled = !enabled;
  $("send").disabled = !enabled;
  $("input").placeholder = enabled ? `Message ${state.agent.name}` : "Pick an agent first";
}

function parseEvents(buffer, onEvent) {
  let index;
  while ((index = buffer.indexOf("\n\n")) >= 0) {
    const block = buffer.slice(0, index);
    buffer = buffer.slice(index + 2);
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (data.length) onEvent(event, JSON.parse(data.join("\n")));
  }
  return buffer;
}

async function send(text) {
  const agent = state.agent;
  bubble("user", setting("user-name", "You"), text);
  state.busy = true;
  setComposer(false);
  $("chat-status").textContent = `${agent.name} is thinking…`;
  const replies = new Map();
  try {
    const response = await fetch(`/api/messaging/channels/${state.channelId}/messages`, {
      method: "POST",
      headers: headers(),
      body: JSON.stringify({
        author_id: userId, content: text, message_server_id: DEFAULT_SERVER_ID, transport: "sse",
        source_type: "client_chat",
        metadata: { channelType: "DM", isDm: true, user_display_name: setting("user-name", "You") },
      }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      const err = body.error;
      throw new Error(typeof err === "string" ? err : (err && err.message) || `HTTP ${response.status}`);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer = parseEvents(buffer + decoder.decode(value, { stream: true }), (event, data) => {
        if (event === "chunk") {
          let li = replies.get(data.messageId);
          if (!li) {
            li = bubble("agent streaming", agent.name, "", data.messageId);
            replies.set(data.messageId, li);
          }
          li.querySelector(".text").textContent += data.chunk;
          li.scrollIntoView({ block: "end" });
        } else if (event === "done") {
          for (const li of replies.values()) li.classList.remove("streaming");
          if (!replies.size && data.text) bubble("agent", agent.name, data.text, data.responseId);
          if (!replies.size && !data.text) showError(`${agent.name} chose not to answer.`);
        } else if (event === "error") {
          showError(data.error || "The agent failed to answer.");
        }
      });
    }
  } catch (e) {
    showError(e.message);
  } finally {
    for (const li of replies.values()) li.classList.remove("streaming");
    state.busy = false;
    $("chat-status").textContent = "";
    setComposer(true);
    $("input").focus();
  }
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("input").value.trim();
  if (!text || state.busy || !state.channelId) return;
  $("input").value = "";
  send(text);
});

$("input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

$("api-key").value = setting("api-key", "");
$("user-name").value = setting("user-name", "You");
$("save-settings").addEventListener("click", () => {
  localStorage.setItem("elizapy-api-key", $("api-key").value.trim());
  localStorage.setItem("elizapy-user-name", $("user-name").value.trim() || "You");
  loadAgents();
});

loadAgents();
