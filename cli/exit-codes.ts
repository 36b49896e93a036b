/**
 * The exit codes of the `taskforge` command (docs/CLI.md lists them). Scripts branch on
 * them, so a code never changes meaning: add new ones at the end.
 */
export const EXIT = Object.freeze({
  /** Done; for `invoke`, the execution succeeded. */
  ok: 0,
  /** The API refused the request (its code is on the error line), or the command failed otherwise. */
  error: 1,
  /** The command line is wrong, or a component cannot start with it (a port in use, a bad setting). */
  usage: 2,
  /** No answer from the API at the URL (refused, reset, DNS): nothing was done. */
  unreachable: 3,
  /** `invoke`: the execution ended `failed` (`workflow run --wait`: the run failed). */
  failed: 4,
  /** `invoke`: the execution ended `timed_out`. */
  timedOut: 5,
  /** `invoke`: the execution ended `cancelled` (`workflow run --wait`: the run was cancelled). */
  cancelled: 6,
  /** Interrupted (Ctrl-C) while waiting; the execution goes on. */
  interrupted: 130,
});

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
