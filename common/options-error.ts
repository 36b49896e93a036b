/**
 * The error of an option that cannot be used: thrown once, at start, by every resolveXOptions()
 * and constructor that checks what it was given, and by the CLI's parser (cli/config.ts), with a
 * message that names the option and says what it takes.
 *
 * One stable code, ERR_TASKFORGE_OPTION, for every broken rule (wrong type, out of range, two
 * options that contradict each other): what a caller decides on is "the configuration is wrong,
 * stop and say so", never which rule it broke; `option` names the option for code, the message
 * for people. Branch on `instanceof OptionsError` or the code, never on the message.
 *
 * It is not an API error: TaskForgeError codes (errors.ts) are what HTTP clients see, while a bad
 * option never reaches a client; it stops the process it was given to.
 */
export const OPTIONS_ERROR_CODE = 'ERR_TASKFORGE_OPTION';

export class OptionsError extends Error {
  override name = 'OptionsError';
  readonly code: typeof OPTIONS_ERROR_CODE = OPTIONS_ERROR_CODE;
  /** The option at fault, as the API that refused it spells it (`invokeBodyLimit`, `--capacity`). */
  readonly option: string;

  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.option = option;
  }
}

/** True for an OptionsError, also one from another copy of this module (its code is stable). */
export function isOptionsError(err: unknown): err is OptionsError {
  return err instanceof OptionsError || (err as { code?: unknown } | null)?.code === OPTIONS_ERROR_CODE;
}
