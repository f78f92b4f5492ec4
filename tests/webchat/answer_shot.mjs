// One answer in the web chat, screenshotted (docs/screenshots): OPORA_URL, SHOT (file), QUESTION, LANG.
// Prints one JSON line: the answer's text facts (raw HTML quoted or not) and its sources.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../webchat/package.json"));
const { chromium } = require("playwright-core");

const { OPORA_URL: URL, SHOT, QUESTION } = process.env;
mkdirSync(path.dirname(SHOT), { recursive: true });
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ARGS });
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: Number(process.env.HEIGHT || 1700) }, locale: process.env.LANG_UI || "ru-RU" });
  const page = await ctx.newPage();
  await page.goto(URL);
  await page.getByLabel(/Name|Имя/).fill("Screenshot");
  await page.getByRole("button", { name: /Sign in|Войти/ }).click();
  await page.locator(".conn-open").waitFor({ timeout: 30000 });
  await page.locator("#question").fill(QUESTION);
  await page.keyboard.press("Enter");
  const answer = page.locator(".msg-answer").first();
  await answer.locator(".answer-footer").waitFor({ timeout: 120000 });
  const text = await answer.innerText();
  const html = await answer.innerHTML();
  const facts = {
    raw_html_quoted: /<a |<img|tabs__btn|\$\(|jquery|<script/i.test(text),
    sources: await answer.locator(".sources li").allInnerTexts(),
    citations: await answer.locator("a.cite").count(),
    chars: text.length,
    img_tags: (html.match(/<img/g) || []).length,
  };
  await answer.scrollIntoViewIfNeeded();
  await page.screenshot({ path: SHOT, fullPage: true });
  console.log(JSON.stringify(facts));
} finally {
  await browser.close();
}
