// The dashboard, end to end, in Debian's headless Chromium driven by
// playwright-core. Started by crates/coderd/tests/it/dashboard.rs against a
// fresh server on loopback; every assertion failure exits non-zero.
//
// Environment: BASE_URL (the server), LICENSE (a license JWT the server
// trusts), ALLOWED_TAR and SECRET_TAR (echo template archives), SHOTS (the
// directory for one screenshot per page), PASSWORD (for every account),
// CHROMIUM (default /usr/bin/chromium).

import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOTS;
const PASSWORD = process.env.PASSWORD;
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});

const external = [];
const serverErrors = [];
const confirmed = [];
const injected = [];
let shotNo = 0;

async function newPage(width = 1280) {
  const ctx = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(30000);
  page.on("request", (r) => {
    if (!r.url().startsWith(BASE) && !r.url().startsWith("data:")) external.push(r.url());
  });
  page.on("response", (r) => {
    if (r.status() >= 500) serverErrors.push(`${r.status()} ${r.url()}`);
    if (r.url().startsWith(BASE + "/assets/") && r.status() !== 200) serverErrors.push(`${r.status()} ${r.url()}`);
  });
  page.on("dialog", async (d) => {
    // Destructive buttons ask first (confirm); anything else is injected.
    if (d.type() === "confirm") {
      confirmed.push(d.message());
      await d.accept();
      return;
    }
    injected.push(`${d.type()}: ${d.message()}`);
    await d.dismiss();
  });
  return page;
}

async function shot(page, name) {
  shotNo += 1;
  const file = `${SHOTS}/${String(shotNo).padStart(2, "0")}-${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
}

function path(page) {
  const u = new URL(page.url());
  return u.pathname + u.search;
}

async function submit(page, formSelector) {
  await Promise.all([
    page.waitForLoadState("load"),
    page.locator(`${formSelector} button[type=submit]`).first().click(),
  ]);
}

// ---- The admin signs up on /setup. -------------------------------------
const admin = await newPage();
await admin.goto(BASE + "/");
assert.equal(new URL(admin.url()).pathname, "/setup", "a new deployment starts at /setup");
await shot(admin, "setup");
await admin.fill("input[name=email]", "admin@example.com");
await admin.fill("input[name=username]", "admin");
await admin.fill("input[name=password]", PASSWORD);
await admin.click("main form.stack button[type=submit]");
await admin.waitForURL(BASE + "/workspaces");
assert.equal(await admin.locator(".navbar .user").textContent(), "admin");

// ---- Uploads a license. --------------------------------------------------
await admin.goto(BASE + "/deployment/licenses/add");
await admin.fill("textarea[name=license]", process.env.LICENSE);
await admin.click("main form.stack button[type=submit]");
await admin.waitForURL(BASE + "/deployment/licenses");
const card = admin.locator(".license-card").first();
assert.match(await card.textContent(), /template_rbac/);
assert.match(await card.textContent(), /audit_log/);
await shot(admin, "licenses");

// ---- Creates two members. -----------------------------------------------
for (const name of ["alice", "bob"]) {
  await admin.goto(BASE + "/deployment/users/create");
  await admin.fill("input[name=email]", `${name}@example.com`);
  await admin.fill("input[name=username]", name);
  await admin.fill("input[name=password]", PASSWORD);
  await admin.click("main form.stack button[type=submit]");
  await admin.waitForURL(BASE + "/deployment/users");
}
// A bad email shows the API's validation inline, and nothing is created.
await admin.goto(BASE + "/deployment/users/create");
await admin.fill("input[name=email]", "not-an-email");
await admin.fill("input[name=username]", "carol");
await admin.fill("input[name=password]", PASSWORD);
await admin.locator("input[name=email]").evaluate((e) => e.setAttribute("type", "text"));
await admin.click("main form.stack button[type=submit]");
assert.match(await admin.locator("#form-error").textContent(), /Validation failed/);
await shot(admin, "user-create-invalid");
await admin.goto(BASE + "/deployment/users");
const usersText = await admin.locator("#users").textContent();
assert.match(usersText, /alice/);
assert.match(usersText, /bob/);
assert.doesNotMatch(usersText, /carol/);
await shot(admin, "users");

// ---- Uploads two echo templates. ----------------------------------------
async function newTemplate(name, tar) {
  await admin.goto(BASE + "/templates/new");
  await admin.fill("input[name=name]", name);
  await admin.selectOption("select[name=provisioner]", "echo");
  await admin.setInputFiles("input[name=file]", tar);
  await admin.click("main form.stack button[type=submit]");
  await admin.waitForURL(/\/templates\/new\?version=/);
  // The import page follows the job and reloads itself when it ends.
  await admin.waitForSelector('form[action="/templates/new/create"]', { timeout: 60000 });
  await shot(admin, `template-import-${name}`);
  await admin.click('form[action="/templates/new/create"] button[type=submit]');
  await admin.waitForURL(BASE + `/templates/${name}`);
}
await newTemplate("allowed", process.env.ALLOWED_TAR);
await newTemplate("secret", process.env.SECRET_TAR);
await shot(admin, "template");

// ---- Creates a group, adds both members, sets an allowance. --------------
await admin.goto(BASE + "/deployment/groups/create");
await admin.fill("input[name=name]", "devs");
await admin.fill("input[name=display_name]", "Developers");
await admin.click("main form.stack button[type=submit]");
await admin.waitForURL(BASE + "/deployment/groups/devs");
for (const name of ["alice", "bob"]) {
  await admin.selectOption("#add-member select[name=user_id]", { label: name });
  await submit(admin, "#add-member");
}
const members = await admin.locator("#members").textContent();
assert.match(members, /alice/);
assert.match(members, /bob/);
await admin.goto(BASE + "/deployment/groups/devs/settings");
// A negative allowance is the API's refusal, shown on the form.
await admin.fill("input[name=quota_allowance]", "-1");
await admin.locator("input[name=quota_allowance]").evaluate((e) => e.removeAttribute("min"));
await admin.click("main form.stack button[type=submit]");
assert.ok(await admin.locator("#form-error").isVisible(), "a negative allowance is refused");
await admin.fill("input[name=quota_allowance]", "5");
await admin.click("main form.stack button[type=submit]");
await admin.waitForURL(BASE + "/deployment/groups/devs");
assert.match(await admin.locator(".sub").first().textContent(), /quota allowance 5/);
await shot(admin, "group");
await admin.goto(BASE + "/deployment/groups");
await shot(admin, "groups");

// ---- Grants the group `use` on one template; nobody else sees either. ----
async function removeEveryone(template) {
  await admin.goto(BASE + `/templates/${template}/settings/permissions`);
  const row = admin.locator("#acl tr", { hasText: "Everyone" });
  await Promise.all([admin.waitForLoadState("load"), row.locator("button.danger").click()]);
  assert.equal(await admin.locator("#acl tr", { hasText: "Everyone" }).count(), 0);
}
await removeEveryone("secret");
await removeEveryone("allowed");
await admin.selectOption("#add-group select[name=id]", { label: "devs" });
await admin.selectOption("#add-group select[name=role]", "use");
await submit(admin, "#add-group");
const acl = admin.locator("#acl tr", { hasText: "Developers" });
assert.equal(await acl.count(), 1);
assert.equal(await acl.locator("select[name=role]").inputValue(), "use");
await shot(admin, "template-permissions");

// ---- Sets a service banner (with markup, which must show as text). -------
const bannerText = "<b>Maintenance</b> tonight at 22:00 <script>window.__xss = 1</script>";
await admin.goto(BASE + "/deployment/appearance");
await admin.check("input[name=enabled]");
await admin.fill("textarea[name=message]", bannerText);
await admin.fill("input[name=background_color]", "#ffcc00");
await admin.click("main form.stack button[type=submit]");
assert.equal(await admin.locator("#service-banner").textContent(), bannerText);
await shot(admin, "appearance");

// ---- Injection: a group's display name with markup renders as text. -----
await admin.goto(BASE + "/deployment/groups/create");
await admin.fill("input[name=name]", "xss");
await admin.fill("input[name=display_name]", "<script>window.__xss = 1</script><img src=x onerror=alert(1)>");
await admin.click("main form.stack button[type=submit]");
await admin.waitForURL(BASE + "/deployment/groups/xss");
assert.equal(await admin.locator("h1").textContent(), "<script>window.__xss = 1</script><img src=x onerror=alert(1)>");
assert.equal(await admin.evaluate(() => window.__xss), undefined);
assert.equal(await admin.locator("main img").count(), 0, "no injected image element");

// ---- A form post without the CSRF token is refused. ----------------------
const csrf = await admin.evaluate(async () => {
  const r = await fetch("/deployment/groups/create", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: "name=forged",
  });
  return [r.status, await r.text()];
});
assert.equal(csrf[0], 403);
assert.match(csrf[1], /CSRF token missing or invalid\./);

// ---- A member signs in, sees the banner and only the permitted template. -
const member = await newPage();
await member.goto(BASE + "/templates");
assert.equal(path(member), "/login?redirect=%2Ftemplates");
await shot(member, "login");
await member.fill("input[name=email]", "alice@example.com");
await member.fill("input[name=password]", PASSWORD);
await member.click("main form.stack button[type=submit]");
await member.waitForURL(BASE + "/templates");
assert.equal(await member.locator("#service-banner").textContent(), bannerText);
assert.equal(await member.locator("#service-banner b").count(), 0, "banner markup is text");
assert.equal(await member.evaluate(() => window.__xss), undefined);
const templates = await member.locator("#templates").textContent();
assert.match(templates, /allowed/);
assert.doesNotMatch(templates, /secret/);
await shot(member, "templates-member");
// The other template is the API's 404 for them.
const hidden = await member.goto(BASE + "/templates/secret");
assert.equal(hidden.status(), 404);

// ---- Creates a workspace and watches its build log move. -----------------
await member.goto(BASE + "/templates/allowed/workspace");
await member.fill("input[name=name]", "ws1");
await member.click("main form.stack button[type=submit]");
await member.waitForURL(BASE + "/@alice/ws1");
await member.evaluate(() => { window.__sameDocument = true; });
const before = await member.locator("#build-log div").count();
await member.waitForFunction(
  (n) => window.__sameDocument === true && document.querySelectorAll("#build-log div").length > n,
  before,
  { timeout: 30000 },
);
await shot(member, "workspace-building");
// When the job ends the page reloads with the final status and quota.
await member.waitForFunction(
  () => document.querySelector("#workspace-status")?.textContent === "running" && !window.__sameDocument,
  null,
  { timeout: 60000 },
);
assert.equal(await member.locator("#quota").textContent(), "3 of 5 used");
assert.equal(await member.locator("#daily-cost").textContent(), "3");
await shot(member, "workspace");

// ---- A second build over budget is refused, with the reason. -------------
await member.goto(BASE + "/templates/allowed/workspace");
await member.fill("input[name=name]", "ws2");
await member.click("main form.stack button[type=submit]");
await member.waitForURL(BASE + "/@alice/ws2");
await member.waitForSelector("#job-error", { timeout: 60000 });
assert.equal(await member.locator("#job-error").textContent(), "insufficient quota");
assert.equal(await member.locator("#workspace-status").textContent(), "failed");
await shot(member, "workspace-over-quota");
await member.goto(BASE + "/workspaces");
const list = await member.locator("#workspaces").textContent();
assert.match(list, /ws1/);
assert.match(list, /ws2/);
await shot(member, "workspaces");

// ---- Phone width. ---------------------------------------------------------
const phone = await newPage(390);
await phone.goto(BASE + "/login");
await phone.fill("input[name=email]", "bob@example.com");
await phone.fill("input[name=password]", PASSWORD);
await phone.click("main form.stack button[type=submit]");
await phone.waitForURL(BASE + "/workspaces");
const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
assert.ok(overflow <= 0, `the page fits a phone-width screen (overflow ${overflow}px)`);
await shot(phone, "workspaces-phone");

// ---- The admin reads those actions on /audit. ----------------------------
await admin.goto(BASE + "/audit");
const audit = await admin.locator("#audit").textContent();
assert.match(audit, /admin created group\s+devs/);
assert.match(audit, /admin updated group\s+devs/);
assert.match(audit, /admin updated template\s+allowed/);
assert.match(audit, /alice created workspace\s+ws1/);
assert.match(audit, /admin updated appearance/);
await admin.locator("#audit details summary").first().click();
await shot(admin, "audit");
await admin.goto(BASE + "/audit?q=" + encodeURIComponent("resource_type:group action:create"));
const filtered = await admin.locator("#audit").textContent();
assert.match(filtered, /created group\s+devs/);
assert.doesNotMatch(filtered, /workspace/);

// ---- Every page for an admin, a member and an anonymous visitor. ---------
const pages = [
  "/workspaces", "/templates", "/templates/allowed", "/templates/new",
  "/templates/allowed/workspace", "/templates/allowed/settings/permissions",
  "/@alice/ws1", "/deployment/users", "/deployment/users/create", "/deployment/groups",
  "/deployment/groups/create", "/deployment/groups/devs", "/deployment/groups/devs/settings",
  "/deployment/licenses", "/deployment/licenses/add", "/deployment/appearance",
  "/deployment/overview", "/organizations/default/provisioners", "/deployment/userauth",
  "/organizations/default/idp-sync", "/audit", "/settings/account", "/settings/security",
  "/settings/tokens", "/cli-auth",
];
const anonymous = await newPage();
for (const p of pages) {
  for (const [who, page] of [["admin", admin], ["member", member]]) {
    const r = await page.goto(BASE + p);
    assert.ok(r.status() < 500, `${who} ${p}: ${r.status()}`);
    if (who === "admin") {
      assert.equal(r.status(), 200, `admin ${p}`);
      await shot(page, "page" + p.replaceAll("/", "_"));
    }
  }
  const r = await anonymous.goto(BASE + p);
  assert.ok(r.status() < 500, `anonymous ${p}: ${r.status()}`);
  assert.equal(path(anonymous), "/login?redirect=" + encodeURIComponent(p), `anonymous ${p}`);
}

assert.deepEqual(serverErrors, [], "no 5xx answered to the browser");
assert.deepEqual(injected, [], "no injected dialog opened");
assert.deepEqual(confirmed, ["Remove this access?", "Remove this access?"], "removals asked first");
assert.deepEqual(external, [], "no page fetches anything outside the deployment");
await browser.close();
console.log("DASHBOARD OK");
