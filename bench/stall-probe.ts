import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { startProcess, stopProcess } from './support.js';

const MB = Number(process.env.MB || 10);
const dir = mkdtempSync(path.join(os.tmpdir(), 'stall-'));
const PORT = 4791, SMTP = 2791;
const env: Record<string, string> = { INTAKE_DATA_DIR: dir, MAIL_DOMAIN: 'bench.test', INTAKE_ADMIN_TOKEN: 'bench', PORT: String(PORT), SMTP_PORT: String(SMTP), MAIL_MAX_BYTES: String((MB + 8) * 1024 * 1024), INTAKE_DEMO: '1' };
if (process.env.DB) env.DATABASE_URL = process.env.DB;
const server = await startProcess('src/main.ts', ['start'], env, `http://127.0.0.1:${PORT}/healthz`, { nodeFlags: (process.env.NODE_FLAGS || '').split(' ').filter(Boolean) });
const b = 'bb';
const attachment = Buffer.alloc(Math.floor((MB * 1024 * 1024 * 3) / 4), 'x').toString('base64').replace(/.{76}/g, '$&\r\n');
const raw = ['From: Big <big@example.com>', 'To: customer-care@bench.test', 'Subject: big', `Message-ID: <big-${Date.now()}@example.com>`, 'MIME-Version: 1.0', `Content-Type: multipart/mixed; boundary="${b}"`, '', `--${b}`, 'Content-Type: text/plain', '', 'see attached', `--${b}`, 'Content-Type: application/octet-stream; name="r.bin"', 'Content-Transfer-Encoding: base64', '', attachment, `--${b}--`, ''].join('\r\n');
let done = false;
const lat: number[] = [];
const probe = (async () => {
  while (!done) {
    const t = performance.now();
    await fetch(`http://127.0.0.1:${PORT}/healthz`).then((r) => r.text()).catch((e) => console.log('probe failed', String(e), e.cause));
    lat.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
})();
const t0 = performance.now();
const transport = nodemailer.createTransport({ host: '127.0.0.1', port: SMTP, secure: false, ignoreTLS: true, socketTimeout: 300_000 });
const to = (process.env.TO || 'customer-care@bench.test').split(',');
try { await transport.sendMail({ envelope: { from: 'big@example.com', to }, raw }); } catch (e) { console.log('send failed', String(e)); }
const sent = performance.now() - t0;
done = true;
await probe;
console.log(JSON.stringify({ mb: MB, seconds_to_250: +(sent / 1000).toFixed(2), healthz_max_ms: Math.round(Math.max(...lat)), probes: lat.length }));
await stopProcess(server);
rmSync(dir, { recursive: true, force: true });
