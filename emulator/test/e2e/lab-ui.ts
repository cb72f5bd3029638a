// What the end-to-end files share: `serve` with the real backend and a real guest, the built
// renderer in Debian's chromium (a fresh profile), and the ways the tests read and drive the
// page. Each file that calls openLabUi() gets its own server, guest and browser, so each runs
// alone. Screenshots go to test-results/ to be looked at.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { LabBackend } from '../../src/api.ts';
import { createBackend } from '../../src/backend.ts';
import { repoRoot } from '../../src/image.ts';
import { startServer, type RunningServer } from '../../src/serve.ts';

const results = path.join(repoRoot, 'test-results');
const staticDir = path.join(repoRoot, 'renderer', 'dist');

/** How many whole lines of `text` are exactly `line`. */
export function linesEqual(text: string, line: string): number {
  return text.split('\n').filter((l) => l.trimEnd() === line).length;
}

/** One lab in one browser, for one test file; its fields are set by the file's `before` hook. */
export class LabUi {
  backend!: LabBackend;
  server!: RunningServer;
  context!: BrowserContext;
  page!: Page;
  /** The host folder shared as /root/work; it holds hello.txt ("kept on the host"). */
  workspace!: string;
  /** Errors the page logged or threw. */
  readonly pageErrors: string[] = [];
  private profile?: string;

  /** `emptyWorkspace`: start with an empty workspace folder, which the backend makes the exercise's. */
  async open(opts: { emptyWorkspace?: boolean } = {}): Promise<void> {
    if (!existsSync(path.join(staticDir, 'index.html'))) {
      const r = spawnSync('npm', ['run', '-s', 'build:renderer'], { cwd: repoRoot, stdio: 'inherit' });
      assert.equal(r.status, 0, 'building the renderer failed');
    }
    mkdirSync(results, { recursive: true });
    this.workspace = mkdtempSync(path.join(os.tmpdir(), 'farfetchd-workspace-'));
    if (!opts.emptyWorkspace) {
      writeFileSync(path.join(this.workspace, 'hello.txt'), 'kept on the host\n');
      markWelcomeSeen(this.workspace);
    }
    this.backend = createBackend({ workspace: this.workspace });
    this.server = await startServer({ backend: this.backend, staticDir });
    // A fresh profile every run: no remembered theme or font size from an earlier run.
    this.profile = mkdtempSync(path.join(os.tmpdir(), 'farfetchd-chromium-'));
    this.context = await chromium.launchPersistentContext(this.profile, {
      executablePath: '/usr/bin/chromium',
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
      viewport: { width: 1280, height: 800 },
    });
    if (!opts.emptyWorkspace) await hideExercisePane(this.context);
    this.page = this.context.pages()[0] ?? (await this.context.newPage());
    this.page.on('dialog', (dialog) => dialog.accept());
    this.page.on('pageerror', (err) => this.pageErrors.push(err.message));
    this.page.on('console', (msg) => {
      if (msg.type() === 'error') this.pageErrors.push(msg.text());
    });
  }

  async close(): Promise<void> {
    await this.context?.close();
    await this.server?.close();
    await this.backend?.dispose();
    if (this.workspace) rmSync(this.workspace, { recursive: true, force: true });
    if (this.profile) rmSync(this.profile, { recursive: true, force: true });
  }

  /** Opens the lab's page and waits until the guest is ready. */
  async visit(): Promise<void> {
    await this.page.goto(this.server.url);
    await this.waitForState('ready');
  }

  /** What the terminal shows, through the page's test hook (xterm's buffer as text). */
  async terminalText(on: Page = this.page): Promise<string> {
    return on.evaluate(() =>
      (
        window as unknown as { farfetchdLabDebug: { terminalText(): string } }
      ).farfetchdLabDebug.terminalText(),
    );
  }

  async waitForText(expect: RegExp, what: string, timeoutMs = 30_000, on: Page = this.page): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < deadline) {
      text = await this.terminalText(on);
      if (expect.test(text)) return text;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`terminal never showed ${expect} after ${what}; it shows:\n${text.trimEnd().slice(-1500)}`);
  }

  /** Whether the keyboard is the terminal's (xterm's hidden textarea has the focus). */
  async terminalHasFocus(on: Page = this.page): Promise<boolean> {
    return on.evaluate(() => document.activeElement?.classList.contains('xterm-helper-textarea') ?? false);
  }

  /** Types a command into the terminal and waits until the screen matches `expect`. */
  async typeAndWait(command: string, expect: RegExp, timeoutMs = 30_000): Promise<string> {
    await this.page.getByTestId('terminal').click();
    await this.page.keyboard.type(command);
    await this.page.keyboard.press('Enter');
    return this.waitForText(expect, `'${command}'`, timeoutMs);
  }

  async waitForState(state: string, timeoutMs = 120_000, on: Page = this.page): Promise<void> {
    await on
      .getByTestId('vm-state')
      .filter({ hasText: new RegExp(`^\\s*${state}\\s*$`, 'i') })
      .waitFor({ timeout: timeoutMs });
  }

  /** Saves a screenshot of the page as test-results/NAME. */
  async shot(name: string): Promise<void> {
    await this.page.screenshot({ path: path.join(results, name) });
  }
}

/**
 * A LabUi opened before the calling file's tests and closed after them; with `visit`, its page
 * is already on the lab with the guest ready (in the same hook: node does not wait for one
 * top-level `before` hook before starting the next).
 */
export function openLabUi(opts: { visit?: boolean; emptyWorkspace?: boolean } = {}): LabUi {
  const ui = new LabUi();
  before(async () => {
    await ui.open({ emptyWorkspace: opts.emptyWorkspace });
    if (opts.visit) await ui.visit();
  });
  after(() => ui.close());
  return ui;
}

/** A returning user: the welcome page (exercise.test.ts's first launch) was seen before. */
export function markWelcomeSeen(workspace: string): void {
  mkdirSync(path.join(workspace, '.farfetchd-lab'));
  writeFileSync(
    path.join(workspace, '.farfetchd-lab', 'progress.json'),
    JSON.stringify({ welcomeSeen: true, steps: {} }) + '\n',
  );
}

/**
 * The terminal's and the panels' own tests want the terminal's whole width: the exercise pane starts
 * hidden (a preference the page keeps; set only when none is stored, so reloads keep what a test set).
 */
export async function hideExercisePane(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const key = 'farfetchd-lab.preferences';
    if (!localStorage.getItem(key)) localStorage.setItem(key, JSON.stringify({ exerciseOpen: false }));
  });
}
