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

export class CancelledError extends NitroError {
  declare readonly code: 'CANCELLED';
  constructor(message: string, details?: unknown) {
    super('CANCELLED', message, details);
    this.name = 'CancelledError';
  }
}

export class UnknownError extends NitroError {
  declare readonly code: 'UNKNOWN';
  constructor(message: string, details?: unknown) {
    super('UNKNOWN', message, details);
    this.name = 'UnknownError';
  }
}

export class InvalidArgumentError extends NitroError {
  declare readonly code: 'INVALID_ARGUMENT';
  constructor(message: string, details?: unknown) {
    super('INVALID_ARGUMENT', message, details);
    this.name = 'InvalidArgumentError';
  }
}

export class DeadlineExceededError extends NitroError {
  declare readonly code: 'DEADLINE_EXCEEDED';
  constructor(message: string, details?: unknown) {
    super('DEADLINE_EXCEEDED', message, details);
    this.name = 'DeadlineExceededError';
  }
}

export class NotFoundError extends NitroError {
  declare readonly code: 'NOT_FOUND';
  constructor(message: string, details?: unknown) {
    super('NOT_FOUND', message, details);
    this.name = 'NotFoundError';
  }
}

export class AlreadyExistsError extends NitroError {
  declare readonly code: 'ALREADY_EXISTS';
  constructor(message: string, details?: unknown) {
    super('ALREADY_EXISTS', message, details);
    this.name = 'AlreadyExistsError';
  }
}

export class PermissionDeniedError extends NitroError {
  declare readonly code: 'PERMISSION_DENIED';
  constructor(message: string, details?: unknown) {
    super('PERMISSION_DENIED', message, details);
    this.name = 'PermissionDeniedError';
  }
}

export class ResourceExhaustedError extends NitroError {
  declare readonly code: 'RESOURCE_EXHAUSTED';
  constructor(message: string, details?: unknown) {
    super('RESOURCE_EXHAUSTED', message, details);
    this.name = 'ResourceExhaustedError';
  }
}

export class FailedPreconditionError extends NitroError {
  declare readonly code: 'FAILED_PRECONDITION';
  constructor(message: string, details?: unknown) {
    super('FAILED_PRECONDITION', message, details);
    this.name = 'FailedPreconditionError';
  }
}

export class AbortedError extends NitroError {
  declare readonly code: 'ABORTED';
  constructor(message: string, details?: unknown) {
    super('ABORTED', message, details);
    this.name = 'AbortedError';
  }
}

export class OutOfRangeError extends NitroError {
  declare readonly code: 'OUT_OF_RANGE';
  constructor(message: string, details?: unknown) {
    super('OUT_OF_RANGE', message, details);
    this.name = 'OutOfRangeError';
  }
}

export class UnimplementedError extends NitroError {
  declare readonly code: 'UNIMPLEMENTED';
  constructor(message: string, details?: unknown) {
    super('UNIMPLEMENTED', message, details);
    this.name = 'UnimplementedError';
  }
}

export class InternalError extends NitroError {
  declare readonly code: 'INTERNAL';
  constructor(message: string, details?: unknown) {
    super('INTERNAL', message, details);
    this.name = 'InternalError';
  }
}

export class UnavailableError extends NitroError {
  declare readonly code: 'UNAVAILABLE';
  constructor(message: string, details?: unknown) {
    super('UNAVAILABLE', message, details);
    this.name = 'UnavailableError';
  }
}

export class DataLossError extends NitroError {
  declare readonly code: 'DATA_LOSS';
  constructor(message: string, details?: unknown) {
    super('DATA_LOSS', message, details);
    this.name = 'DataLossError';
  }
}

export class UnauthenticatedError extends NitroError {
  declare readonly code: 'UNAUTHENTICATED';
  constructor(message: string, details?: unknown) {
    super('UNAUTHENTICATED', message, details);
    this.name = 'UnauthenticatedError';
  }
}

export class DecodeError extends NitroError {
  declare readonly code: 'DECODE_ERROR';
  constructor(message: string, details?: unknown) {
    super('DECODE_ERROR', message, details);
    this.name = 'DecodeError';
  }
}

const byCode: Record<ErrorCode, new (message: string, details?: unknown) => NitroError> = {
  CANCELLED: CancelledError,
  UNKNOWN: UnknownError,
  INVALID_ARGUMENT: InvalidArgumentError,
  DEADLINE_EXCEEDED: DeadlineExceededError,
  NOT_FOUND: NotFoundError,
  ALREADY_EXISTS: AlreadyExistsError,
  PERMISSION_DENIED: PermissionDeniedError,
  RESOURCE_EXHAUSTED: ResourceExhaustedError,
  FAILED_PRECONDITION: FailedPreconditionError,
  ABORTED: AbortedError,
  OUT_OF_RANGE: OutOfRangeError,
  UNIMPLEMENTED: UnimplementedError,
  INTERNAL: InternalError,
  UNAVAILABLE: UnavailableError,
  DATA_LOSS: DataLossError,
  UNAUTHENTICATED: UnauthenticatedError,
  DECODE_ERROR: DecodeError,
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
