// Errors with a stable `code` (gRPC's set plus DECODE_ERROR). The core returns errors as values;
// `unwrap` turns those values into these classes at the wasm boundary.

export type ErrorCode =
  | 'CANCELLED' | 'UNKNOWN' | 'INVALID_ARGUMENT' | 'DEADLINE_EXCEEDED' | 'NOT_FOUND'
  | 'ALREADY_EXISTS' | 'PERMISSION_DENIED' | 'RESOURCE_EXHAUSTED' | 'FAILED_PRECONDITION'
  | 'ABORTED' | 'OUT_OF_RANGE' | 'UNIMPLEMENTED' | 'INTERNAL' | 'UNAVAILABLE' | 'DATA_LOSS'
  | 'UNAUTHENTICATED' | 'DECODE_ERROR';

export class NitroError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'NitroError';
    this.code = code;
    if (details !== undefined) this.details = details;
  }
}

export class DecodeError extends NitroError {
  constructor(message: string, details?: unknown) {
    super('DECODE_ERROR', message, details);
    this.name = 'DecodeError';
  }
}

export class InvalidArgumentError extends NitroError {
  constructor(message: string, details?: unknown) {
    super('INVALID_ARGUMENT', message, details);
    this.name = 'InvalidArgumentError';
  }
}

export class DeadlineExceededError extends NitroError {
  constructor(message: string, details?: unknown) {
    super('DEADLINE_EXCEEDED', message, details);
    this.name = 'DeadlineExceededError';
  }
}

export class UnavailableError extends NitroError {
  constructor(message: string, details?: unknown) {
    super('UNAVAILABLE', message, details);
    this.name = 'UnavailableError';
  }
}

export class PermissionDeniedError extends NitroError {
  constructor(message: string, details?: unknown) {
    super('PERMISSION_DENIED', message, details);
    this.name = 'PermissionDeniedError';
  }
}

export class NotFoundError extends NitroError {
  constructor(message: string, details?: unknown) {
    super('NOT_FOUND', message, details);
    this.name = 'NotFoundError';
  }
}

const byCode: Partial<Record<ErrorCode, new (message: string, details?: unknown) => NitroError>> = {
  DECODE_ERROR: DecodeError,
  INVALID_ARGUMENT: InvalidArgumentError,
  DEADLINE_EXCEEDED: DeadlineExceededError,
  UNAVAILABLE: UnavailableError,
  PERMISSION_DENIED: PermissionDeniedError,
  NOT_FOUND: NotFoundError,
};

/** Builds the most specific NitroError subclass for a code. */
export function errorFor(code: ErrorCode, message: string, details?: unknown): NitroError {
  const Cls = byCode[code];
  return Cls ? new Cls(message, details) : new NitroError(code, message, details);
}

interface ErrorValue { __nitroError: true; code: ErrorCode; message: string }

function isErrorValue(x: unknown): x is ErrorValue {
  return typeof x === 'object' && x !== null && (x as { __nitroError?: unknown }).__nitroError === true;
}

/** Returns `x`, or throws the NitroError that a core error value stands for. */
export function unwrap<T>(x: T | ErrorValue): T {
  if (isErrorValue(x)) throw errorFor(x.code, x.message);
  return x as T;
}
