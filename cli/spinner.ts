/**
 * A spinner on stderr while the CLI waits, only when stderr is a terminal (yocto-spinner checks
 * the stream it draws on, and draws nothing when it is piped, redirected or TERM=dumb or CI is set),
 * so output read by a program never gets control characters. Stopping clears its line.
 */
import yoctoSpinner from 'yocto-spinner';

export interface Waiting {
  update(text: string): void;
  stop(): void;
}

export function startSpinner(text: string, stream: NodeJS.WriteStream = process.stderr): Waiting {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  const spinner = yoctoSpinner({ text, stream }).start();
  return {
    update: (t) => {
      spinner.text = t;
    },
    stop: () => void spinner.clear().stop(),
  };
}
