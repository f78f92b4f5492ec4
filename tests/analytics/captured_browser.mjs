// Review of captured answers (#/admin/captured) in Debian chromium against the demo server, which holds three
// drafts (tests/analytics/demo_server.py CAPTURED): edit and approve one, see why an emptied one cannot be
// approved, see a failed save explained, reject one, export Markdown, and have the approved entry answer the
// same question in the chat. Prints one JSON line of facts; any failed expectation exits non-zero.
import { SHOTS, URL, ask, check, run, signIn } from "./harness.mjs";

const VPN_Q = "How do contractors get VPN access?";
const EDITED = "Open a ticket in #it-helpdesk with the contract number and your manager in CC; the VPN profile arrives by e-mail.";
const QUEUE = "**/api/v1/escalations/captured/*";

await run(async (browser, facts) => {
  // not an admin: the queue is refused
  const bobCtx = await browser.newContext({ locale: "en-US" });
  const bob = await bobCtx.newPage();
  await signIn(bob, "Bob");
  facts.bob_queue = (await bob.request.get(`${URL}/api/v1/escalations/captured`)).status();
  check(facts.bob_queue === 403, "Bob may not review");
  await bobCtx.close();

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
  const page = await ctx.newPage();
  const dialogs = [];
  page.on("dialog", (d) => { dialogs.push(d.message()); void d.accept(); });
  await signIn(page, "Alice");
  await page.locator("a.admin-link").click();
  await page.getByRole("link", { name: "Captured answers" }).click();
  const drafts = page.locator("[data-testid=draft]");
  await drafts.nth(2).waitFor({ timeout: 30000 });
  facts.drafts = await drafts.count();
  facts.filters = await page.locator(".admin-filters").count();
  check(facts.drafts === 3 && facts.filters === 0, "three drafts, no period filter");
  await page.screenshot({ path: `${SHOTS}/captured-review.png`, fullPage: true });
  const remaining = (n) => page.waitForFunction((want) => document.querySelectorAll("[data-testid=draft]").length === want, n);

  // edit the answer, approve: it leaves the queue and is stored as edited
  const vpn = drafts.filter({ hasText: "Answered by Anna" });
  await vpn.getByLabel("Answer").fill(EDITED);
  await vpn.getByText("edited", { exact: true }).waitFor();
  await vpn.getByRole("button", { name: "Approve" }).click();
  await page.getByRole("status").filter({ hasText: "Approved" }).waitFor();
  await remaining(2);
  facts.approved_note = await page.getByRole("status").innerText();
  const approved = await (await page.request.get(`${URL}/api/v1/escalations/captured?status=approved`)).json();
  facts.stored_answer = approved.entries.map((e) => e.answer);
  check(facts.stored_answer.length === 1 && facts.stored_answer[0] === EDITED, "the edited answer is stored");

  // an emptied question cannot be approved, and the card says why
  const deploy = drafts.filter({ hasText: "Answered by Борис" });
  const question = deploy.getByLabel("Question");
  const original = await question.inputValue();
  await question.fill("   ");
  facts.empty_blocked = await deploy.getByRole("button", { name: "Approve" }).isDisabled();
  facts.empty_alert = await deploy.getByRole("alert").innerText();
  check(facts.empty_blocked && /must not be empty/.test(facts.empty_alert), "an emptied question is refused");
  await question.fill(original);

  // the server unreachable: the card says so, and the draft stays in the queue
  await page.route(QUEUE, (route) => route.abort("connectionrefused"));
  await deploy.getByRole("button", { name: "Approve" }).click();
  const failed = deploy.getByRole("alert");
  await failed.waitFor();
  facts.network_alert = await failed.innerText();
  check(/did not answer/.test(facts.network_alert), "a failed save is explained");
  facts.after_failure = await drafts.count();
  check(facts.after_failure === 2, "the draft stays after a failed save");
  await page.screenshot({ path: `${SHOTS}/captured-review-error.png`, fullPage: false });
  await page.unroute(QUEUE);

  // reject, after a confirmation
  const restart = drafts.filter({ hasText: "Answered by Chen" });
  await restart.getByRole("button", { name: "Reject" }).click();
  await page.getByRole("status").filter({ hasText: "Rejected" }).waitFor();
  await remaining(1);
  facts.confirm = dialogs[0] ?? "";
  check(/Reject this draft/.test(facts.confirm), "rejecting asks first");
  const rejected = await (await page.request.get(`${URL}/api/v1/escalations/captured?status=rejected`)).json();
  facts.rejected = rejected.entries.map((e) => e.question);

  // the export holds what was approved, nothing else
  const link = page.getByRole("link", { name: "Export Markdown" });
  facts.export_href = await link.getAttribute("href");
  const markdown = await (await page.request.get(`${URL}${facts.export_href}`)).text();
  facts.export_has_approved = markdown.includes(`## ${VPN_Q}`) && markdown.includes(EDITED);
  facts.export_has_rejected = markdown.includes("payments worker");
  check(facts.export_has_approved && !facts.export_has_rejected, "the Markdown export");

  // the approved entry answers the same question in the chat at once, naming who answered
  await page.getByRole("button", { name: /Back to chat/ }).click();
  const answer = await ask(page, VPN_Q);
  facts.chat_answer = await answer.locator(".markdown").innerText();
  check(facts.chat_answer.includes(EDITED) && /answered by Anna/.test(facts.chat_answer), "answered from the entry");

  // Russian, on a phone
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true,
    hasTouch: true, locale: "ru-RU" });
  await phone.addCookies(await ctx.cookies());
  const mobile = await phone.newPage();
  await mobile.goto(`${URL}/#/admin/captured`);
  await mobile.locator("[data-testid=draft]").first().waitFor({ timeout: 30000 });
  facts.ru_count = await mobile.locator("[data-testid=draft-count]").innerText();
  facts.ru_nav = await mobile.locator('nav a[aria-current="page"]').innerText();
  check(facts.ru_nav === "Собранные ответы" && facts.ru_count === "На проверке: 1", "Russian review page");
  facts.phone_overflow = await mobile.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(facts.phone_overflow <= 1, "no horizontal scrolling on a phone");
  await mobile.screenshot({ path: `${SHOTS}/captured-phone-ru.png`, fullPage: false });
  await phone.close();
});
