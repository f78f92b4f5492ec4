// The escalations page (#/admin/escalations) in Debian chromium against the demo server, which holds three
// unresolved escalations (tests/analytics/demo_server.py ESCALATIONS): a non-admin is refused; an admin
// acknowledges then resolves one (confirming first), is told when someone else changed one first (the list
// reloads), sees failed calls explained, and shows the resolved ones. Prints one JSON line of facts; any failed
// expectation exits non-zero.
import { SHOTS, URL, check, run, signIn } from "./harness.mjs";

const PAYMENTS = "Payments fail for everyone since 10:00";
const DEPLOY = "Деплой в prod висит на шаге migrate";
const GRAFANA = "Grafana shows 5xx on checkout-api";
const LIST = /\/api\/v1\/escalations\?state=/;

await run(async (browser, facts) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
  const page = await ctx.newPage();
  let accept = true;
  const dialogs = [];
  page.on("dialog", (d) => { dialogs.push(d.message()); void (accept ? d.accept() : d.dismiss()); });
  const steps = []; // the lifecycle calls the page made
  page.on("request", (r) => { if (r.method() === "POST") steps.push(new globalThis.URL(r.url()).pathname); });
  await signIn(page, "Alice");
  const api = async (query) => (await (await page.request.get(`${URL}/api/v1/escalations?${query}`)).json()).escalations;
  const seeded = Object.fromEntries((await api("state=open&state=acknowledged"))
    .filter((e) => e.question && [PAYMENTS, DEPLOY, GRAFANA].some((q) => e.question.startsWith(q)))
    .map((e) => [e.question.slice(0, 12), e]));
  const byQuestion = (q) => seeded[q.slice(0, 12)];
  const stored = async (q) => (await api("")).find((e) => e.id === byQuestion(q).id);

  // not an admin: the list and the steps are refused, and the page is not offered
  const bobCtx = await browser.newContext({ locale: "en-US" });
  const bob = await bobCtx.newPage();
  await signIn(bob, "Bob");
  facts.bob_list = (await bob.request.get(`${URL}/api/v1/escalations?state=open`)).status();
  facts.bob_step = (await bob.request.post(`${URL}/api/v1/escalations/${byQuestion(PAYMENTS).id}/acknowledge`,
    { data: {} })).status();
  await bob.goto(`${URL}/#/admin/escalations`);
  await bob.locator(".topbar").waitFor();
  facts.bob_page = await bob.locator("[data-testid=admin], a.admin-link").count();
  check(facts.bob_list === 403 && facts.bob_step === 403 && facts.bob_page === 0, "Bob may not see or step");
  await bobCtx.close();
  facts.untouched = (await stored(PAYMENTS)).state;
  check(facts.untouched === "open", "Bob's refused step changed nothing");

  // the page: open ones first, with severity, question, who is on call, the thread link
  await page.locator("a.admin-link").click();
  await page.getByRole("link", { name: "Escalations" }).click();
  const cards = page.locator("[data-testid=escalation]");
  await cards.first().waitFor({ timeout: 30000 });
  facts.filters = await page.locator(".admin-filters").count();
  facts.count = await page.locator("[data-testid=escalation-count]").innerText();
  facts.first_two = [await cards.nth(0).innerText(), await cards.nth(1).innerText()].map((t) => t.includes(PAYMENTS)
    ? "payments" : t.includes(DEPLOY) ? "deploy" : "other");
  check(facts.filters === 0 && /^2 open, \d+ acknowledged$/.test(facts.count), "two open escalations, no period filter");
  check(facts.first_two.includes("payments") && facts.first_two.includes("deploy"), "open ones first");
  const card = (q) => cards.filter({ hasText: q });
  const state = (q) => card(q).locator("[data-testid=escalation-state]").innerText();
  const payments = card(PAYMENTS);
  facts.payments_text = await payments.innerText();
  facts.payments_link = await payments.getByRole("link", { name: "Open the thread" }).getAttribute("href");
  check(/critical/.test(facts.payments_text) && /On call: Anna/.test(facts.payments_text), "severity and on call");
  check(facts.payments_link === "https://slack.com/archives/C0PAYMENTS/p1764324300001200", "the Slack thread link");
  facts.deploy_text = await card(DEPLOY).innerText(); // "call a human": the thread's question is shown
  check(/high/.test(facts.deploy_text) && /On call: Борис/.test(facts.deploy_text), "the call-a-human escalation");
  await page.screenshot({ path: `${SHOTS}/escalations-admin.png`, fullPage: true });

  // acknowledge: the state changes, here and on the server, recorded as the signed-in admin
  await payments.getByRole("button", { name: "Acknowledge" }).click();
  await page.getByRole("status").filter({ hasText: "Acknowledged:" }).waitFor();
  await payments.getByText("acknowledged by Alice").waitFor();
  facts.after_ack = await state(PAYMENTS);
  facts.stored_ack = [(await stored(PAYMENTS)).state, (await stored(PAYMENTS)).acknowledged_by];
  check(facts.after_ack === "acknowledged" && facts.stored_ack.join() === "acknowledged,Alice", "acknowledged");
  facts.ack_buttons = await payments.getByRole("button", { name: "Acknowledge" }).count();

  // resolve asks first: declined, nothing changes; confirmed, it is resolved and leaves the active list
  accept = false;
  const asked = dialogs.length;
  await payments.getByRole("button", { name: "Resolve" }).click();
  await page.waitForFunction(() => true); // one round trip: the click's handler (and its dialog) has run
  facts.confirm = dialogs.slice(asked).join(" | ");
  check(/^Resolve escalation #\d+ “Payments fail[^|]*$/.test(facts.confirm), "resolving asks first");
  facts.declined_posts = steps.filter((p) => p.endsWith("/resolve")).length;
  facts.after_decline = (await stored(PAYMENTS)).state;
  check(facts.declined_posts === 0 && facts.after_decline === "acknowledged", "a declined resolve changes nothing");
  accept = true;
  await payments.getByRole("button", { name: "Resolve" }).click();
  await page.getByRole("status").filter({ hasText: "Resolved:" }).waitFor();
  await payments.waitFor({ state: "detached" });
  facts.stored_resolve = [(await stored(PAYMENTS)).state, (await stored(PAYMENTS)).resolved_by];
  check(facts.stored_resolve.join() === "resolved,Alice", "resolved on the server");

  // someone else acknowledged the deploy one first: the page says so and shows the new state
  await page.request.post(`${URL}/api/v1/escalations/${byQuestion(DEPLOY).id}/acknowledge`, { data: { by: "Boris" } });
  await card(DEPLOY).getByRole("button", { name: "Acknowledge" }).click();
  const stale = page.getByRole("status").filter({ hasText: "already been changed by someone else" });
  await stale.waitFor();
  facts.stale_note = await stale.innerText();
  await card(DEPLOY).getByText("acknowledged by Boris").waitFor();
  facts.after_stale = await state(DEPLOY);
  check(facts.after_stale === "acknowledged", "the list is refreshed");

  // the server not answering a step: the card says so and keeps its state
  await page.route("**/api/v1/escalations/*/resolve", (route) => route.abort("connectionrefused"));
  await card(GRAFANA).getByRole("button", { name: "Resolve" }).click();
  const failed = card(GRAFANA).getByRole("alert");
  await failed.waitFor();
  facts.network_alert = await failed.innerText();
  facts.after_failure = [await state(GRAFANA), (await stored(GRAFANA)).state];
  check(/did not answer/.test(facts.network_alert) && facts.after_failure.join() === "acknowledged,acknowledged",
    "a failed step is explained and changes nothing");
  await page.unroute("**/api/v1/escalations/*/resolve");

  // show resolved: the list is asked again; while the server does not answer, the page says so and offers a retry
  await page.route(LIST, (route) => route.abort("connectionrefused"));
  await page.getByLabel("Show resolved").click();
  const down = page.locator(".admin-error");
  await down.waitFor();
  facts.list_alert = await down.innerText();
  check(/did not answer/.test(facts.list_alert), "a failed list is explained");
  await page.unroute(LIST);
  await down.getByRole("button", { name: "Retry" }).click();
  await card(PAYMENTS).waitFor();
  facts.resolved_shown = [await state(PAYMENTS), /resolved by Alice/.test(await card(PAYMENTS).innerText())];
  facts.resolved_buttons = await card(PAYMENTS).getByRole("button").count();
  check(facts.resolved_shown.join() === "resolved,true" && facts.resolved_buttons === 0, "resolved ones on request");
  facts.steps = steps.filter((p) => p.startsWith("/api/v1/escalations/")).map((p) => p.replace(/\/\d+\//, "/{id}/"));

  // Russian, on a phone
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true,
    hasTouch: true, locale: "ru-RU" });
  await phone.addCookies(await ctx.cookies());
  const mobile = await phone.newPage();
  await mobile.goto(`${URL}/#/admin/escalations`);
  await mobile.locator("[data-testid=escalation]").first().waitFor({ timeout: 30000 });
  facts.ru_nav = await mobile.locator('nav a[aria-current="page"]').innerText();
  facts.ru_count = await mobile.locator("[data-testid=escalation-count]").innerText();
  facts.ru_resolve = await mobile.getByRole("button", { name: "Закрыть" }).count();
  check(facts.ru_nav === "Эскалации" && /^Открыто: 0, в работе: \d+$/.test(facts.ru_count), "Russian page");
  facts.phone_overflow = await mobile.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(facts.phone_overflow <= 1, "no horizontal scrolling on a phone");
  await phone.close();
});
