// The chat page in a real browser (Debian's headless Chromium driven by
// playwright-core): load /, send a message, watch the reply stream in, press
// Stop, check the server freed the slot, save a screenshot.
// Usage: node chat_page_test.mjs FORGE_BIN DATA_DIR OUT_DIR
// The model is a 2-layer random SmolLM2-135M shape made with `forge synth`
// (its real vocabulary and chat template): slow enough (~100 tokens/s) that
// Stop lands mid-reply.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { need, startServer, fail } from './serve.mjs';

const [forge, data, out] = process.argv.slice(2);
if (!forge || !data || !out) fail('usage: node chat_page_test.mjs FORGE_BIN DATA_DIR OUT_DIR');
const { chromium } = await need('playwright-core');
const browserPath = '/usr/bin/chromium';
if (!existsSync(browserPath)) fail('missing /usr/bin/chromium (Debian package chromium): run scripts/setup.sh');

const model = join(out, 'chat-page-smollm2-2layer-q8_0.gguf');
if (!existsSync(model)) {
  execFileSync(forge, ['synth', '--preset', 'smollm2-135m', '--type', 'Q8_0', '--layers', '2', '-o', model, '--data', data,
                       '-t', '1'], { stdio: 'ignore' });
}
const server = await startServer(forge, ['-m', model, '-t', '1', '--parallel', '1']);
const profile = mkdtempSync(join(tmpdir(), 'forge-chromium-'));
let context = null;
let failed = false;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: browserPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 720 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.url + '/');
  assert.equal(await page.title(), 'Forge chat');
  await page.waitForFunction(() => document.getElementById('model').textContent.includes('context'));

  await page.fill('#system', 'You are a storyteller.');
  await page.fill('#max-tokens', '2000');
  await page.fill('#input', 'Tell me a long story.');
  await page.click('#send');
  // The reply streams in: text appears and grows while Stop is enabled.
  await page.waitForFunction(() => (document.querySelector('.msg.assistant')?.textContent.length ?? 0) > 20, null,
                             { timeout: 20000 });
  assert.equal(await page.isEnabled('#stop'), true);
  const early = (await page.textContent('.msg.assistant')).length;
  await page.waitForFunction((n) => document.querySelector('.msg.assistant').textContent.length > n + 10, early);
  await page.click('#stop');
  await page.waitForFunction(() => !document.getElementById('send').disabled);
  const stopped = await page.textContent('.msg.assistant');
  assert.ok(stopped.length > 0);
  await page.waitForTimeout(500);
  assert.equal(await page.textContent('.msg.assistant'), stopped, 'nothing arrives after Stop');
  assert.match(await page.textContent('#speed'), /tokens\/s/);
  // The server noticed the closed connection and freed the slot.
  let busy = -1;
  for (let i = 0; i < 50 && busy !== 0; ++i) {
    const metrics = await (await fetch(server.url + '/metrics')).text();
    busy = Number(metrics.match(/^forge_slots_busy (\S+)$/m)[1]);
    if (busy !== 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(busy, 0, 'the slot is free after Stop');
  const shot = join(out, 'chat_page.png');
  await page.screenshot({ path: shot });
  assert.deepEqual(errors, []);
  console.log(`chat page: streamed ${stopped.length} characters, stopped; screenshot ${shot}`);
} catch (e) {
  failed = true;
  console.error(e);
  console.error(server.log());
} finally {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
  const { code } = await server.stop();
  if (code !== 0) fail(`forge serve exited with ${code} on SIGTERM`);
}
process.exit(failed ? 1 : 0);
