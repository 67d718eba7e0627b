// Errors with stable codes, as fastify and undici do: callers switch on `code`, never on text.
export type VagtErrorCode =
  | 'VAGT_ERR_CONFIG'
  | 'VAGT_ERR_ARGS'
  | 'VAGT_ERR_PROTOCOL'
  | 'VAGT_ERR_STORE'
  | 'VAGT_ERR_NOT_FOUND';

export class VagtError extends Error {
  readonly code: VagtErrorCode;
  constructor(code: VagtErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VagtError';
    this.code = code;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why a file could not be read, in a few words ("no such file"), for one-line messages. */
export function fileErrorMessage(err: unknown): string {
  switch ((err as NodeJS.ErrnoException | null)?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, expected a file';
    default:
      return errorMessage(err);
  }
}
