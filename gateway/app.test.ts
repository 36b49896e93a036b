import { afterEach, describe, expect, it, vi } from 'vitest';
import { OptionsError } from '../common/options-error.js';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { GATEWAY_APP_DEFAULTS, buildApp, resolveGatewayOptions } from './app.js';
import { NoAuthRefusedError, startGateway, type RunningGateway } from './main.js';
import { createFakeControlClient } from './testing/fake-control-client.js';

describe('resolveGatewayOptions', () => {
  it('fills documented defaults into a frozen object', () => {
    const control = createFakeControlClient();
    const o = resolveGatewayOptions({ control });
    expect(o).toMatchObject({ control, invokeBodyLimit: 1024 * 1024, functionBodyLimit: 6 * 1024 * 1024, readyTimeoutMs: 1000 });
    expect(GATEWAY_APP_DEFAULTS.invokeBodyLimit).toBe(1024 * 1024);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('rejects a bad option with a message naming it', () => {
    const control = createFakeControlClient();
    expect(() => resolveGatewayOptions({ control, invokeBodyLimit: 0 })).toThrow(/invokeBodyLimit/);
    expect(() => resolveGatewayOptions({ control, functionBodyLimit: 1.5 })).toThrow(/functionBodyLimit/);
    expect(() => resolveGatewayOptions({} as never)).toThrow(/control/);
    expect(() => resolveGatewayOptions({ control, invokeBodyLimit: 0 })).toThrow(OptionsError);
    expect(() => resolveGatewayOptions({ control, invokeBodyLimit: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: 'invokeBodyLimit' }),
    );
    expect(() => resolveGatewayOptions({ control, rateLimit: -1 })).toThrow(expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: 'rateLimit' }));
    expect(() => resolveGatewayOptions({ control, auth: 'on' as never })).toThrow(expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: 'auth' }));
    expect(() => resolveGatewayOptions({} as never)).toThrow(expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: 'control' }));
  });

  it('a smaller invokeBodyLimit is enforced', async () => {
    const app = buildApp({ control: createFakeControlClient(), invokeBodyLimit: 10, auth: 'off' });
    const res = await app.inject({ method: 'POST', url: '/v1/functions/hello/invoke', payload: { long: 'x'.repeat(20) } });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE', details: { limitBytes: 10 } } });
    await app.close();
  });
});

describe('logging', () => {
  it('logs an internal failure with its stack, which the response never carries', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        cb();
      },
    });
    const control = createFakeControlClient({ listWorkers: async () => Promise.reject(new Error('kaboom')) });
    const app = buildApp({ control, logger: pino({ level: 'info' }, sink), auth: 'off' });
    const res = await app.inject({ method: 'GET', url: '/v1/workers' });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('kaboom');
    const logged = lines.find((l) => l.msg === 'request failed') as { err?: { message: string; stack: string }; code?: string } | undefined;
    expect(logged?.code).toBe('INTERNAL');
    expect(logged?.err?.message).toBe('kaboom');
    expect(logged?.err?.stack).toContain('Error: kaboom');
    await app.close();
  });
});

describe('startGateway', () => {
  let gw: RunningGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('listens on an ephemeral port; healthz works, readyz is 503 without a scheduler; close is idempotent', async () => {
    gw = await startGateway({ port: 0, scheduler: '127.0.0.1:1', logger: pino({ level: 'silent' }), client: { callTimeoutMs: 500 } });
    expect(gw.port).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${gw.port}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ error: { code: 'SCHEDULER_UNAVAILABLE' } });

    const first = gw.close();
    expect(gw.close()).toBe(first);
    await first;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('rejects a port out of range before doing anything', async () => {
    await expect(startGateway({ port: 70_000 })).rejects.toThrow(/port/);
    await expect(startGateway({ port: 70_000 })).rejects.toThrow(expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: 'port' }));
  });

  it('noAuth is refused unless the gateway listens on loopback only', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'localhost', '10.127.0.1']) {
      await expect(startGateway({ port: 0, host, noAuth: true, logger: pino({ level: 'silent' }) })).rejects.toBeInstanceOf(NoAuthRefusedError);
      await expect(startGateway({ port: 0, host, app: { auth: 'off' }, logger: pino({ level: 'silent' }) })).rejects.toThrow(/not loopback only/);
    }
    gw = await startGateway({
      port: 0,
      host: '127.0.0.1',
      noAuth: true,
      scheduler: '127.0.0.1:1',
      logger: pino({ level: 'silent' }),
      client: { callTimeoutMs: 300 },
    });
    // Auth is off: the request reaches the (absent) scheduler instead of being refused for want of a key.
    const res = await fetch(`http://127.0.0.1:${gw.port}/v1/stats`);
    expect(res.status).toBe(503);
  });

  it('with auth on (the default) a request without a key is 401 even from loopback', async () => {
    gw = await startGateway({ port: 0, host: '127.0.0.1', scheduler: '127.0.0.1:1', logger: pino({ level: 'silent' }), client: { callTimeoutMs: 300 } });
    const res = await fetch(`http://127.0.0.1:${gw.port}/v1/stats`);
    expect(res.status).toBe(401);
  });
});

describe('closing', () => {
  it('lets an in-flight request finish with connection: close and closes promptly', async () => {
    const { request, Agent } = await import('node:http');
    let release!: () => void;
    const control = createFakeControlClient({
      stats: () =>
        new Promise((resolve) => {
          release = () => resolve({ executions: {} as never, queueDepth: 0, workers: {} as never });
        }),
    });
    const app = buildApp({ control, auth: 'off' });
    let closeBegan!: () => void;
    const closing = new Promise<void>((resolve) => (closeBegan = resolve));
    // Runs after the app's own preClose hook, so the app knows it is closing by then.
    app.addHook('preClose', async () => closeBegan());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.end();
      });

    const slow = get('/v1/stats');
    await vi.waitFor(() => expect(control.callsTo('stats')).toHaveLength(1));
    const started = Date.now();
    const closed = app.close();
    await closing;
    release();
    const res = await slow;
    expect(res.status).toBe(200);
    expect(res.headers.connection).toBe('close');
    await closed;
    expect(Date.now() - started).toBeLessThan(3_000);
    agent.destroy();
  });
});
