// The web page in a real headless Chromium (Debian's), driven by playwright-core:
// load the page, upload a prompt, synthesize (streaming and not), save and use a voice, and check
// that the <audio> element holds a playable 24 kHz mono 16-bit WAV of the expected length.
// Screenshots go to ARTIFACTS (build/test-artifacts/server-page/).
//
//   node page_test.js BASE_URL BUNDLE_DIR PROMPT_WAV SOURCE_WAV ARTIFACTS
//   env PLAYWRIGHT_CORE=third_party/node/playwright-core CHROMIUM=/usr/bin/chromium
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const assert = require('assert');

const [base, bundle, promptWav, sourceWav, artifacts] = process.argv.slice(2);
const { chromium } = require(path.resolve(process.env.PLAYWRIGHT_CORE || 'third_party/node/playwright-core'));
const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
// One speech token is token_mel_ratio mel frames of hop_length samples (25 Hz at 24 kHz: 960).
const samplesPerToken = config.flow.token_mel_ratio * config.hift.hop_length;
const TOKENS = 25;

let failures = 0;
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

// What the audio element holds: the WAV header fields and whether Chromium can play it.
async function audioInfo(page) {
  return page.evaluate(async () => {
    const a = document.getElementById('output');
    if (a.readyState < 1) await new Promise((ok, bad) => { a.onloadedmetadata = ok; a.onerror = () => bad(new Error('audio error ' + (a.error && a.error.code))); });
    const buf = await (await fetch(a.src)).arrayBuffer();
    const v = new DataView(buf);
    const tag = (o) => String.fromCharCode(...new Uint8Array(buf, o, 4));
    return { riff: tag(0), wave: tag(8), format: v.getUint16(20, true), channels: v.getUint16(22, true), rate: v.getUint32(24, true),
             bits: v.getUint16(34, true), dataBytes: v.getUint32(40, true), bytes: buf.byteLength, duration: a.duration,
             error: a.error ? a.error.code : null, result: JSON.parse(document.body.dataset.result || 'null') };
  });
}

function checkWav(info, tokens) {
  const expected = tokens * samplesPerToken;
  assert.strictEqual(info.riff, 'RIFF');
  assert.strictEqual(info.wave, 'WAVE');
  assert.strictEqual(info.format, 1, 'PCM');
  assert.strictEqual(info.channels, 1);
  assert.strictEqual(info.rate, 24000);
  assert.strictEqual(info.bits, 16);
  assert.strictEqual(info.dataBytes, 2 * expected, `expected ${expected} samples`);
  assert.strictEqual(info.bytes, 44 + 2 * expected);
  assert.strictEqual(info.error, null);
  // Chromium decoded it: its duration is the file's to within one 10 ms frame.
  assert.ok(Math.abs(info.duration - expected / 24000) < 0.01, `duration ${info.duration}`);
}

async function generate(page) {
  await page.evaluate(() => { delete document.body.dataset.result; });
  await page.click('#generate');
  await page.waitForFunction(() => document.body.dataset.result || document.getElementById('status').className === 'error',
                             null, { timeout: 120000 });
  const status = await page.textContent('#status');
  assert.ok(!/Error/.test(status), status);
}

(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cosyvoice-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
    viewport: { width: 1000, height: 1500 },
  });
  const page = context.pages()[0] || await context.newPage();
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) external.push(r.url()); });
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  try {
    await step('page loads offline-safe and names the model', async () => {
      await page.goto(base + '/');
      await page.waitForFunction(() => /Model /.test(document.getElementById('model-line').textContent));
      assert.match(await page.textContent('#model-line'), /24000 Hz/);
      // Every form control has a label (keyboard and screen-reader use).
      const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).map((el) => el.id || el.name));
      assert.deepStrictEqual(unlabelled, []);
      await page.screenshot({ path: path.join(artifacts, '01-loaded.png'), fullPage: true });
    });
    await step('keyboard: Tab reaches the mode radios and the Generate button', async () => {
      const seen = new Set();
      for (let i = 0; i < 60; i++) {
        await page.keyboard.press('Tab');
        seen.add(await page.evaluate(() => document.activeElement.id || document.activeElement.name || document.activeElement.tagName));
      }
      assert.ok(seen.has('mode') && seen.has('generate') && seen.has('dice'), [...seen].join(','));
    });
    await step('dice sets a random seed', async () => {
      await page.click('#dice');
      const seed = Number(await page.inputValue('#seed'));
      assert.ok(seed >= 1 && seed <= 100000000, String(seed));
    });
    await step('zero-shot with an uploaded prompt, streaming: a playable 24 kHz WAV of the expected length', async () => {
      await page.setInputFiles('#prompt-file', promptWav);
      await page.fill('#prompt-text', 'Front center.');
      await page.fill('#text', 'Hello world.');
      await page.click('summary');
      await page.fill('#min-tokens', String(TOKENS));
      await page.fill('#max-tokens', String(TOKENS));
      await generate(page);
      const info = await audioInfo(page);
      checkWav(info, TOKENS);
      assert.ok(info.result.first_audio > 0 && info.result.first_audio <= info.result.total);
      assert.match(await page.textContent('#t-rtf'), /^[0-9.]+$/);
      await page.screenshot({ path: path.join(artifacts, '02-zero-shot-streamed.png'), fullPage: true });
    });
    await step('save this voice, then instruct mode with a dialect preset on it, not streamed', async () => {
      await page.fill('#voice-name', 'front-center');
      await page.click('#save-voice');
      await page.waitForFunction(() => [...document.getElementById('voice').options].some((o) => o.textContent.startsWith('front-center')));
      assert.strictEqual(await page.isHidden('#prompt-box'), true, 'a saved voice replaces the prompt');
      await page.check('input[value=instruct2]');
      await page.selectOption('#preset', '请用四川话表达。');
      assert.strictEqual(await page.inputValue('#instruct'), '请用四川话表达。');
      await page.uncheck('#stream');
      await page.fill('#text', '今天天气不错。');
      await generate(page);
      checkWav(await audioInfo(page), TOKENS);
      await page.screenshot({ path: path.join(artifacts, '03-instruct-saved-voice.png'), fullPage: true });
    });
    await step('voice conversion of a source recording', async () => {
      await page.check('input[value=vc]');
      assert.strictEqual(await page.isHidden('#text-box'), true);
      await page.setInputFiles('#source-file', sourceWav);
      await page.fill('#min-tokens', '');
      await page.fill('#max-tokens', '');
      await generate(page);
      const info = await audioInfo(page);
      assert.strictEqual(info.rate, 24000);
      assert.ok(info.dataBytes > 0 && info.error === null);
      await page.screenshot({ path: path.join(artifacts, '04-voice-conversion.png'), fullPage: true });
    });
    await step('an error is shown, not thrown: zero-shot without a transcript', async () => {
      await page.selectOption('#voice', '');
      await page.check('input[value=zero_shot]');
      await page.fill('#prompt-text', '');
      await page.click('#generate');
      await page.waitForFunction(() => document.getElementById('status').className === 'error');
      assert.match(await page.textContent('#status'), /transcript/);
    });
    await step('nothing was fetched from anywhere else, and no script errors', async () => {
      assert.deepStrictEqual(external, []);
      assert.deepStrictEqual(consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of 400/.test(e)), []);
    });
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(failures ? `${failures} failed` : 'all page checks passed');
  process.exit(failures ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(1); });
