/**
 * The compatibility suite: fifteen libraries that Lambda functions commonly bundle, each bundled
 * by esbuild here (`--bundle --platform=node`) as an ES module and as CommonJS, registered as they
 * come out of the bundler and run in a real sandbox on a real stack, with a check of the output.
 * What they compute is also computed here, on the host, with the same library where the value is
 * not a constant, so "runs unchanged" means "answers the same".
 */
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fn, startStack, type Stack } from '../helpers/stack.js';

interface Case {
  lib: string;
  /** The handler's module, importing the library as an application would. */
  source: string;
  expected: unknown;
}

const CASES: Case[] = [
  {
    lib: 'uuid',
    source: `import { v4, v5, validate, version } from 'uuid';
      export const handler = async (e) => ({ v4: validate(v4()) && version(v4()), v5: v5(e.name, v5.URL) });`,
    expected: { v4: 4, v5: 'db6b62c9-03ee-5333-b22d-de8530f3812a' },
  },
  {
    lib: 'mustache',
    source: `import Mustache from 'mustache';
      export const handler = async (e) => Mustache.render('Hello {{name}}!{{#items}} <{{.}}>{{/items}}', e);`,
    expected: 'Hello lambda! <a> <b>',
  },
  {
    lib: 'jose',
    source: `import { SignJWT, jwtVerify, decodeProtectedHeader } from 'jose';
      export const handler = async (e) => {
        const key = new TextEncoder().encode('a-secret-of-at-least-32-bytes-long!!');
        const token = await new SignJWT({ sub: e.name }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(0).sign(key);
        const { payload } = await jwtVerify(token, key);
        return { alg: decodeProtectedHeader(token).alg, sub: payload.sub, token };
      };`,
    expected: { alg: 'HS256', sub: 'lambda', token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsYW1iZGEiLCJpYXQiOjB9._1OZJ7ZN4IHUZlkm4Nv-vj3um2EYYIy6PyVbZ0TcbeI' },
  },
  {
    lib: 'papaparse',
    source: `import Papa from 'papaparse';
      export const handler = async () => Papa.parse('id,city\\n1,Oslo\\n2,Lima', { header: true, dynamicTyping: true }).data;`,
    expected: [
      { id: 1, city: 'Oslo' },
      { id: 2, city: 'Lima' },
    ],
  },
  {
    lib: 'date-fns',
    source: `import { addDays, format, formatISO, differenceInCalendarDays } from 'date-fns';
      export const handler = async () => {
        const d = new Date(2024, 1, 28, 12);
        return { next: format(addDays(d, 1), 'yyyy-MM-dd EEEE'), iso: formatISO(d), days: differenceInCalendarDays(new Date(2025, 0, 1), d) };
      };`,
    // TZ=UTC in the sandbox, as on Lambda: local time is UTC.
    expected: { next: '2024-02-29 Thursday', iso: '2024-02-28T12:00:00Z', days: 308 },
  },
  {
    lib: 'marked',
    source: `import { marked } from 'marked';
      export const handler = async () => marked.parse('# Title\\n\\nSome *text* and \`code\`.');`,
    expected: '<h1>Title</h1>\n<p>Some <em>text</em> and <code>code</code>.</p>\n',
  },
  {
    lib: 'lodash',
    source: `import _ from 'lodash';
      export const handler = async () => ({ chunks: _.chunk([1, 2, 3, 4, 5], 2), camel: _.camelCase('hello lambda world'), grouped: _.groupBy(['one', 'two', 'three'], 'length'), tpl: _.template('hi <%= who %>')({ who: 'you' }) });`,
    expected: { chunks: [[1, 2], [3, 4], [5]], camel: 'helloLambdaWorld', grouped: { 3: ['one', 'two'], 5: ['three'] }, tpl: 'hi you' },
  },
  {
    lib: 'handlebars',
    source: `import Handlebars from 'handlebars';
      Handlebars.registerHelper('upper', (s) => String(s).toUpperCase());
      export const handler = async (e) => Handlebars.compile('{{#each items}}{{upper this}};{{/each}} by {{name}}')(e);`,
    expected: 'A;B; by lambda',
  },
  {
    lib: 'ajv',
    source: `import Ajv from 'ajv';
      const validate = new Ajv({ allErrors: true }).compile({ type: 'object', properties: { name: { type: 'string' }, n: { type: 'integer', minimum: 1 } }, required: ['name', 'n'] });
      export const handler = async (e) => ({ ok: validate(e), bad: validate({ n: 0 }), errors: validate.errors.map((x) => x.message) });`,
    expected: { ok: false, bad: false, errors: ["must have required property 'name'", 'must be >= 1'] },
  },
  {
    lib: 'zod',
    source: `import { z } from 'zod';
      const Order = z.object({ id: z.number().int(), email: z.email() });
      export const handler = async () => ({ good: Order.safeParse({ id: 1, email: 'a@b.co' }).success, bad: Order.safeParse({ id: 1.5, email: 'x' }).error.issues.map((i) => i.path.join('.')) });`,
    expected: { good: true, bad: ['id', 'email'] },
  },
  {
    lib: 'yaml',
    source: `import YAML from 'yaml';
      export const handler = async () => ({ parsed: YAML.parse('service: orders\\nports: [80, 443]\\nenv:\\n  stage: prod\\n'), text: YAML.stringify({ a: [1, 2] }) });`,
    expected: { parsed: { service: 'orders', ports: [80, 443], env: { stage: 'prod' } }, text: 'a:\n  - 1\n  - 2\n' },
  },
  {
    lib: 'jsonwebtoken',
    source: `import jwt from 'jsonwebtoken';
      export const handler = async (e) => {
        const token = jwt.sign({ sub: e.name }, 'shhh', { noTimestamp: true });
        return { token, sub: jwt.verify(token, 'shhh').sub, wrong: (() => { try { jwt.verify(token, 'nope'); return 'verified'; } catch (err) { return err.name; } })() };
      };`,
    expected: {
      token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsYW1iZGEifQ.d-sahO6jIYI4sAqiOY7_1RKRDENaNh3iF-14gFKQQMc',
      sub: 'lambda',
      wrong: 'JsonWebTokenError',
    },
  },
  {
    lib: 'pino',
    source: `import pino from 'pino';
      export const handler = async (e) => {
        const lines = [];
        const log = pino({ base: null, timestamp: false }, { write: (s) => lines.push(JSON.parse(s)) });
        log.info({ order: e.name }, 'processed');
        log.child({ step: 2 }).warn('slow');
        return lines;
      };`,
    expected: [
      { level: 30, order: 'lambda', msg: 'processed' },
      { level: 40, step: 2, msg: 'slow' },
    ],
  },
  {
    lib: 'axios',
    // The parts that need no network: URLs, headers, interceptors, and a request through an adapter.
    source: `import axios from 'axios';
      export const handler = async () => {
        const api = axios.create({ baseURL: 'https://api.example.test/v1', adapter: async (config) => ({ data: { url: axios.getUri(config), auth: config.headers.get('authorization') }, status: 200, statusText: 'OK', headers: {}, config }) });
        api.interceptors.request.use((c) => { c.headers.set('authorization', 'Bearer t'); return c; });
        const res = await api.get('/orders', { params: { page: 2 } });
        return { status: res.status, data: res.data, uri: axios.getUri({ baseURL: 'https://h.test', url: '/x', params: { q: 'a b' } }) };
      };`,
    expected: { status: 200, data: { url: 'https://api.example.test/v1/orders?page=2', auth: 'Bearer t' }, uri: 'https://h.test/x?q=a+b' },
  },
  {
    lib: 'cheerio',
    source: `import * as cheerio from 'cheerio';
      export const handler = async () => {
        const $ = cheerio.load('<ul id="l"><li class="x">one</li><li>two</li></ul>');
        return { items: $('li').map((_, el) => $(el).text()).get(), x: $('.x').text(), html: $('#l li').last().toString() };
      };`,
    expected: { items: ['one', 'two'], x: 'one', html: '<li>two</li>' },
  },
];

const EVENT = { name: 'lambda', items: ['a', 'b'], n: 0 };

async function bundle(source: string, format: 'esm' | 'cjs'): Promise<string> {
  const out = await build({
    stdin: { contents: source, resolveDir: import.meta.dirname, sourcefile: 'handler.mjs', loader: 'js' },
    bundle: true,
    platform: 'node',
    format,
    target: 'node22',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 1 });
});
afterAll(async () => {
  await stack?.close();
});

describe.each(['esm', 'cjs'] as const)('libraries bundled by esbuild as %s', (format) => {
  it.each(CASES)('$lib runs unchanged and answers as on the host', async ({ lib, source, expected }) => {
    const code = await bundle(source, format);
    const name = `compat-${lib.replace(/[^a-z0-9]/g, '')}-${format}`;
    const put = await stack.request('PUT', `/v1/functions/${name}`, fn(code, { maxRetries: 0, timeoutMs: 20_000 }));
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const r = await stack.request('POST', `/v1/functions/${name}/invoke?mode=sync`, EVENT);
    expect(r.body.status, JSON.stringify(r.body.error) + stack.workers[0]!.output().slice(-3000)).toBe('succeeded');
    expect(r.body.output).toEqual(expected);
  });
});

describe('the same handlers on the host', () => {
  // Proves the expected values above are the libraries' own answers, not ones made up to pass.
  const tz = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = 'UTC';
  });
  afterAll(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });
  it.each(CASES)('$lib answers the expected value when run in the test process', async ({ source, expected }) => {
    const code = await bundle(source, 'cjs');
    const module = { exports: {} as { handler?: (e: unknown) => Promise<unknown> } };
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the bundle is this test's own output
    new Function('module', 'exports', 'require', code)(module, module.exports, createRequire(import.meta.url));
    expect(await module.exports.handler!(EVENT)).toEqual(expected);
  });
});
