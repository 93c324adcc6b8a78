// The orfeas page: pick an image, generate progressively, view, download,
// browse recent jobs, watch the GPU and the cache.
import {
  api,
  apiJson,
  apiKey,
  setApiKey,
  onUnauthorized,
  describe,
  errorFromJson,
  ndjson,
  base64ToBytes,
  JOB_ID,
  ApiError,
} from './api.js';
import { Viewer } from './viewer.js';

const $ = (id) => document.getElementById(id);
const body = document.body;
const POLL_MS = 5000;

const state = {
  file: null, // the image to send
  previewUrl: null,
  jobId: null, // the job of the model on display (downloads)
  busy: null, // AbortController of the running generation or job load
  keyDeclined: false, // the person cancelled the key prompt: stop asking on polls
  thumbs: new Map(), // job id -> object URL
};

const viewer = new Viewer($('viewer'));

// --- status shown to people and to tests ---

function showError(err) {
  const box = $('error');
  box.textContent = describe(err);
  box.hidden = false;
  body.dataset.viewer = 'error';
  body.dataset.error = err instanceof ApiError ? err.code : 'client';
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
  delete body.dataset.error;
}

function setProgress(percent, text) {
  $('progress-box').hidden = percent === null;
  if (percent !== null) $('progress').value = percent;
  $('progress-text').textContent = text || '';
}

function setJob(id) {
  state.jobId = id;
  if (id) body.dataset.job = id;
  else delete body.dataset.job;
  $('stat-job').textContent = id ? id.slice(0, 8) : '–';
  $('stat-job').title = id || '';
  document.querySelectorAll('.downloads button').forEach((b) => (b.disabled = !id));
  document.querySelectorAll('#jobs button[data-job]').forEach((b) => {
    if (b.dataset.job === id) b.setAttribute('aria-current', 'true');
    else b.removeAttribute('aria-current');
  });
}

const fmt = new Intl.NumberFormat('en');

async function display(bytes, options) {
  const info = await viewer.show(bytes, options);
  $('viewer-empty').hidden = true;
  $('stat-triangles').textContent = fmt.format(info.triangles);
  $('stat-bbox').textContent = info.size.map((v) => v.toFixed(1)).join(' × ');
  $('stat-grid').textContent = viewer.gridStep ? `${viewer.gridStep} mm squares` : '–';
  body.dataset.triangles = String(info.triangles);
  body.dataset.webgl = viewer.webgl ? '1' : '0';
  body.dataset.viewer = 'ready';
  return info;
}

// --- the image ---

function pickFile(file) {
  if (!file) return;
  state.file = file;
  if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
  state.previewUrl = URL.createObjectURL(file);
  const img = $('preview');
  img.hidden = false;
  img.alt = `Preview of ${file.name || 'the pasted image'}`;
  img.onerror = () => {
    img.hidden = true;
  };
  img.src = state.previewUrl;
  $('file-name').textContent = `${file.name || 'pasted image'} · ${fmt.format(file.size)} bytes`;
  $('generate').disabled = !!state.busy;
  clearError();
}

$('file').addEventListener('change', (e) => pickFile(e.target.files[0]));
const drop = $('drop');
drop.addEventListener('click', (e) => {
  if (e.target.tagName !== 'LABEL') $('file').click();
});
drop.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    $('file').click();
  }
});
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  pickFile(e.dataTransfer.files[0]);
});
document.addEventListener('paste', (e) => {
  const item = [...(e.clipboardData?.items || [])].find((i) => i.type.startsWith('image/'));
  if (item) pickFile(item.getAsFile());
});

// --- parameters ---

for (const [id, digits] of [
  ['quality', 0],
  ['detail', 2],
]) {
  const input = $(id);
  const sync = () => ($(`${id}-out`).textContent = Number(input.value).toFixed(digits));
  input.addEventListener('input', sync);
  sync();
}

// --- generate (progressive: each level replaces the model, coarse first) ---

$('params').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (state.busy) {
    state.busy.abort();
    return;
  }
  if (!state.file) return;
  const form = new FormData($('params'));
  form.append('image', state.file, state.file.name || 'image');
  await run(async (signal) => {
    const res = await api('/api/v1/generate-progressive', { method: 'POST', body: form, signal });
    setProgress(0, 'Waiting for the first level…');
    let first = true;
    let final = null;
    for await (const line of ndjson(res)) {
      if (line.error) throw errorFromJson(line);
      const secs = (line.elapsed_ms / 1000).toFixed(1);
      setProgress(
        line.progress,
        `Stage ${line.stage}/${line.stages} · ${Math.round(line.progress)}% · ` +
          `${line.resolution} px · ${fmt.format(line.triangles)} triangles · ${secs} s`,
      );
      body.dataset.stage = `${line.stage}/${line.stages}`;
      await display(base64ToBytes(line.data), { fit: first });
      first = false;
      if (line.final) final = line;
    }
    if (!final) throw new ApiError(0, 'stream_ended', 'The server ended the stream early.');
    setJob(final.job_id);
    history.replaceState(null, '', `/?job=${final.job_id}`);
    setProgress(100, `Done: stage ${final.stage}/${final.stages}, ${fmt.format(final.triangles)} triangles.`);
    refreshJobs();
  });
});

// Runs one generation or job load: the button becomes Stop, errors shown.
async function run(task) {
  const controller = new AbortController();
  state.busy = controller;
  const button = $('generate');
  button.textContent = 'Stop';
  button.disabled = false;
  clearError();
  setJob(null);
  body.dataset.viewer = 'loading';
  delete body.dataset.triangles;
  delete body.dataset.stage;
  try {
    await task(controller.signal);
  } catch (err) {
    if (state.busy !== controller) return; // superseded by a newer run
    if (err.name === 'AbortError') {
      setProgress(null);
      body.dataset.viewer = viewer.model ? 'ready' : 'idle';
    } else {
      setProgress(null);
      showError(err);
    }
  } finally {
    if (state.busy === controller) {
      state.busy = null;
      button.textContent = 'Generate';
      button.disabled = !state.file;
    }
  }
}

// --- a job by id (the jobs panel, /?job=<id>) ---

async function openJob(id) {
  if (!JOB_ID.test(id)) {
    showError(new ApiError(400, 'invalid_parameter', 'That is not a job id.', id));
    return;
  }
  if (state.busy) state.busy.abort();
  await run(async (signal) => {
    let job;
    for (;;) {
      job = await apiJson(`/api/v1/jobs/${id}`, { signal });
      if (job.status !== 'queued' && job.status !== 'running') break;
      setProgress(job.progress, `Job ${id.slice(0, 8)}: ${job.status}, ${job.stage} · ${Math.round(job.progress)}%`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (signal.aborted) throw new DOMException('stopped', 'AbortError');
    }
    if (job.status !== 'completed') throw errorFromJson({ error: job.error || { code: job.status } });
    setProgress(null);
    const res = await api(`/api/v1/jobs/${id}/result?format=glb`, { signal });
    await display(await res.arrayBuffer(), { fit: true });
    setJob(id);
  });
}

// --- downloads: each format asked of the server (cache hits are instant) ---

document.querySelectorAll('.downloads button').forEach((button) => {
  button.addEventListener('click', async () => {
    const id = state.jobId;
    const format = button.dataset.format;
    if (!id) return;
    const label = button.textContent;
    button.disabled = true;
    button.textContent = '…';
    try {
      const res = await api(`/api/v1/jobs/${id}/result?format=${format}`);
      const blob = await res.blob();
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `orfeas-${id.slice(0, 8)}.${format}`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (err) {
      showError(err);
    } finally {
      button.textContent = label;
      button.disabled = !state.jobId;
    }
  });
});

// --- viewer controls ---

$('reset-view').addEventListener('click', () => viewer.fit());
for (const option of ['wireframe', 'colors', 'grid']) {
  const box = $(option);
  box.addEventListener('change', () => viewer.set(option, box.checked));
  viewer.set(option, box.checked);
}
if (!viewer.webgl) {
  $('viewer-empty').textContent = `This browser cannot show 3D (WebGL: ${viewer.webglError}). ` +
    'Models still load: their size and triangle count are shown below.';
}

// --- jobs panel ---

async function thumbnail(id) {
  if (!state.thumbs.has(id)) {
    const p = api(`/api/v1/jobs/${id}/thumbnail.png`, {}, { prompt: false })
      .then((res) => res.blob())
      .then((blob) => URL.createObjectURL(blob))
      .catch(() => {
        state.thumbs.delete(id); // try again on the next refresh
        return null;
      });
    state.thumbs.set(id, p);
  }
  return state.thumbs.get(id);
}

function timeText(unix) {
  if (!unix) return '';
  const d = new Date(unix * 1000);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

async function refreshJobs() {
  let jobs;
  try {
    jobs = (await apiJson('/api/v1/jobs?limit=12', {}, { prompt: !state.keyDeclined })).jobs;
  } catch (err) {
    $('jobs-empty').hidden = false;
    $('jobs-empty').textContent = `Jobs: ${describe(err)}`;
    return;
  }
  const list = $('jobs');
  const focused = document.activeElement?.dataset?.job; // keep keyboard focus across refreshes
  list.replaceChildren();
  $('jobs-empty').hidden = jobs.length > 0;
  $('jobs-empty').textContent = 'No jobs yet.';
  for (const job of jobs) {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.job = job.job_id;
    const r = job.result;
    const what = r ? `${fmt.format(r.triangles)} tri · ${r.format.toUpperCase()}` : job.stage || '';
    button.setAttribute('aria-label', `Open job ${job.job_id.slice(0, 8)}, ${job.status}`);
    if (job.job_id === state.jobId) button.setAttribute('aria-current', 'true');
    const img = document.createElement('img');
    img.alt = '';
    img.width = img.height = 56;
    const text = document.createElement('span');
    text.className = 'job-text';
    text.innerHTML = '<span class="job-id"></span><span class="badge"></span><span class="muted job-meta"></span>';
    text.querySelector('.job-id').textContent = job.job_id.slice(0, 8);
    const badge = text.querySelector('.badge');
    badge.textContent = job.status === 'running' ? `running ${Math.round(job.progress)}%` : job.status;
    badge.dataset.status = job.status;
    text.querySelector('.job-meta').textContent = `${timeText(job.created)} · ${what}`;
    button.append(img, text);
    button.addEventListener('click', () => openJob(job.job_id));
    li.append(button);
    list.append(li);
    if (focused === job.job_id) button.focus();
    if (job.status === 'completed') thumbnail(job.job_id).then((url) => url && (img.src = url));
  }
}
$('jobs-refresh').addEventListener('click', refreshJobs);

// --- GPU and cache panel ---

function gib(bytes) {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

async function refreshGpu() {
  const dl = $('gpu');
  try {
    const s = await apiJson('/api/v1/gpu/stats', {}, { prompt: !state.keyDeclined });
    const g = s.gpu || {};
    const used = (g.total_bytes || 0) - (g.free_bytes || 0);
    const rows = [
      ['Device', g.available ? g.name : `${g.name || g.backend || 'none'} (${g.message || 'no GPU'})`],
      ['Memory', g.total_bytes ? `${gib(used)} / ${gib(g.total_bytes)} (${g.usage_percent}%)` : '–'],
      ['Precision', s.recommended_precision || '–'],
      ['Queue', String(s.queue_depth ?? '–')],
      ['OOM events', String(g.oom_events ?? 0)],
    ];
    // A cluster node (--redis) says which node this is and what it sees.
    const h = await fetch('/api/health')
      .then((r) => r.json())
      .catch(() => ({}));
    if (h.node && h.cluster) {
      const c = h.cluster;
      const known = (n) => (n >= 0 ? fmt.format(n) : '?');
      rows.push(['Node', h.node]);
      rows.push([
        'Cluster',
        `Redis ${c.redis}, ${known(c.nodes_alive)} nodes alive, ` +
          `${known(c.stream_length)} in the stream, ${known(c.pending)} pending`,
      ]);
    }
    dl.replaceChildren(
      ...rows.flatMap(([k, v]) => {
        const dt = document.createElement('dt');
        const dd = document.createElement('dd');
        dt.textContent = k;
        dd.textContent = v;
        return [dt, dd];
      }),
    );
  } catch (err) {
    dl.replaceChildren();
    dl.textContent = `GPU: ${describe(err)}`;
  }
  try {
    const c = await apiJson('/api/v1/cache/stats', {}, { prompt: false });
    const rate = c.hit_rate !== undefined ? `${(c.hit_rate * 100).toFixed(0)}% hits` : '';
    $('cache').textContent =
      `cache (${c.backend || 'on'}): ${fmt.format(c.entries ?? 0)} entries, ` +
      `${((c.bytes || 0) / 2 ** 20).toFixed(1)} MiB, ${rate}`;
  } catch (err) {
    $('cache').textContent = err.status === 404 ? 'cache: not enabled' : `cache: ${describe(err)}`;
  }
}

// --- API key ---

let keyPrompt = null;
function askKey() {
  if (!keyPrompt) {
    keyPrompt = new Promise((resolve) => {
      const dialog = $('key-dialog');
      $('key-input').value = apiKey();
      dialog.addEventListener(
        'close',
        () => {
          keyPrompt = null;
          const action = dialog.returnValue;
          if (action === 'save' && $('key-input').value.trim()) {
            setApiKey($('key-input').value.trim());
            state.keyDeclined = false;
            resolve(true);
            refreshJobs();
            refreshGpu();
            return;
          }
          if (action === 'clear') setApiKey('');
          state.keyDeclined = true;
          resolve(false);
        },
        { once: true },
      );
      dialog.returnValue = 'cancel';
      dialog.showModal();
    });
  }
  return keyPrompt;
}
onUnauthorized(askKey);
$('key-button').addEventListener('click', () => {
  state.keyDeclined = false;
  askKey();
});

// --- start ---

async function start() {
  try {
    const h = await (await fetch('/api/health')).json();
    $('server-info').textContent = [h.version && `v${h.version}`, h.device || h.backend, h.status]
      .filter(Boolean)
      .join(' · ');
  } catch {
    $('server-info').textContent = 'server unreachable';
  }
  const id = new URLSearchParams(location.search).get('job');
  if (id) openJob(id);
  await refreshJobs();
  await refreshGpu();
  setInterval(() => {
    if (document.hidden) return;
    refreshGpu();
    refreshJobs();
  }, POLL_MS);
}
start();
