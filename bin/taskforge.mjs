// Entry of the taskforge command (bin/taskforge picks the runtime): runs the compiled CLI.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('taskforge is not built yet: run `make build` first\n');
  process.exit(1);
}
await import(pathToFileURL(entry).href);
