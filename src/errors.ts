/** A problem the caller can fix: which input field, what is wrong, and a stable code. */
export interface UserErrorShape {
  field: string[] | null;
  message: string;
  code: string;
}

/** Thrown by services for expected failures; transports turn it into userErrors, 4xx/5xx replies or form messages. */
export class UserInputError extends Error {
  constructor(readonly errors: UserErrorShape[]) {
    super(errors.map((e) => e.message).join(' '));
    this.name = 'UserInputError';
  }
}

export function fail(field: string | string[] | null, code: string, message: string): never {
  throw new UserInputError([{ field: field === null ? null : Array.isArray(field) ? field : [field], code, message }]);
}

/** Collects several problems so the caller sees all of them at once. */
export class ErrorCollector {
  readonly errors: UserErrorShape[] = [];
  add(field: string | string[] | null, code: string, message: string): void {
    this.errors.push({ field: field === null ? null : Array.isArray(field) ? field : [field], code, message });
  }
  throwIfAny(): void {
    if (this.errors.length > 0) throw new UserInputError(this.errors);
  }
}

/** Trims a required text input and checks its length. */
export function requiredText(errors: ErrorCollector, field: string, value: string | null | undefined, max: number): string {
  const text = (value ?? '').trim();
  if (text === '') errors.add(field, 'REQUIRED', `${field} is required.`);
  else if (text.length > max) errors.add(field, 'TOO_LONG', `${field} must be at most ${max} characters.`);
  return text;
}

export function optionalText(errors: ErrorCollector, field: string, value: string | null | undefined, max: number): string {
  const text = value ?? '';
  if (text.length > max) errors.add(field, 'TOO_LONG', `${field} must be at most ${max} characters.`);
  return text;
}

/** PostgreSQL unique_violation on the named constraint or index. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  let e: any = error;
  while (e) {
    if (e.code === '23505' && (e.constraint_name === constraint || e.constraint === constraint)) return true;
    e = e.cause;
  }
  return false;
}

/** The userError for API text holding a NUL or an unpaired surrogate: refused, not cleaned (src/text/clean.ts says why). */
export function unstorableTextError(field: string[]): UserErrorShape {
  return {
    field,
    code: 'INVALID_TEXT',
    message: `${field.at(-1)} contains a NUL character or an unpaired UTF-16 surrogate: send it as valid Unicode text without NUL.`,
  };
}
