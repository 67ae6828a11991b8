const EMAIL = /^[^\s@<>(),;:"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

export function isEmailAddress(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value);
}

/** An address on the internet: its domain has a dot (no "jane@localhost" from a public form). */
export function isInternetEmailAddress(value: string): boolean {
  return isEmailAddress(value) && value.slice(value.lastIndexOf('@') + 1).includes('.');
}
