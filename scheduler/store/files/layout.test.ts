import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskForgeError } from '../../../common/errors.js';
import { createLayout } from './layout.js';

describe('layout', () => {
  const layout = createLayout(join('/', 'srv', 'taskforge', '.', 'data'));

  it('puts an execution and its logs under their directories, as join() would', () => {
    for (const id of ['ex_01J9', 'a', 'A-b_c', 'x'.repeat(64)]) {
      expect(layout.executionFile(id)).toBe(join('/srv/taskforge/data/executions', `${id}.json`));
      expect(layout.logsFile(id)).toBe(join('/srv/taskforge/data/logs', `${id}.json`));
    }
  });

  it('refuses an id that could name another path before any path exists', () => {
    for (const id of ['../x', 'a/b', '.', '..', '', 'x'.repeat(65), 'a.json']) {
      expect(() => layout.executionFile(id)).toThrow(TaskForgeError);
      expect(() => layout.logsFile(id)).toThrow(TaskForgeError);
    }
  });
});
