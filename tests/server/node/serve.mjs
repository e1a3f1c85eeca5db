// Starts `forge serve` on a free loopback port for a Node test and stops it.
import { spawn } from 'node:child_process';

// A package from tests/server/node/node_modules, with a clear error when `npm ci` was not run.
export async function need(name) {
  try {
    return await import(name);
  } catch (e) {
    console.error(`missing npm package '${name}': run scripts/setup.sh (or npm ci in tests/server/node)`);
    process.exit(1);
  }
}

export function fail(message) {
  console.error('FAIL: ' + message);
  process.exit(1);
}

// Resolves with { port, url, stop() } once the server says it is ready.
export function startServer(forge, args, { timeoutMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(forge, ['serve', '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    let port = 0;
    let ready = false;
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error('forge serve did not become ready in time:\n' + log));
    }, timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`forge serve exited (${code}):\n` + log));
    });
    proc.stderr.on('data', (d) => {
      log += d.toString();
      const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) port = Number(m[1]);
      if (!ready && port && log.includes('forge serve: ready')) {
        ready = true;
        clearTimeout(timer);
        proc.removeAllListeners('exit');
        resolve({
          port,
          url: `http://127.0.0.1:${port}`,
          log: () => log,
          stop: () =>
            new Promise((done) => {
              proc.on('exit', (code, signal) => done({ code, signal }));
              proc.kill('SIGTERM');
            }),
        });
      }
    });
  });
}
