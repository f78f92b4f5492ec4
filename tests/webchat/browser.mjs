// Drives Debian chromium (playwright-core) against a running Opora server: OPORA_URL, SHOTS_DIR.
// Prints one JSON line of facts for the pytest wrapper; any failed expectation exits non-zero.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../webchat/package.json"));
const { chromium } = require("playwright-core");

const URL = process.env.OPORA_URL;
const SHOTS = process.env.SHOTS_DIR;
mkdirSync(SHOTS, { recursive: true });
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"];
const facts = {};
const check = (cond, what) => { if (!cond) throw new Error(`expectation failed: ${what}`); };

async function signIn(page, name) {
  await page.goto(URL);
  await page.getByLabel(/Name|Имя/).fill(name);
  await page.getByRole("button", { name: /Sign in|Войти/ }).click();
  await page.locator(".conn-open").waitFor({ timeout: 15000 });
}

async function ask(page, text) {
  const before = await page.locator(".msg-answer .answer-footer").count();
  await page.locator("#question").fill(text);
  await page.keyboard.press("Enter");
  await page.locator(".msg-answer .answer-footer").nth(before).waitFor({ timeout: 60000 });
  return page.locator(".msg-answer").nth(before);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ARGS });
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 820 }, locale: "en-US" });
  await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: URL });
  const page = await ctx.newPage();
  page.on("dialog", (d) => d.accept());
  let deltas = 0; // streamed events seen on the wire
  page.on("websocket", (ws) => ws.on("framereceived", (f) => { if (String(f.payload).includes("answer.delta")) deltas++; }));
  await signIn(page, "Alice");
  await page.locator(".suggestions button").first().waitFor();
  facts.suggestions = await page.locator(".suggestions button").count();
  await page.screenshot({ path: `${SHOTS}/01-empty-suggestions.png` });

  // English, streamed, with a code block and sources; copy the code block
  const en = await ask(page, "How do I install a chart with helm install?");
  facts.en_sources = await en.locator(".sources li").count();
  check(facts.en_sources > 0, "English answer lists sources");
  check(await en.locator("a.cite").count() > 0, "citations link to sources");
  const code = en.locator(".code-block").first();
  await code.locator("button.copy").click();
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  const shown = await code.locator("pre").innerText();
  check(clip.trim() === shown.trim() && clip.length > 0, "copied text equals the code block");
  facts.copied = clip.slice(0, 40);
  await en.scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/02-answer-code-sources.png` });

  // Russian
  const ruAnswer = await ask(page, "Как установить чарт с помощью helm install?");
  facts.ru_text = (await ruAnswer.locator(".markdown").innerText()).slice(0, 40);
  check(/[а-яё]/i.test(facts.ru_text), "Russian answer is in Russian");
  facts.deltas = deltas;
  check(deltas >= 2, "answers arrive as several deltas");

  // vote 👍 on the first answer
  await en.getByRole("button", { name: "Helpful", exact: true }).click();
  await en.locator('button[aria-pressed="true"]').waitFor();
  await page.locator(".feedback-comment input").fill("clear and short");
  await page.locator(".feedback-comment button").click();
  await page.getByText("Thank you for the feedback!").waitFor();

  // injected HTML in a question and in a document renders as text
  await page.getByRole("button", { name: /New chat/ }).click();
  const xss = await ask(page, '<img src=x onerror="window.__xss=1"> badge widget rendering');
  const bubble = await page.locator(".msg-question .bubble").last().innerText();
  check(bubble.includes("<img src=x"), "question HTML shown as text");
  check((await xss.innerText()).includes("onerror"), "document HTML shown as text");
  check(await page.evaluate(() => document.querySelectorAll(".messages img, .messages script").length) === 0, "no injected elements");
  check(await page.evaluate(() => window.__xss === undefined), "no injected script ran");

  // reload: history and vote survive
  await page.reload();
  await page.locator(".conn-open").waitFor();
  const convs = page.locator(".conv-open");
  await convs.first().waitFor();
  facts.history = await convs.count();
  check(facts.history >= 2, "history lists both conversations after reload");
  await page.locator(".conv-open", { hasText: "install a chart with helm" }).click();
  const reloaded = page.locator(".msg-answer").first();
  await reloaded.locator('button[aria-pressed="true"][aria-label="Helpful"]').waitFor();
  facts.vote_persisted = true;
  await page.screenshot({ path: `${SHOTS}/03-history.png` });
  const aliceConversation = await page.evaluate(async () => (await (await fetch("/api/v1/web/conversations")).json())[0].id);

  // dark theme
  await page.locator("button.theme").click();
  check(await page.evaluate(() => document.documentElement.dataset.theme) === "dark", "dark theme applied");
  await page.screenshot({ path: `${SHOTS}/04-dark-theme.png` });

  // phone width (Russian UI)
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const p2 = await phone.newPage();
  await p2.addInitScript(() => localStorage.setItem("opora.lang", "ru"));
  await signIn(p2, "Alice");
  await p2.getByRole("button", { name: "Разговоры" }).click();
  await p2.locator(".sidebar.open .conv-open").first().waitFor();
  await p2.locator(".conv-open").first().click();
  await p2.locator(".msg-answer .answer-footer").first().waitFor();
  const overflow = await p2.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, "no horizontal scroll at phone width");
  await p2.screenshot({ path: `${SHOTS}/05-phone.png` });

  // a second user sees nothing of Alice's and cannot open it
  const bobCtx = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  const bob = await bobCtx.newPage();
  await signIn(bob, "Bob");
  await bob.getByText("No conversations yet").waitFor();
  facts.bob_status = await bob.evaluate(async (id) => (await fetch(`/api/v1/web/conversations/${id}/messages`)).status, aliceConversation);
  check(facts.bob_status === 404, "Bob gets 404 for Alice's conversation");
  facts.alice_conversation = aliceConversation;
  console.log(JSON.stringify(facts));
} catch (err) {
  for (const ctx of browser.contexts()) for (const p of ctx.pages()) await p.screenshot({ path: `${SHOTS}/failure-${Date.now()}.png` }).catch(() => {});
  throw err;
} finally {
  await browser.close();
}
