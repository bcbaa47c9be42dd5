/**
 * Opens the report in headless Chromium (Debian's, at /usr/bin/chromium; `npm test` installs it when missing) and
 * checks what a reader would see: no request beyond the file itself, no page or console error,
 * every chart drawn, and the diff markup. This test never skips: a missing browser fails it.
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReport } from "../../src/report/index.js";
import { DEMO_TRAIN_CHARTS, INJECT_CHARTS, demoAndTrainDir, injectDir } from "./fixtures.js";

const CHROMIUM = process.env.SEAPO_CHROMIUM ?? "/usr/bin/chromium";
// Without the background-networking flags Chromium tries to reach Google services on start.
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));

let context: BrowserContext;
beforeAll(async () => {
  const profile = mkdtempSync(join(tmpdir(), "seapo-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 900 },
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await context?.close();
});

describe("report.html in Chromium", () => {
  it.each([
    ["demo + train", demoAndTrainDir, DEMO_TRAIN_CHARTS, "report.png"],
    ["inject + analyze + eval", injectDir, INJECT_CHARTS, "report-inject.png"],
  ])("renders the %s report offline, every chart drawn", async (_name, makeDir, expectedCharts, screenshot) => {
    const url = pathToFileURL(await buildReport(makeDir())).href;
    const page = await context.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning")
        errors.push(`console ${message.type()}: ${message.text()}`);
    });
    try {
      await page.goto(url, { waitUntil: "load" });
      // The boot script sets this after trying every chart, drawn or not.
      await page.waitForSelector("body[data-charts-rendered]", { timeout: 15_000 });

      expect(errors).toEqual([]);
      expect(requests).toEqual([url]);
      const charts = await page.locator("[data-chart]").count();
      expect(charts).toBe(expectedCharts);
      expect(await page.locator('[data-chart][data-rendered="true"]').count()).toBe(charts);
      expect(await page.locator("body").getAttribute("data-charts-rendered")).toBe(String(charts));
      expect(await page.locator("del.diff-del").count()).toBeGreaterThan(0);
      expect(await page.locator("ins.diff-add").count()).toBeGreaterThan(0);

      await page.screenshot({ path: join(ARTIFACTS, screenshot), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it("shows the injected change of an example as highlighted words", async () => {
    const page = await context.newPage();
    try {
      await page.goto(pathToFileURL(await buildReport(demoAndTrainDir())).href);
      const row = page.locator("#demo-examples tbody tr").first();
      expect(await row.locator("del.diff-del").allTextContents()).toEqual(["19", "19", "16", "16"]);
      expect(await row.locator("ins.diff-add").allTextContents()).toEqual(["18", "18", "15", "15"]);
      // The example with <script> in its text shows it as text; no script of the data ran.
      expect(await page.locator("#demo-examples").textContent()).toContain("<script>alert('x')</script>");
    } finally {
      await page.close();
    }
  });
});
