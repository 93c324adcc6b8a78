// Talking to the orfeas API: the API key, fetch with auth, readable errors.

const KEY_STORAGE = 'orfeas.apiKey';

export class ApiError extends Error {
  constructor(status, code, message, detail = '') {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

export function apiKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || '';
  } catch {
    return '';
  }
}

export function setApiKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage may be disabled; the key then lasts for this page only.
  }
}

// What to tell a person for each API error code (DESIGN §6).
const FRIENDLY = {
  invalid_parameter: 'A parameter is out of range.',
  unauthorized: 'The server needs an API key (or the key is wrong).',
  not_found: 'Not found (the job may have expired).',
  method_not_allowed: 'The server does not allow that request.',
  not_ready: 'The job is not finished yet.',
  payload_too_large: 'The file is too large for this server.',
  image_too_large: 'The image has too many pixels for this server.',
  unsupported_media_type: 'Unsupported file type: use a PNG, JPEG or WebP image.',
  invalid_image: 'That file is not an image orfeas can read (PNG, JPEG or WebP).',
  no_foreground: 'No object was found in the image; try Background: keep.',
  busy: 'The server is busy; try again in a moment.',
  storage_full: 'The server is out of storage.',
  gpu_out_of_memory: 'The GPU ran out of memory; try a lower quality.',
  cancelled: 'The job was cancelled.',
  timeout: 'The job took too long and was stopped.',
  internal: 'The server hit an internal error.',
};

// An ApiError from the API's {"error":{code,message,status}}.
export function errorFromJson(body, status = 0) {
  const e = (body && body.error) || {};
  const code = e.code || 'http_' + status;
  const st = e.status || status;
  const friendly = FRIENDLY[code] || `The server answered ${st || 'an error'}.`;
  return new ApiError(st, code, friendly, e.message || '');
}

async function errorFromResponse(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  const err = errorFromJson(body, res.status);
  const retry = res.headers.get('Retry-After');
  if (retry && res.status === 503) err.message += ` (retry after ${retry} s)`;
  return err;
}

// A person-readable line for any error.
export function describe(err) {
  if (err instanceof ApiError) {
    const parts = [err.message];
    if (err.detail && err.detail !== err.message) parts.push(err.detail);
    if (err.status) parts.push(`(${err.status} ${err.code})`);
    return parts.join(' ');
  }
  if (err && err.name === 'AbortError') return 'Stopped.';
  return String((err && err.message) || err);
}

let askForKey = null; // () => Promise<boolean>: a key was entered
export function onUnauthorized(fn) {
  askForKey = fn;
}

// fetch with the API key; throws ApiError on an error status. On 401 it asks
// for a key once (when prompt is true) and retries.
export async function api(path, options = {}, { prompt = true } = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = new Headers(options.headers || {});
    const key = apiKey();
    if (key) headers.set('Authorization', 'Bearer ' + key);
    let res;
    try {
      res = await fetch(path, { ...options, headers });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, 'network', 'Cannot reach the server.', e.message);
    }
    if (res.status === 401 && attempt === 0 && prompt && askForKey && (await askForKey())) continue;
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }
}

export async function apiJson(path, options, flags) {
  return (await api(path, options, flags)).json();
}

// Yields each JSON object of an NDJSON response as it arrives.
export async function* ndjson(res) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) yield JSON.parse(line);
    }
  }
  if (buffered.trim()) yield JSON.parse(buffered);
}

export function base64ToBytes(text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
