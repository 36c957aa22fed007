/**
 * One error type for everything the application and the SDK raise on purpose. The code decides the
 * HTTP status and what the user is told; anything that is not an AppError is a bug or a driver error,
 * is logged, and reaches the user only as a generic message.
 */
export const errorCodes = {
  VALIDATION: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  PAYLOAD_MISMATCH: 409,
  LEASE_LOST: 409,
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = "AppError";
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return errorCodes[this.code];
  }
}

/** Bad input, naming the field that is wrong. */
export class ValidationError extends AppError {
  readonly field: string;

  constructor(field: string, message: string) {
    super("VALIDATION", `${field}: ${message}`, { field });
    this.name = "ValidationError";
    this.field = field;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
