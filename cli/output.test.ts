import { describe, expect, it } from 'vitest';
import { TaskForgeApiError, type ExecutionRecord } from '../client/index.js';
import { sampleExecution } from '../common/testing/records.js';
import { parseConfig } from './config.js';
import { nameFromFile, parseEnv } from './commands/functions.js';
import { portInUse } from './components.js';
import { devShows } from './dev.js';
import { EXIT } from './exit-codes.js';
import { CliError, describeExecution, errorLine, table } from './output.js';

describe('cli output', () => {
  it('an error is one line with its code, and the exit code that goes with it', () => {
    expect(errorLine(new TaskForgeApiError(404, 'FUNCTION_NOT_FOUND', "function 'x' does not exist"))).toEqual({
      line: "error FUNCTION_NOT_FOUND: function 'x' does not exist",
      exitCode: EXIT.error,
    });
    expect(errorLine(new TaskForgeApiError(0, 'NETWORK_ERROR', 'cannot reach http://h (ECONNREFUSED)')).exitCode).toBe(EXIT.unreachable);
    expect(errorLine(new CliError('USAGE', 'two\n  lines', EXIT.usage))).toEqual({ line: 'error USAGE: two lines', exitCode: EXIT.usage });
    expect(errorLine(new Error('x\n    at stack (file.js:1:1)')).line).not.toContain('\n');
  });

  it('an execution shows its scheduled time and a priority other than normal, and neither when there is none', () => {
    const plain = describeExecution(sampleExecution());
    expect(plain).not.toMatch(/scheduled|priority/);
    const delayed = describeExecution(sampleExecution({ scheduledFor: '2030-01-01T00:00:00.000Z', priority: 'low' }));
    const lines = delayed.split('\n').map((l) => l.split(/\s+/)[0]);
    expect(lines.indexOf('scheduled') + 1).toBe(lines.indexOf('started'));
    expect(delayed).toMatch(/^priority\s+low$/m);
    expect(describeExecution(sampleExecution({ priority: 'normal' }) as ExecutionRecord)).not.toMatch(/priority/);
  });

  it('tables pad every column but the last', () => {
    expect(
      table(
        ['A', 'BB'],
        [
          ['xyz', '1'],
          ['', '22'],
        ],
      ),
    ).toBe('A    BB\nxyz  1\n     22');
  });

  it('deploy: name from the file, env pairs', () => {
    expect(nameFromFile('/x/y/hello-world.mjs')).toBe('hello-world');
    expect(parseEnv(['A=1', 'B=x=y', 'C='])).toEqual({ A: '1', B: 'x=y', C: '' });
    expect(() => parseEnv(['=1'])).toThrowError(/KEY=VALUE/);
    expect(() => parseEnv(['A'])).toThrowError(/KEY=VALUE/);
  });

  it('a port in use is named with the flag that moves it', () => {
    const cfg = parseConfig([], {});
    const err = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8080'), { code: 'EADDRINUSE' });
    expect(portInUse(err, 'gateway', cfg)).toMatch(/^port 8080 is in use: .*--port\)$/);
    expect(portInUse(new Error('No address added out of total 1 resolved errors: [EADDRINUSE]'), 'scheduler', cfg)).toMatch(
      /^port 50051 is in use: .*--grpc-port/,
    );
    expect(portInUse(new Error('EACCES'), 'gateway', cfg)).toBeNull();
  });

  it('dev shows the info lines that matter, per-execution lines only at debug, warnings always', () => {
    expect(devShows({ level: 30, msg: 'scheduler listening' }, false)).toBe(true);
    expect(devShows({ level: 30, msg: 'worker connected' }, false)).toBe(true);
    expect(devShows({ level: 30, msg: 'store loaded' }, false)).toBe(false);
    expect(devShows({ level: 30, msg: 'retry scheduled', executionId: 'ex_1' }, false)).toBe(false);
    expect(devShows({ level: 30, msg: 'retry scheduled', executionId: 'ex_1' }, true)).toBe(true);
    expect(devShows({ level: 40, msg: 'result dropped', executionId: 'ex_1' }, false)).toBe(true);
  });
});
