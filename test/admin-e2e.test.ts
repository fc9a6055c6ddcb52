/**
 * Issue 14: the admin app driven end to end in headless Chromium, against a real server over a
 * temp project (the demo entries plus a generated 10,000-entry folder). Covers sign-in, browsing
 * with pages, search and a filter, the field form, the raw editor, the server-rendered preview, a
 * 412 conflict, create/move/copy/delete, tokens and a change on disk reaching an open view. Runs
 * axe-core on each main screen at 1280x800 and 390x844, checks keyboard focus, and saves
 * screenshots to test-artifacts/admin-*.png. Needs Debian's chromium: skipped without it, except
 * under CI=true, where its absence is a failure.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { call, REPO_ROOT, startTestServer, storedText, tempProject, type TestServer } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const MANY = 10_000;
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;
/** Bound for one UI state to appear (a wait, not a timing assertion: a slow machine only waits longer). */
const UI_WAIT = 20_000;

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const available = existsSync(CHROMIUM);
if (!available && process.env['CI'] === 'true') {
  it('chromium is installed (required under CI=true)', () => assert.fail(`${CHROMIUM} is missing; apt-get install -y chromium`));
}

const pad = (n: number) => String(n).padStart(5, '0');

/** The generated folder: many/item-00001 … many/item-10000; every 1000th mentions "needle". */
function generateMany(projectDir: string): void {
  const root = path.join(projectDir, 'entries', 'many');
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'entry.md'), '---\ntitle: Many\n---\nA generated folder.\n');
  for (let i = 1; i <= MANY; i++) {
    const dir = path.join(root, `item-${pad(i)}`);
    mkdirSync(dir);
    const content = i % 1000 === 0 ? `Body ${i} with a needle in it.` : `Body ${i}.`;
    writeFileSync(path.join(dir, 'entry.md'), `---\ntitle: Item ${pad(i)}\ntag: ${i % 2 === 0 ? 'even' : 'odd'}\nrank: ${i}\n---\n${content}\n`);
  }
}

interface Axe {
  run(context: unknown, options: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }>;
}

/** axe-core on the page as it is now: no serious or critical violation. */
async function assertAccessible(page: Page, screen: string): Promise<void> {
  // page.evaluate goes through the DevTools protocol, which the page's CSP does not govern.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const result = await page.evaluate(() => (window as unknown as { axe: Axe }).axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`),
    [],
    `no serious accessibility violation on ${screen}`,
  );
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `admin-${name}.png`) });
}

/** The element focused now has a visible focus ring (an outline or a box shadow). */
async function assertVisibleFocus(page: Page): Promise<string> {
  const focus = await page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return { name: 'body', visible: false };
    const style = getComputedStyle(el);
    const visible = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none';
    return { name: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} ${(el.textContent ?? '').trim().slice(0, 30)}`, visible };
  });
  assert.ok(focus.visible, `focus is visible on ${focus.name}`);
  return focus.name;
}

describe('the admin app in headless Chromium', { skip: available ? false : `${CHROMIUM} is missing (apt-get install -y chromium); skipped outside CI` }, () => {
  let t: TestServer;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let admin: string;
  const problems: string[] = [];
  const auth = () => ({ token: t.token, access_token: t.accessToken });

  const signIn = async (p: Page, token: string, accessToken: string) => {
    await p.goto(`${admin}/`);
    await p.getByLabel('Token', { exact: true }).fill(token);
    await p.getByLabel('Access token').fill(accessToken);
    await p.getByRole('button', { name: 'Sign in' }).click();
  };
  const signOut = async (p: Page) => {
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.getByRole('heading', { name: 'Sign in' }).waitFor();
  };
  const status = (p: Page) => p.locator('main p.status');
  /** The title link of the first row, once it reads `title`. */
  const firstTitle = (title: string) => page.locator('table.entries tbody tr:first-child td:first-child a', { hasText: new RegExp(`^${title}$`) });

  before(async () => {
    const projectDir = tempProject(true);
    generateMany(projectDir);
    t = await startTestServer({ projectDir, settings: { storage: { durable: false } } });
    admin = `${t.server.url}/admin`;
    userDataDir = mkdtempSync(path.join(os.tmpdir(), 'flextype-chromium-'));
    // A fresh profile of its own (playwright passes it as --user-data-dir).
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      viewport: VIEWPORTS.desktop,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context.setDefaultTimeout(UI_WAIT);
    // Registered by the browser itself, so the page's CSP does not apply to this listener.
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        const w = window as unknown as { cspViolations?: string[] };
        (w.cspViolations ??= []).push(`${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    page = await context.newPage();
    const origin = new URL(t.server.url).origin;
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(origin) && !url.startsWith('data:')) problems.push(`foreign request: ${url}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  });

  after(async () => {
    await context?.close();
    await t?.close();
    if (t) rmSync(t.projectDir, { recursive: true, force: true });
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('signs in: a wrong token gets a clear message, the keyboard reaches every control with a visible focus', async () => {
    await page.goto(`${admin}/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await assertAccessible(page, 'sign-in (desktop)');
    await shot(page, 'signin-desktop');
    await page.keyboard.press('Tab');
    assert.match(await assertVisibleFocus(page), /^input#token/);
    await page.keyboard.type('not-a-token');
    await page.keyboard.press('Tab');
    assert.match(await assertVisibleFocus(page), /^input#access-token/);
    await page.keyboard.type('wrong');
    await page.keyboard.press('Tab');
    assert.match(await assertVisibleFocus(page), /^button Sign in/);
    await page.keyboard.press('Enter');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /token/i);
    assert.match((await alert.textContent()) ?? '', /sign in|check/i);
    await assertAccessible(page, 'sign-in error');

    await signIn(page, t.token, t.accessToken);
    await page.getByRole('heading', { name: 'All entries', level: 1 }).waitFor();
    // The secrets are in this tab's storage, never in the address.
    assert.doesNotMatch(page.url(), new RegExp(t.token));
  });

  it('offers only what the token may do', async () => {
    const reader = await t.server.cms.tokens.create({ title: 'reader', scopes: ['entries:read'] });
    await signOut(page);
    await signIn(page, reader.token, reader.access_token);
    await page.getByRole('heading', { name: 'All entries', level: 1 }).waitFor();
    await status(page).filter({ hasText: /Showing/ }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Tokens' }).count(), 0, 'no Tokens screen without tokens:read');
    assert.equal(await page.getByRole('button', { name: 'New entry' }).count(), 0, 'no New entry without entries:write');
    await signOut(page);

    const manager = await t.server.cms.tokens.create({ title: 'manager', scopes: ['entries:read', 'tokens:read', 'tokens:write'] });
    await signIn(page, manager.token, manager.access_token);
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('button', { name: 'New token' }).click();
    const dialog = page.getByRole('dialog', { name: 'New token' });
    await dialog.waitFor();
    const offered = (await dialog.getByRole('checkbox').allTextContents()).length;
    const labels = await dialog.locator('input[type=checkbox] + label').allTextContents();
    assert.deepEqual(labels.sort(), ['entries:read', 'tokens:read', 'tokens:write']);
    assert.equal(offered, 3);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await signOut(page);
    await signIn(page, t.token, t.accessToken);
    await page.getByRole('heading', { name: 'All entries', level: 1 }).waitFor();
  });

  it('browses a 10,000-entry folder page by page (X-Total-Count), with search and a filter', async () => {
    await page.getByRole('treeitem').getByRole('link', { name: 'Many' }).click();
    await page.getByRole('heading', { name: 'many', level: 1 }).waitFor();
    await status(page).filter({ hasText: 'Showing 1–25 of 10,000' }).waitFor();
    const rows = page.locator('table.entries tbody tr');
    assert.equal(await rows.count(), 25);
    assert.equal(await rows.first().getByRole('link').first().textContent(), 'Item 00001');
    await page.getByText('Page 1 of 400').waitFor();
    await assertAccessible(page, 'browse (desktop)');
    await shot(page, 'browse-desktop');

    await page.getByRole('button', { name: 'Next' }).click();
    await status(page).filter({ hasText: 'Showing 26–50 of 10,000' }).waitFor();
    assert.equal(await rows.first().getByRole('link').first().textContent(), 'Item 00026');
    await page.getByText('Page 2 of 400').waitFor();

    await page.getByLabel('Direction').selectOption('DESC');
    await status(page).filter({ hasText: 'Showing 1–25 of 10,000' }).waitFor();
    await page.locator('table.entries tbody tr a', { hasText: 'Item 10000' }).waitFor();
    await page.getByLabel('Direction').selectOption('ASC');

    // Search looks in titles and content: "needle" is in the content of every 1000th entry.
    await page.getByLabel('Search title and content').fill('needle');
    await status(page).filter({ hasText: 'Showing 1–10 of 10' }).waitFor();
    assert.deepEqual(await rows.locator('td:first-child a').allTextContents(), Array.from({ length: 10 }, (_, i) => `Item ${pad((i + 1) * 1000)}`));
    await page.getByLabel('Search title and content').fill('Item 04242');
    await status(page).filter({ hasText: 'Showing 1–1 of 1' }).waitFor();
    await page.getByLabel('Search title and content').fill('');

    await page.getByLabel('Field').fill('tag');
    await page.getByLabel('Value').fill('even');
    await status(page).filter({ hasText: 'Showing 1–25 of 5,000' }).waitFor();
    assert.equal(await rows.first().getByRole('link').first().textContent(), 'Item 00002');
    await page.getByLabel('Operator').selectOption('neq');
    await firstTitle('Item 00001').waitFor();
    await status(page).filter({ hasText: 'Showing 1–25 of 5,000' }).waitFor();
  });

  it('edits a field in the form and saves it', async () => {
    await page.goto(`${admin}/edit/blog/hello-world`);
    const title = page.getByLabel('title', { exact: true });
    await title.waitFor();
    assert.equal(await title.inputValue(), 'Hello world');
    await assertAccessible(page, 'editor (desktop)');
    await shot(page, 'editor-desktop');
    await title.fill('Hello, edited world');
    await status(page).filter({ hasText: 'Unsaved changes.' }).waitFor();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await status(page).filter({ hasText: 'Saved.' }).waitFor();
    const text = await storedText(t, 'blog/hello-world');
    assert.match(text, /^title: Hello, edited world$/m);
    // The rest of the file is as it was.
    assert.match(text, /^author: ada$/m);
    assert.match(text, /The first post/);
    await page.getByRole('heading', { name: 'Hello, edited world', level: 1 }).waitFor();
  });

  it('edits the raw file', async () => {
    await page.getByRole('tab', { name: /Raw file/ }).click();
    const raw = page.getByLabel('The whole entry file');
    await raw.waitFor();
    const before = await raw.inputValue();
    assert.match(before, /^title: Hello, edited world$/m);
    await raw.fill(before.replace('views: 120', 'views: 121'));
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await status(page).filter({ hasText: 'Saved.' }).waitFor();
    assert.match(await storedText(t, 'blog/hello-world'), /^views: 121$/m);
    await assertAccessible(page, 'raw editor');
    await page.getByRole('tab', { name: 'Fields' }).click();
  });

  it('previews Markdown as the server renders it', async () => {
    const content = page.getByLabel('Content (Markdown)');
    await content.fill('Some **bold** words and a [link](https://example.org/).');
    await page.getByRole('button', { name: 'Preview' }).click();
    const rendered = page.locator('.preview .rendered');
    await rendered.locator('strong', { hasText: 'bold' }).waitFor();
    assert.equal(await rendered.locator('a[href="https://example.org/"]').count(), 1);
    await shot(page, 'preview-desktop');
    await assertAccessible(page, 'preview');
    // Nothing was stored by the preview.
    assert.doesNotMatch(await storedText(t, 'blog/hello-world'), /bold/);
    await page.getByRole('button', { name: 'Discard changes' }).click();
  });

  it('shows both versions on a 412 and lets the editor choose; never overwrites silently', async () => {
    await page.goto(`${admin}/edit/blog/flat-files`);
    const title = page.getByLabel('title', { exact: true });
    await title.waitFor();
    await page.locator('.live.up').waitFor(); // the change stream is open
    await title.fill('Mine');
    // Someone else saves meanwhile, through the API.
    const other = await call(t.base, 'PATCH', '/entries', { json: { id: 'blog/flat-files', data: { title: 'Theirs' }, ...auth() } });
    assert.equal(other.status, 200, other.text);
    await page.getByText('Someone changed this entry while you were editing').waitFor();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Someone else saved this entry' });
    await dialog.waitFor();
    assert.match((await dialog.getByRole('region', { name: 'Yours' }).textContent()) ?? '', /Mine/);
    assert.match((await dialog.getByRole('region', { name: /Theirs/ }).textContent()) ?? '', /Theirs/);
    assert.match(await storedText(t, 'blog/flat-files'), /^title: Theirs$/m, 'the first save stored nothing');
    await assertAccessible(page, 'conflict dialog');
    await shot(page, 'conflict-desktop');

    // "Use theirs": the form shows their version, nothing stored.
    await dialog.getByRole('button', { name: 'Use theirs' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await title.inputValue(), 'Theirs');
    assert.match(await storedText(t, 'blog/flat-files'), /^title: Theirs$/m);

    // Again, this time keeping mine.
    await title.fill('Mine again');
    const again = await call(t.base, 'PATCH', '/entries', { json: { id: 'blog/flat-files', data: { title: 'Theirs again' }, ...auth() } });
    assert.equal(again.status, 200, again.text);
    await page.getByText('Someone changed this entry while you were editing').waitFor();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Keep mine' }).click();
    await dialog.waitFor({ state: 'detached' });
    await status(page).filter({ hasText: 'Saved.' }).waitFor();
    assert.match(await storedText(t, 'blog/flat-files'), /^title: Mine again$/m);
  });

  it('creates, copies, moves and deletes entries, each confirmed (delete counts the subtree)', async () => {
    await page.goto(`${admin}/browse/blog`);
    await page.getByRole('button', { name: 'New entry' }).click();
    let dialog = page.getByRole('dialog', { name: 'Create an entry' });
    await dialog.getByLabel('Id of the new entry').fill('blog/made-here');
    await dialog.getByLabel('Title').fill('Made here');
    await assertAccessible(page, 'create dialog');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'Made here', level: 1 }).waitFor();
    assert.match(await storedText(t, 'blog/made-here'), /title: Made here/);

    await page.getByRole('button', { name: 'Move' }).click();
    dialog = page.getByRole('dialog', { name: 'Move entry' });
    await dialog.getByLabel('New id').fill('blog/moved-here');
    await dialog.getByRole('button', { name: 'Move' }).click();
    await page.waitForURL(/\/admin\/edit\/blog\/moved-here$/);
    await page.getByRole('heading', { name: 'Made here', level: 1 }).waitFor();
    assert.equal((await call(t.base, 'GET', '/entries', { query: `id=blog/made-here&token=${t.token}` })).status, 404);

    // Copy the whole blog (4 posts now), then delete the copy: the dialog counts what goes with it.
    await page.goto(`${admin}/edit/blog`);
    await page.getByRole('button', { name: 'Copy' }).click();
    dialog = page.getByRole('dialog', { name: 'Copy entry' });
    await dialog.getByLabel('New id').fill('blog-copy');
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await page.waitForURL(/\/admin\/edit\/blog-copy$/);
    assert.match(await storedText(t, 'blog-copy/moved-here'), /title: Made here/);

    await page.getByRole('button', { name: 'Delete' }).click();
    dialog = page.getByRole('dialog', { name: 'Delete entry' });
    await dialog.getByText('and the 4 entries below it').waitFor();
    await assertAccessible(page, 'delete dialog');
    await shot(page, 'delete-desktop');
    // Cancel keeps it.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.match(await storedText(t, 'blog-copy/moved-here'), /Made here/);
    await page.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByText('and the 4 entries below it').waitFor();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/\/admin\/$/);
    assert.equal((await call(t.base, 'GET', '/entries', { query: `id=blog-copy&token=${t.token}` })).status, 404);
  });

  it('creates a token (the access token shown once), disables and deletes it', async () => {
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('heading', { name: 'Tokens', level: 1 }).waitFor();
    await page.locator('table.entries tbody tr').first().waitFor();
    await assertAccessible(page, 'tokens (desktop)');
    await shot(page, 'tokens-desktop');
    await page.getByRole('button', { name: 'New token' }).click();
    const form = page.getByRole('dialog', { name: 'New token' });
    await form.getByLabel('Title').fill('made in the browser');
    await form.getByLabel('entries:write').check();
    await assertAccessible(page, 'new token dialog');
    await form.getByRole('button', { name: 'Create token' }).click();
    const shown = page.getByRole('dialog', { name: 'Token created' });
    await shown.waitFor();
    const token = (await shown.getByTestId('new-token').textContent()) ?? '';
    const accessToken = (await shown.getByTestId('new-access-token').textContent()) ?? '';
    assert.match(token, /^[0-9a-f]{32}$/);
    assert.ok(accessToken.length >= 32);
    await assertAccessible(page, 'token created dialog');
    // It works, with the scopes chosen.
    const used = await call(t.base, 'PATCH', '/entries', { json: { id: 'movies/arrival', data: { rating: 8 }, token, access_token: accessToken } });
    assert.equal(used.status, 200, used.text);
    await shown.getByRole('button', { name: 'I have copied it' }).click();
    await shown.waitFor({ state: 'detached' });
    assert.equal(await page.getByText(accessToken).count(), 0, 'the access token is not shown again');
    assert.doesNotMatch(await page.content(), new RegExp(accessToken));

    const row = page.locator('table.entries tbody tr', { hasText: 'made in the browser' });
    await row.getByRole('button', { name: /^Disable/ }).click();
    await row.getByRole('cell', { name: 'disabled', exact: true }).waitFor();
    const refused = await call(t.base, 'GET', '/entries', { query: `id=movies&token=${token}` });
    assert.notEqual(refused.status, 200, 'a disabled token is refused');

    await row.getByRole('button', { name: /^Delete/ }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete token' });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await t.server.cms.store.engine.revision(`tokens/${token}`)) === undefined, true);
  });

  it('shows a change made on disk in an open view (change stream)', async () => {
    await page.goto(`${admin}/browse/movies`);
    await status(page).filter({ hasText: /Showing/ }).waitFor();
    await page.getByRole('button', { name: 'Open Movies' }).click();
    await page.getByRole('treeitem').getByRole('link', { name: 'Arrival' }).waitFor();
    const dir = path.join(t.projectDir, 'entries', 'movies', 'solaris');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'entry.yaml'), 'title: Solaris\nyear: 1972\n');
    await page.locator('table.entries a', { hasText: 'Solaris' }).waitFor();
    // And in the tree, whose level under movies is open.
    await page.getByRole('treeitem').getByRole('link', { name: 'Solaris' }).waitFor();

    // An open editor follows a change on disk too, when nothing is being edited.
    await page.goto(`${admin}/edit/movies/solaris`);
    const title = page.getByLabel('title', { exact: true });
    await title.waitFor();
    writeFileSync(path.join(dir, 'entry.yaml'), 'title: Solaris (1972)\nyear: 1972\n');
    await page.getByRole('heading', { name: 'Solaris (1972)', level: 1 }).waitFor();
    assert.equal(await title.inputValue(), 'Solaris (1972)');
  });

  it('works on a phone (390x844): every main screen accessible, the tree behind a button', async () => {
    await page.setViewportSize(VIEWPORTS.phone);
    await page.goto(`${admin}/browse/many`);
    await status(page).filter({ hasText: 'Showing 1–25 of 10,000' }).waitFor();
    assert.equal(await page.locator('#tree').isVisible(), false, 'the tree is folded away');
    await assertAccessible(page, 'browse (phone)');
    await shot(page, 'browse-phone');
    const noScroll = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
    assert.ok(noScroll, 'no sideways scrolling');
    await page.getByRole('button', { name: 'Entries' }).click();
    await page.locator('#tree').getByRole('link', { name: 'Movies' }).waitFor();
    await assertAccessible(page, 'tree (phone)');
    await shot(page, 'tree-phone');

    await page.goto(`${admin}/edit/blog/hello-world`);
    await page.getByLabel('title', { exact: true }).waitFor();
    await assertAccessible(page, 'editor (phone)');
    await shot(page, 'editor-phone');
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'no sideways scrolling in the editor');

    await page.goto(`${admin}/tokens`);
    await page.locator('table.entries tbody tr').first().waitFor();
    await assertAccessible(page, 'tokens (phone)');
    await shot(page, 'tokens-phone');

    await signOut(page);
    await assertAccessible(page, 'sign-in (phone)');
    await shot(page, 'signin-phone');
    await page.setViewportSize(VIEWPORTS.desktop);
  });

  it('keyboard: a skip link first, then every control in order with a visible focus', async () => {
    await signIn(page, t.token, t.accessToken);
    await page.goto(`${admin}/browse/movies`);
    await status(page).filter({ hasText: /Showing/ }).waitFor();
    await page.keyboard.press('Tab');
    assert.match(await assertVisibleFocus(page), /Skip to content/);
    const seen: string[] = [];
    for (let i = 0; i < 25; i++) {
      await page.keyboard.press('Tab');
      seen.push(await assertVisibleFocus(page));
    }
    assert.ok(seen.some((name) => name.startsWith('input#search')), `the search box is reached: ${seen.join(' | ')}`);
  });

  it('broke no CSP rule, loaded nothing from elsewhere, threw nothing', async () => {
    const violations = await page.evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? []);
    assert.deepEqual(violations, []);
    assert.deepEqual(problems, []);
  });
});
