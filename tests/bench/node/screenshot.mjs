// Opens an `elizapy report` HTML file in headless Chromium (playwright-core from tests/server/node, driving
// the system browser), checks that the pass^k plot, the latency plot and the go/no-go table are in the DOM and
// rendered, saves a full-page screenshot and prints what it found as one JSON line.
// Usage: node screenshot.mjs <report.html> <out.png> [chromiumPath]
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

// The npm packages of the test suite live in tests/server/node (scripts/setup/server.sh runs `npm ci` there).
const require = createRequire(new URL("../../server/node/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const [reportPath, screenshot, executablePath] = process.argv.slice(2);
if (!reportPath || !screenshot) {
  process.stderr.write("usage: node screenshot.mjs <report.html> <out.png> [chromiumPath]\n");
  process.exit(2);
}
const out = { console: [] };
const userDataDir = mkdtempSync(join(tmpdir(), "elizapy-report-shot-"));
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: executablePath || process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1200, height: 900 },
    timeout: 30000,
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (m) => out.console.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => out.console.push(`pageerror: ${e.message}`));
  // The report is self-contained (inline CSS, data: URL images): any other request is a defect.
  out.externalRequests = [];
  page.on("request", (r) => {
    if (!/^(file|data):/.test(r.url())) out.externalRequests.push(r.url());
  });
  await page.goto(pathToFileURL(resolve(reportPath)).href, { waitUntil: "load", timeout: 20000 });
  // Every image finished decoding (load fired above; complete covers data: URLs decoded late).
  await page.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 10000 });
  out.title = await page.title();
  Object.assign(out, await page.evaluate(() => {
    // The elements of each section: everything between an <h2> and the next one.
    const sections = {};
    for (const h2 of document.querySelectorAll("h2")) {
      const els = [];
      for (let el = h2.nextElementSibling; el && el.tagName !== "H2"; el = el.nextElementSibling) els.push(el);
      sections[h2.textContent.trim()] = els;
    }
    const imgInfo = (img) => {
      const r = img.getBoundingClientRect();
      return { alt: img.alt, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
               complete: img.complete, shownWidth: Math.round(r.width), shownHeight: Math.round(r.height),
               png: img.src.startsWith("data:image/png;base64,") };
    };
    const imgsOf = (name) => (sections[name] || []).filter((e) => e.tagName === "IMG").map(imgInfo);
    const go = (sections["Go/no-go"] || []).find((e) => e.tagName === "TABLE");
    let goNoGo = null;
    if (go) {
      const r = go.getBoundingClientRect();
      const rows = [...go.querySelectorAll("tr")].map((tr) => [...tr.cells].map((c) => c.textContent.trim()));
      goNoGo = { rows: rows.length, header: rows[0] || [], overall: rows.find((c) => c[1] === "Overall") || null,
                 shownWidth: Math.round(r.width), shownHeight: Math.round(r.height) };
    }
    return {
      sections: Object.keys(sections),
      passK: imgsOf("TAU-bench pass^k"),
      latency: imgsOf("Cost and latency"),
      perf: imgsOf("Performance vs ElizaOS TS"),
      allImages: document.images.length,
      goNoGo,
      pageHeight: document.documentElement.scrollHeight,
    };
  }));
  await page.screenshot({ path: screenshot, fullPage: true });
  out.screenshot = screenshot;
} catch (e) {
  out.failure = String(e && e.message ? e.message : e);
} finally {
  if (context) await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(out) + "\n");
