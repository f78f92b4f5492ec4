// The admin section in Debian chromium (playwright-core) against the demo server: OPORA_URL, SHOTS_DIR.
// Prints one JSON line of facts for the pytest wrapper; any failed expectation exits non-zero.
import path from "node:path";
import { SHOTS, URL, check, run, signIn } from "./harness.mjs";

await run(async (browser, facts) => {
  // an ordinary user sees no analytics link, and the API refuses them
  const bobCtx = await browser.newContext({ viewport: { width: 1280, height: 820 }, locale: "en-US" });
  const bob = await bobCtx.newPage();
  await signIn(bob, "Bob");
  facts.bob_link = await bob.locator("a.admin-link").count();
  facts.bob_api = (await bob.request.get(`${URL}/api/v1/analytics/summary?days=7`)).status();
  await bob.goto(`${URL}/#/admin`);
  facts.bob_admin_section = await bob.locator("[data-testid=admin]").count();
  check(facts.bob_link === 0 && facts.bob_api === 403 && facts.bob_admin_section === 0, "Bob is no admin");
  await bobCtx.close();

  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: "en-US" });
  const page = await ctx.newPage();
  page.on("dialog", (d) => d.accept());
  const chunks = [];
  page.on("request", (r) => { if (r.url().includes("/assets/")) chunks.push(path.basename(r.url())); });
  await signIn(page, "Alice");
  facts.chunk_before_admin = chunks.some((c) => c.startsWith("AdminApp"));
  check(!facts.chunk_before_admin, "the chat does not load the admin chunk");
  await page.locator("a.admin-link").click();
  await page.locator("[data-testid=kpi-deflection]").waitFor({ timeout: 30000 });
  await page.locator(".recharts-bar-rectangle").first().waitFor({ timeout: 15000 });
  facts.chunk_loaded = chunks.some((c) => c.startsWith("AdminApp"));
  facts.deflection = await page.locator("[data-testid=kpi-deflection] .kpi-value").innerText();
  facts.questions = await page.locator("[data-testid=kpi-questions] .kpi-value").innerText();
  check(Number(facts.questions) > 100, "a month of questions");
  await page.screenshot({ path: `${SHOTS}/analytics-dashboard.png`, fullPage: true });

  // channel filter and date range narrow the numbers
  await page.getByLabel("Channel").selectOption("telegram");
  await page.waitForFunction((all) => {
    const el = document.querySelector("[data-testid=kpi-questions] .kpi-value");
    return el && Number(el.textContent) < Number(all);
  }, facts.questions, { timeout: 15000 });
  facts.telegram_questions = await page.locator("[data-testid=kpi-questions] .kpi-value").innerText();
  await page.getByLabel("Channel").selectOption("");
  await page.getByRole("button", { name: "7 days" }).click();
  await page.waitForFunction((all) => {
    const el = document.querySelector("[data-testid=kpi-questions] .kpi-value");
    return el && Number(el.textContent) < Number(all);
  }, facts.questions, { timeout: 15000 });
  facts.week_questions = await page.locator("[data-testid=kpi-questions] .kpi-value").innerText();
  await page.getByRole("button", { name: "30 days" }).click();

  // documentation gaps
  await page.getByRole("link", { name: "Documentation gaps" }).click();
  await page.locator("[data-testid=gap]").first().waitFor({ timeout: 60000 });
  facts.gaps = await page.locator("[data-testid=gap]").count();
  facts.top_gap = await page.locator("[data-testid=gap] .gap-title strong").first().innerText();
  check(facts.gaps >= 3, "the gaps list has groups");
  await page.screenshot({ path: `${SHOTS}/analytics-gaps.png`, fullPage: true });

  // A/B: the verdict, then stop the losing variant from the page
  await page.getByRole("link", { name: "A/B tests" }).click();
  await page.locator("[data-testid=variant]").nth(1).waitFor({ timeout: 30000 });
  facts.verdicts = await page.locator("[data-testid=verdict]").allInnerTexts();
  check(facts.verdicts.some((v) => /better, p|not enough data/.test(v)), "a plain verdict");
  await page.screenshot({ path: `${SHOTS}/analytics-ab.png`, fullPage: true });
  const control = page.locator("[data-testid=variant]").filter({ hasText: "control" });
  await control.getByRole("button", { name: "Stop" }).click();
  await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  await control.locator(".status-stopped").waitFor();
  facts.control_status = await control.locator(".status").innerText();
  const ab = await (await page.request.get(`${URL}/api/v1/analytics/ab?days=30`)).json();
  facts.stored_status = ab.variants.find((v) => v.variant === "control").status;
  check(facts.stored_status === "stopped", "the stop is stored");
  await control.getByRole("button", { name: "Resume" }).click();
  await control.locator(".status-stopped").waitFor({ state: "detached" });

  // Russian, on a phone
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true,
    hasTouch: true, locale: "ru-RU" });
  await phone.addCookies(await ctx.cookies());
  const mobile = await phone.newPage();
  await mobile.goto(`${URL}/#/admin`);
  await mobile.locator("[data-testid=kpi-deflection]").waitFor({ timeout: 30000 });
  facts.ru_title = await mobile.locator(".admin-top h1").innerText();
  check(facts.ru_title === "Аналитика", "Russian admin section");
  facts.phone_overflow = await mobile.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(facts.phone_overflow <= 1, "no horizontal scrolling on a phone");
  await mobile.screenshot({ path: `${SHOTS}/analytics-phone-ru.png`, fullPage: false });
  await phone.close();
});
