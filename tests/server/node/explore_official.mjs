import { chromium } from "playwright-core";
const [baseUrl, shot] = process.argv.slice(2);
const ctx = await chromium.launchPersistentContext("/tmp/offclient/profile-" + Date.now(), {
  executablePath: "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  viewport: { width: 1280, height: 800 } });
const page = ctx.pages()[0] || await ctx.newPage();
const log = [];
page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") log.push(`${m.type()}: ${m.text().slice(0, 300)}`); });
page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
page.on("response", (r) => { if (r.status() >= 400) log.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`); });
page.on("request", (r) => { if (r.url().includes("/api/")) log.push(`REQ ${r.method()} ${r.url().replace(baseUrl, "")} ${r.postData() ? r.postData().slice(0,200) : ""}`); });
await page.goto(baseUrl, { waitUntil: "networkidle" }).catch(e => log.push("goto: " + e.message));
await page.waitForTimeout(3000);
await page.screenshot({ path: shot + "-1.png" });
console.log(JSON.stringify({ text: (await page.locator("body").innerText()).slice(0, 1500), log }, null, 1));
await ctx.close();
