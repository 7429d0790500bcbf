// The cosyvoice-ort web page: the official CosyVoice web UI's modes on this server's API.
// Plain JavaScript, no build step, nothing loaded from elsewhere.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { promptBlob: null, promptName: '', voices: [], controller: null, recorder: null };

const HELP = {
  zero_shot: 'Zero-shot: clone the voice of the prompt (or a saved voice) speaking the text. Needs the transcript of the prompt.',
  cross_lingual: 'Cross-lingual: the voice speaks the text in any language; the transcript is not used.',
  instruct2: 'Instruct: the voice follows an instruction (dialect, emotion, speed). Pick a preset or write one.',
  vc: 'Voice conversion: re-voice the source recording with the chosen voice; no text.',
};

function apiHeaders() {
  const key = $('api-key').value.trim();
  return key ? { Authorization: 'Bearer ' + key } : {};
}

function setStatus(text, isError) {
  const s = $('status');
  s.textContent = text;
  s.className = isError ? 'error' : '';
}

async function errorMessage(res) {
  try {
    const j = await res.json();
    return (j.error && j.error.message) || res.statusText;
  } catch (e) {
    return 'HTTP ' + res.status;
  }
}

function mode() {
  return document.querySelector('input[name=mode]:checked').value;
}

function onModeChange() {
  const m = mode();
  $('mode-help').textContent = HELP[m];
  $('instruct-box').hidden = m !== 'instruct2';
  $('source-box').hidden = m !== 'vc';
  $('text-box').hidden = m === 'vc';
}

// ---- server info and the voice library -------------------------------------------------------
async function loadHealth() {
  try {
    const res = await fetch('/health');
    const h = await res.json();
    $('model-line').textContent = `Model ${h.model} · ${h.sample_rate} Hz · ${h.workers} worker(s) · voices: ${h.voice_store}`;
    $('key-row').hidden = !h.auth_required;
    if (h.auth_required) $('key-row').closest('details').open = true;
  } catch (e) {
    $('model-line').textContent = 'The server does not answer.';
  }
}

async function loadVoices(select) {
  const res = await fetch('/v1/audio/voices', { headers: apiHeaders() });
  if (!res.ok) return;
  state.voices = (await res.json()).voices;
  const sel = $('voice');
  sel.length = 1;
  for (const v of state.voices) {
    const o = document.createElement('option');
    o.value = v.id;
    o.textContent = `${v.name} (${v.duration.toFixed(1)} s${v.transcript ? ': ' + v.transcript.slice(0, 40) : ''})`;
    sel.appendChild(o);
  }
  if (select) sel.value = select;
  onVoiceChange();
}

function onVoiceChange() {
  const saved = $('voice').value !== '';
  $('prompt-box').hidden = saved;
  $('delete-voice').disabled = !saved;
}

async function saveVoice() {
  const name = $('voice-name').value.trim();
  if (!state.promptBlob) return setStatus('Choose or record a prompt first.', true);
  if (!name) return setStatus('Give the voice a name.', true);
  const fd = new FormData();
  fd.append('name', name);
  fd.append('transcript', $('prompt-text').value);
  fd.append('audio', state.promptBlob, state.promptName || 'prompt.wav');
  setStatus('Preparing the voice…');
  const res = await fetch('/v1/audio/voices', { method: 'POST', body: fd, headers: apiHeaders() });
  if (!res.ok) return setStatus('Could not save: ' + (await errorMessage(res)), true);
  const v = await res.json();
  await loadVoices(v.id);
  setStatus(`Saved voice "${v.name}".`);
}

async function deleteVoice() {
  const id = $('voice').value;
  if (!id) return;
  const res = await fetch('/v1/audio/voices/' + encodeURIComponent(id), { method: 'DELETE', headers: apiHeaders() });
  if (!res.ok) return setStatus('Could not delete: ' + (await errorMessage(res)), true);
  await loadVoices('');
  setStatus('Voice deleted.');
}

// ---- microphone: raw samples through Web Audio, written as a WAV the server can read ----------
async function toggleRecord() {
  const btn = $('record');
  if (state.recorder) {
    const r = state.recorder;
    state.recorder = null;
    r.processor.disconnect();
    r.source.disconnect();
    r.stream.getTracks().forEach((t) => t.stop());
    await r.ctx.close();
    const samples = concat(r.chunks);
    setPrompt(new Blob([wavBytes(samples, r.ctx.sampleRate)], { type: 'audio/wav' }), 'microphone.wav');
    btn.setAttribute('aria-pressed', 'false');
    btn.textContent = '● Record from microphone';
    $('record-status').textContent = `Recorded ${(samples.length / r.ctx.sampleRate).toFixed(1)} s.`;
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const ctx = new AudioContext();
    const source = ctx.createMediaStreamSource(stream);
    const processor = ctx.createScriptProcessor(4096, 1, 1);
    const chunks = [];
    processor.onaudioprocess = (e) => chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
    source.connect(processor);
    processor.connect(ctx.destination);
    state.recorder = { stream, ctx, source, processor, chunks };
    btn.setAttribute('aria-pressed', 'true');
    btn.textContent = '■ Stop recording';
    $('record-status').textContent = 'Recording… (at most 30 s)';
  } catch (e) {
    $('record-status').textContent = 'No microphone: ' + e.message;
  }
}

function setPrompt(blob, name) {
  state.promptBlob = blob;
  state.promptName = name;
  const p = $('prompt-preview');
  p.src = URL.createObjectURL(blob);
  p.hidden = false;
}

// ---- audio helpers ------------------------------------------------------------------------------
function concat(chunks) {
  const n = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

// 16-bit PCM mono WAV.
function wavBytes(samples, rate) {
  const buf = new ArrayBuffer(44 + samples.length * 2);
  const v = new DataView(buf);
  const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
  str(0, 'RIFF'); v.setUint32(4, 36 + samples.length * 2, true); str(8, 'WAVE'); str(12, 'fmt ');
  v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
  str(36, 'data'); v.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const x = Math.max(-1, Math.min(1, samples[i]));
    v.setInt16(44 + 2 * i, x < 0 ? x * 32768 : x * 32767, true);
  }
  return buf;
}

function drawWave(samples) {
  const c = $('wave');
  const g = c.getContext('2d');
  const w = c.width, h = c.height;
  g.clearRect(0, 0, w, h);
  g.fillStyle = '#2d5bd0';
  // Scaled to the peak, so that quiet audio still shows its shape.
  let peak = 1e-4;
  for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]));
  const k = 0.95 / peak;
  const per = Math.max(1, Math.floor(samples.length / w));
  for (let x = 0; x < w; x++) {
    let lo = 0, hi = 0;
    for (let i = x * per; i < Math.min(samples.length, (x + 1) * per); i++) {
      if (samples[i] < lo) lo = samples[i];
      if (samples[i] > hi) hi = samples[i];
    }
    g.fillRect(x, h / 2 - hi * k * h / 2, 1, Math.max(1, (hi - lo) * k * h / 2));
  }
}

// Plays PCM chunks back to back as they arrive.
class LivePlayer {
  constructor(rate) {
    this.ctx = new AudioContext({ sampleRate: rate });
    this.at = 0;
  }
  push(samples) {
    const b = this.ctx.createBuffer(1, samples.length, this.ctx.sampleRate);
    b.copyToChannel(samples, 0);
    const s = this.ctx.createBufferSource();
    s.buffer = b;
    s.connect(this.ctx.destination);
    this.at = Math.max(this.at, this.ctx.currentTime + 0.05);
    s.start(this.at);
    this.at += b.duration;
  }
  close() { setTimeout(() => this.ctx.close(), Math.max(0, (this.at - this.ctx.currentTime) * 1000) + 500); }
}

// ---- synthesis --------------------------------------------------------------------------------
function buildForm() {
  const m = mode();
  const fd = new FormData();
  fd.append('mode', m);
  if (m !== 'vc') fd.append('text', $('text').value);
  if (m === 'instruct2') fd.append('instruct', $('instruct').value);
  if ($('voice').value) {
    fd.append('voice', $('voice').value);
  } else {
    if (!state.promptBlob) throw new Error('Choose a saved voice, or upload or record a prompt.');
    fd.append('prompt_audio', state.promptBlob, state.promptName || 'prompt.wav');
    fd.append('prompt_text', $('prompt-text').value);
  }
  if (m === 'vc') {
    const f = $('source-file').files[0];
    if (!f) throw new Error('Voice conversion needs a source recording.');
    fd.append('source_audio', f, f.name);
  }
  fd.append('seed', $('seed').value || '0');
  fd.append('speed', $('speed').value || '1');
  fd.append('stream', $('stream').checked ? 'true' : 'false');
  if ($('steps').value) fd.append('steps', $('steps').value);
  if ($('min-tokens').value) fd.append('min_tokens', $('min-tokens').value);
  if ($('max-tokens').value) fd.append('max_tokens', $('max-tokens').value);
  fd.append('response_format', 'pcm');
  return fd;
}

async function generate(ev) {
  ev.preventDefault();
  let fd;
  try { fd = buildForm(); } catch (e) { return setStatus(e.message, true); }
  const controller = new AbortController();
  state.controller = controller;
  $('generate').disabled = true;
  $('stop').disabled = false;
  setStatus('Generating…');
  ['t-first', 't-total', 't-audio', 't-rtf'].forEach((id) => ($(id).textContent = '…'));
  const t0 = performance.now();
  let player = null;
  try {
    const res = await fetch('/v1/audio/synthesize', { method: 'POST', body: fd, headers: apiHeaders(), signal: controller.signal });
    if (!res.ok) throw new Error(await errorMessage(res));
    const rate = parseInt(res.headers.get('X-Sample-Rate') || '24000', 10);
    if ($('stream').checked) player = new LivePlayer(rate);
    const reader = res.body.getReader();
    const chunks = [];
    let carry = null, first = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let bytes = value;
      if (carry) { bytes = new Uint8Array(carry.length + value.length); bytes.set(carry); bytes.set(value, carry.length); carry = null; }
      if (bytes.length % 2) { carry = bytes.slice(bytes.length - 1); bytes = bytes.slice(0, bytes.length - 1); }
      if (!bytes.length) continue;
      const ints = new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      const f = new Float32Array(ints.length);
      for (let i = 0; i < ints.length; i++) f[i] = ints[i] / 32768;
      if (!first) { first = performance.now() - t0; $('t-first').textContent = (first / 1000).toFixed(2) + ' s'; }
      chunks.push(f);
      if (player) player.push(f);
    }
    const total = (performance.now() - t0) / 1000;
    const samples = concat(chunks);
    const seconds = samples.length / rate;
    const url = URL.createObjectURL(new Blob([wavBytes(samples, rate)], { type: 'audio/wav' }));
    const out = $('output');
    out.src = url;
    if (!player) out.play().catch(() => {});
    const a = $('download');
    a.href = url;
    a.setAttribute('aria-disabled', 'false');
    drawWave(samples);
    $('t-total').textContent = total.toFixed(2) + ' s';
    $('t-audio').textContent = seconds.toFixed(2) + ' s';
    $('t-rtf').textContent = seconds > 0 ? (total / seconds).toFixed(2) : '–';
    setStatus(`Done: ${seconds.toFixed(2)} s of audio.`);
    document.body.dataset.result = JSON.stringify({ rate, samples: samples.length, first_audio: first / 1000, total });
  } catch (e) {
    setStatus(e.name === 'AbortError' ? 'Stopped.' : 'Error: ' + e.message, e.name !== 'AbortError');
  } finally {
    if (player) player.close();
    state.controller = null;
    $('generate').disabled = false;
    $('stop').disabled = true;
  }
}

// ---- wiring -----------------------------------------------------------------------------------
document.querySelectorAll('input[name=mode]').forEach((r) => r.addEventListener('change', onModeChange));
$('preset').addEventListener('change', () => { if ($('preset').value) $('instruct').value = $('preset').value; });
$('voice').addEventListener('change', onVoiceChange);
$('prompt-file').addEventListener('change', () => {
  const f = $('prompt-file').files[0];
  if (f) setPrompt(f, f.name);
});
$('record').addEventListener('click', toggleRecord);
$('save-voice').addEventListener('click', saveVoice);
$('delete-voice').addEventListener('click', deleteVoice);
$('dice').addEventListener('click', () => { $('seed').value = 1 + Math.floor(Math.random() * 100000000); });
$('stop').addEventListener('click', () => state.controller && state.controller.abort());
$('form').addEventListener('submit', generate);
$('api-key').addEventListener('change', () => { sessionStorage.setItem('cosyvoice-key', $('api-key').value); loadVoices(); });
$('api-key').value = sessionStorage.getItem('cosyvoice-key') || '';
onModeChange();
loadHealth().then(() => loadVoices());
