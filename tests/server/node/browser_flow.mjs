// Opens the server's web chat in headless Chromium (playwright-core + the system browser), picks an agent,
// sends a message, waits for the agent's reply and saves a screenshot. Prints what it saw as JSON.
// Usage: node browser_flow.mjs <baseUrl> <agentName> <text> <expectedReply> <screenshotPath> <userDataDir>
//        [chromiumPath]
import { chromium } from "playwright-core";

const [baseUrl, agentName, text, expected, screenshot, userDataDir, executablePath] = process.argv.slice(2);
const out = { console: [] };
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: executablePath || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
  viewport: { width: 1100, height: 700 },
  timeout: 30000,
});
try {
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (m) => out.console.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => out.console.push(`pageerror: ${e.message}`));
  await page.goto(baseUrl, { waitUntil: "domcontentloaded" });
  out.title = await page.title();
  const agentButton = page.locator("#agents button", { hasText: agentName });
  await agentButton.waitFor({ timeout: 45000 });
  out.agents = await page.locator("#agents .name").allTextContents();
  await agentButton.click();
  const input = page.locator("#input");
  await input.waitFor({ state: "visible" });
  await page.waitForFunction(() => !document.querySelector("#input").disabled, null, { timeout: 45000 });
  await input.fill(text);
  await input.press("Enter");
  const reply = page.locator(".message.agent:not(.streaming)", { hasText: expected });
  await reply.waitFor({ timeout: 45000 });
  out.userBubbles = await page.locator(".message.user .text").allTextContents();
  out.agentBubbles = await page.locator(".message.agent .text").allTextContents();
  out.errors = await page.locator(".message.error").allTextContents();
  await page.screenshot({ path: screenshot, fullPage: false });
  out.screenshot = screenshot;
} catch (e) {
  out.failure = String(e && e.message ? e.message : e);
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
