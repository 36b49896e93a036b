/**
 * Coalesced directory fsyncs. Many writers that renamed into the same directory need one fsync
 * of it that starts after their rename; they do not each need their own. A request joins the
 * next fsync that has not started yet, so N concurrent writers cost at most two fsyncs (the one
 * running and the one queued behind it) instead of N.
 *
 * It must never resolve a request with an fsync that started before the request was made:
 * that fsync may not cover the caller's rename.
 */
export type SyncDir = (dir: string) => Promise<void>;

interface DirState {
  running: Promise<void> | null;
  queued: Promise<void> | null;
}

export interface DirSyncer {
  sync(dir: string): Promise<void>;
  /** fsyncs actually performed, for tests and measurements. */
  readonly count: number;
}

export function createDirSyncer(syncDir: SyncDir): DirSyncer {
  const dirs = new Map<string, DirState>();
  let count = 0;

  const start = (dir: string, state: DirState): Promise<void> => {
    count += 1;
    const run = syncDir(dir);
    state.running = run;
    const done = (): void => {
      if (state.running === run) state.running = null;
      if (!state.running && !state.queued) dirs.delete(dir);
    };
    run.then(done, done);
    return run;
  };

  const sync = (dir: string): Promise<void> => {
    let state = dirs.get(dir);
    if (!state) {
      state = { running: null, queued: null };
      dirs.set(dir, state);
    }
    const running = state.running;
    if (!running) return start(dir, state);
    if (state.queued) return state.queued;
    const s = state;
    const queued = running
      .catch(() => undefined)
      .then(() => {
        s.queued = null;
        return start(dir, s);
      });
    s.queued = queued;
    return queued;
  };

  return {
    sync,
    get count() {
      return count;
    },
  };
}
