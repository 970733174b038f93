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
  // Skip the product tour; everything else is the client as published.
  await page.addInitScript(() => localStorage.setItem("eliza-onboarding-completed", "true"));
  await page.goto(baseUrl, { waitUntil: "domcontentloaded" });
  await page.getByText(agentName, { exact: true }).first().waitFor({ timeout: 20000 });
  out.listedAgent = true;
  await page.getByRole("button", { name: "New Chat" }).first().click();
  const input = page.locator('[data-testid="chat-input"]');
  await input.waitFor({ timeout: 20000 });
  await page.getByText("Connected", { exact: true }).first().waitFor({ timeout: 20000 });
  await input.fill(text);
  await input.press("Enter");
  await page.getByText(expected, { exact: true }).first().waitFor({ timeout: 20000 });
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
