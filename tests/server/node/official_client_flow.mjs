// Opens the official @elizaos/client 1.7.2 web app (served unmodified by the ElizaOS-Py server) in headless
// Chromium, starts a new chat with an agent, sends a message and waits for the agent's reply.
// Usage: node official_client_flow.mjs <baseUrl> <agentName> <text> <expectedReply> <screenshotPath>
//        <userDataDir> [chromiumPath]
import { chromium } from "playwright-core";

const [baseUrl, agentName, text, expected, screenshot, userDataDir, executablePath] = process.argv.slice(2);
const out = { pageErrors: [], failedApiCalls: [] };
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: executablePath || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
  viewport: { width: 1280, height: 800 },
  timeout: 30000,
});
try {
  const page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => out.pageErrors.push(e.message));
  page.on("response", (r) => {
    if (r.url().startsWith(`${baseUrl}/api/`) && r.status() >= 400) {
      out.failedApiCalls.push(`${r.status()} ${r.request().method()} ${r.url().slice(baseUrl.length)}`);
    }
  });
  // The reply reaches the page only once the client's socket has joined the channel: note the server's
  // channel_joined, whether it arrives over the WebSocket or a long-polling response.
  let markJoined;
  const joined = new Promise((resolve) => { markJoined = resolve; });
  page.on("websocket", (ws) => ws.on("framereceived", (f) => {
    if (String(f.payload).includes("channel_joined")) markJoined();
  }));
  page.on("response", async (r) => {
    if (r.url().includes("/socket.io/") && r.request().method() === "GET") {
      try { if ((await r.text()).includes("channel_joined")) markJoined(); } catch { /* body gone */ }
    }
  });
  // Skip the product tour; everything else is the client as published.
  await page.addInitScript(() => localStorage.setItem("eliza-onboarding-completed", "true"));
  await page.goto(baseUrl, { waitUntil: "domcontentloaded" });
  await page.getByText(agentName, { exact: true }).first().waitFor({ timeout: 45000 });
  out.listedAgent = true;
  await page.getByRole("button", { name: "New Chat" }).first().click();
  const input = page.locator('[data-testid="chat-input"]');
  await input.waitFor({ timeout: 45000 });
  await page.getByText("Connected", { exact: true }).first().waitFor({ timeout: 45000 });
  let timer;
  await Promise.race([joined, new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("the client's socket never joined the channel")), 45000);
  })]).finally(() => clearTimeout(timer));
  out.joined = true;
  await input.fill(text);
  await input.press("Enter");
  await page.getByText(expected, { exact: true }).first().waitFor({ timeout: 45000 });
  out.sawReply = true;
  out.sawOwnMessage = (await page.getByText(text, { exact: true }).count()) > 0;
  out.url = page.url();
  await page.screenshot({ path: screenshot });
  out.screenshot = screenshot;
} catch (e) {
  out.failure = String(e && e.message ? e.message : e);
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
