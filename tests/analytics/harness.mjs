// The shared browser harness of the admin section's scripts: Debian chromium through playwright-core (from
// webchat/node_modules), the sign-in, asking in the chat, and the one-line JSON of facts the pytest wrapper
// reads. Environment: OPORA_URL (the demo server), SHOTS_DIR (screenshots), CHROMIUM (the binary).
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../webchat/package.json"));
const { chromium } = require("playwright-core");

export const URL = process.env.OPORA_URL;
export const SHOTS = process.env.SHOTS_DIR;
mkdirSync(SHOTS, { recursive: true });
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"];

/** Fail the script (non-zero exit) with what was expected. */
export const check = (cond, what) => { if (!cond) throw new Error(`expectation failed: ${what}`); };

/** Sign in to the web chat by name and wait for the chat's top bar. */
export async function signIn(page, name) {
  await page.goto(URL);
  await page.getByLabel(/Name|Имя/).fill(name);
  await page.getByRole("button", { name: /Sign in|Войти/ }).click();
  await page.locator(".topbar").waitFor({ timeout: 15000 });
}

/** Ask in the chat and wait for the finished answer; returns its message locator. */
export async function ask(page, text) {
  await page.locator(".conn-open").waitFor({ timeout: 15000 });
  const before = await page.locator(".msg-answer .answer-footer").count();
  await page.locator("#question").fill(text);
  await page.keyboard.press("Enter");
  await page.locator(".msg-answer .answer-footer").nth(before).waitFor({ timeout: 60000 });
  return page.locator(".msg-answer").nth(before);
}

/** Run ``body(browser, facts)`` in a fresh chromium, then print the facts as the last line of stdout. */
export async function run(body) {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ARGS });
  const facts = {};
  try {
    await body(browser, facts);
    console.log(JSON.stringify(facts));
  } finally {
    await browser.close();
  }
}
