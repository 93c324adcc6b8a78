// The web page in Debian's Chromium (headless), driven by playwright-core
// from tests/web/node_modules, against a real orfeas server.
//
//   node test_page.mjs main URL IMAGE OUTDIR         generate, view, jobs, ?job=, error case
//   node test_page.mjs key URL KEY OUTDIR            the API key prompt (server with --api-key)
//
// Prints one line per check; exits 1 on the first failure.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const { chromium } = createRequire(import.meta.url)('playwright-core');

const CHROMIUM = process.env.ORFEAS_CHROMIUM || '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // WebGL on the CPU (SwiftShader): the viewer really renders.
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];
const TIMEOUT = 120_000;

const [mode, base, third, outdir] = process.argv.slice(2);
let failures = 0;
function check(ok, what, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ': ' + detail : ''}`);
  if (!ok) {
    failures++;
    throw new Error(what);
  }
}

async function apiGet(p, key) {
  const res = await fetch(base + p, { headers: key ? { Authorization: 'Bearer ' + key } : {} });
  return { status: res.status, json: res.headers.get('content-type')?.includes('json') ? await res.json() : null };
}

// Records every stage the page displays (body[data-stage] changes).
function recordStages() {
  window.__stages = [];
  new MutationObserver(() => {
    const s = document.body.dataset.stage;
    if (s && window.__stages[window.__stages.length - 1] !== s) window.__stages.push(s);
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-stage'] });
}

// Share of canvas pixels that differ from the background: the model is drawn.
async function drawnShare(page) {
  return page.evaluate(() => {
    const src = document.querySelector('#viewer canvas');
    if (!src) return 0;
    const c = document.createElement('canvas');
    c.width = 200;
    c.height = 150;
    const ctx = c.getContext('2d');
    ctx.drawImage(src, 0, 0, c.width, c.height);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let differ = 0;
    for (let i = 0; i < d.length; i += 4)
      if (Math.abs(d[i] - 0xf3) + Math.abs(d[i + 1] - 0xf4) + Math.abs(d[i + 2] - 0xf6) > 30) differ++;
    return differ / (d.length / 4);
  });
}

async function shot(page, name) {
  const file = path.join(outdir, name);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
}

function watchErrors(page, errors) {
  page.on('pageerror', (e) => errors.push(String(e)));
}

async function mainScenario(context) {
  const image = third; // apple.jpg
  const errors = [];
  const page = await context.newPage();
  watchErrors(page, errors);
  await page.addInitScript(recordStages);
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.goto(base + '/');
  check((await page.title()).includes('orfeas'), 'page loads');
  await page.waitForFunction(() => document.querySelector('#gpu dt'), null, { timeout: TIMEOUT });
  const cacheStatus = (await apiGet('/api/v1/cache/stats')).status;
  const cacheText = await page.textContent('#cache');
  check(
    cacheStatus === 404 ? cacheText === 'cache: not enabled' : cacheText.startsWith('cache ('),
    'cache panel',
    cacheText,
  );

  // Upload through the file input, generate, wait for the final level.
  await page.setInputFiles('#file', image);
  await page.waitForSelector('#preview:not([hidden])');
  await page.getByRole('button', { name: 'Generate' }).click();
  await page.waitForSelector('body[data-viewer="ready"][data-job]', { timeout: TIMEOUT });
  const data = await page.evaluate(() => ({ ...document.body.dataset, stages: window.__stages }));
  check(data.webgl === '1', 'WebGL renderer (SwiftShader)');
  const job = (await apiGet(`/api/v1/jobs/${data.job}`)).json;
  check(job && job.status === 'completed', 'job completed', data.job);
  check(Number(data.triangles) === job.result.triangles, 'data-triangles equals the API count',
    `${data.triangles} vs ${job.result.triangles}`);
  const stages = data.stages.map((s) => s.split('/').map(Number));
  const total = stages.length ? stages[0][1] : 0;
  // Coarse first; a cached top level may finish first and skip the rest.
  check(
    stages.length >= 1 && stages.every((s, i) => i === 0 || s[0] > stages[i - 1][0]) &&
      stages[stages.length - 1][0] === total,
    'progressive stages shown coarse first',
    data.stages.join(' '),
  );
  check((await page.textContent('#progress-text')).includes(`stage ${total}/${total}`), 'stage text');
  const share = await drawnShare(page);
  check(share > 0.02, 'the model is drawn', `${(share * 100).toFixed(1)}% of the canvas`);
  const shown = await page.textContent('#stat-triangles');
  check(shown.replace(/,/g, '') === data.triangles, 'triangle count shown', shown);
  const bbox = await page.textContent('#stat-bbox');
  const dims = bbox.split('×').map(Number);
  check(dims.length === 3 && dims.every((v, i) => Math.abs(v - job.result.bbox_mm[i]) < 0.5), 'bbox shown', bbox);
  check(new URL(page.url()).searchParams.get('job') === data.job, 'URL names the job');
  await shot(page, 'page-generated.png');

  // Viewer controls: wireframe toggles, reset keeps the model.
  await page.getByLabel('Wireframe').check();
  await page.getByRole('button', { name: 'Reset view' }).click();
  check((await drawnShare(page)) > 0.005, 'wireframe view drawn');
  await shot(page, 'page-wireframe.png');
  await page.getByLabel('Wireframe').uncheck();

  // A download asks the server for that format.
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: TIMEOUT }),
    page.getByRole('button', { name: 'STL' }).click(),
  ]);
  const stl = await download.path();
  const bytes = readFileSync(stl);
  check(bytes.length === 84 + 50 * bytes.readUInt32LE(80) && bytes.readUInt32LE(80) === job.result.triangles,
    'STL download', `${download.suggestedFilename()}, ${bytes.length} bytes`);

  // The jobs panel lists it with its thumbnail.
  await page.click('#jobs-refresh');
  const thumb = await page.waitForSelector(`#jobs button[data-job="${data.job}"] img[src^="blob:"]`, { timeout: TIMEOUT });
  check(!!thumb, 'job listed with its thumbnail');
  check(await page.$eval(`#jobs button[data-job="${data.job}"]`, (b) => b.getAttribute('aria-current') === 'true'),
    'current job marked');

  // /?job=<id> opens it directly.
  const page2 = await context.newPage();
  watchErrors(page2, errors);
  await page2.setViewportSize({ width: 1400, height: 900 });
  await page2.goto(`${base}/?job=${data.job}`);
  await page2.waitForSelector('body[data-viewer="ready"][data-job]', { timeout: TIMEOUT });
  const d2 = await page2.evaluate(() => ({ ...document.body.dataset }));
  check(d2.job === data.job && d2.triangles === data.triangles, '/?job=<id> displays the job', d2.triangles);
  check((await drawnShare(page2)) > 0.02, '/?job=<id> model drawn');
  await shot(page2, 'page-job.png');

  // A narrow window: one column, nothing wider than the window.
  await page2.setViewportSize({ width: 400, height: 800 });
  await page2.waitForTimeout(300);
  const overflow = await page2.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, 'narrow window: no horizontal scroll', `${overflow}px`);
  await shot(page2, 'page-narrow.png');

  // An error: a file that is not an image.
  const page3 = await context.newPage();
  watchErrors(page3, errors);
  await page3.setViewportSize({ width: 1400, height: 900 });
  await page3.goto(base + '/');
  await page3.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('this is not an image\n') });
  await page3.getByRole('button', { name: 'Generate' }).click();
  await page3.waitForSelector('body[data-viewer="error"]', { timeout: TIMEOUT });
  const message = await page3.textContent('#error');
  check(await page3.isVisible('#error'), 'error shown', message);
  check(/PNG, JPEG or WebP/.test(message) && /\((415|422) /.test(message), 'error is readable');
  await shot(page3, 'page-error.png');

  // An unknown job id.
  await page3.goto(`${base}/?job=00000000-0000-4000-8000-000000000000`);
  await page3.waitForSelector('body[data-viewer="error"]', { timeout: TIMEOUT });
  check(/404/.test(await page3.textContent('#error')), 'unknown job: 404 shown');

  check(errors.length === 0, 'no uncaught page errors', errors.join(' | '));
}

async function keyScenario(context) {
  const key = third;
  const errors = [];
  const page = await context.newPage();
  watchErrors(page, errors);
  await page.goto(base + '/');
  // The page itself is public; its first API call gets 401 and asks.
  await page.waitForSelector('#key-dialog[open]', { timeout: TIMEOUT });
  check(true, 'key prompt on 401');
  await page.fill('#key-input', key);
  await page.click('#key-dialog button[value="save"]');
  await page.waitForFunction(() => document.querySelector('#gpu dt'), null, { timeout: TIMEOUT });
  check(true, 'GPU panel loads with the key');
  const stored = await page.evaluate(() => localStorage.getItem('orfeas.apiKey'));
  check(stored === key, 'key kept in localStorage');
  // A reload asks no more.
  await page.reload();
  await page.waitForFunction(() => document.querySelector('#gpu dt'), null, { timeout: TIMEOUT });
  check(!(await page.isVisible('#key-dialog')), 'no prompt once the key is stored');
  // This server is a cluster node whose Redis cannot be reached: the panel
  // names the node and says so.
  await page.waitForFunction(() => document.querySelector('#gpu').textContent.includes('Cluster'), null, {
    timeout: TIMEOUT,
  });
  const panel = await page.textContent('#gpu');
  check(panel.includes('web-node') && panel.includes('Redis down'), 'cluster node and Redis state in the panel', panel);
  await shot(page, 'page-key.png');
  check(errors.length === 0, 'no uncaught page errors', errors.join(' | '));
}

const profile = mkdtempSync(path.join(tmpdir(), 'orfeas-chromium-'));
let context;
try {
  statSync(CHROMIUM);
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    acceptDownloads: true,
    timeout: TIMEOUT,
  });
  if (mode === 'main') await mainScenario(context);
  else if (mode === 'key') await keyScenario(context);
  else throw new Error(`unknown mode ${mode}`);
} catch (e) {
  if (!failures) console.log(`FAIL ${e.message}`);
  failures++;
} finally {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failures ? 1 : 0);
