import { GraphQLError } from 'graphql';
import { USER_ERROR_CODES, UserInputError, type UserErrorCode, type UserErrorShape } from '../errors.js';
import { builder } from './builder.js';
import { parseGlobalId } from './global-id.js';

/** The codes of USER_ERROR_CODES as an enum, in their declared order, each with its meaning: generated clients get a closed type. */
export const UserErrorCodeEnum = builder.enumType('UserErrorCode', {
  description: 'What kind of input problem a userError reports: a stable, machine-readable code. Later versions may add codes.',
  values: Object.fromEntries(Object.entries(USER_ERROR_CODES).map(([code, meaning]) => [code, { value: code as UserErrorCode, description: meaning }])) as Record<
    UserErrorCode,
    { value: UserErrorCode; description: string }
  >,
});

export const UserError = builder.objectRef<UserErrorShape>('UserError').implement({
  description: 'An input problem the caller can fix; the mutation changed nothing.',
  fields: (t) => ({
    field: t.exposeStringList('field', {
      nullable: true,
      description: 'Path to the offending input field, e.g. ["input", "name"]; null when the whole input is at fault.',
    }),
    message: t.exposeString('message', { description: 'What is wrong and what to do, in English.' }),
    code: t.field({ type: UserErrorCodeEnum, description: 'Stable machine-readable code: what kind of problem it is.', resolve: (e) => e.code }),
    retryAfterSeconds: t.int({
      nullable: true,
      description: 'RATE_LIMITED: whole seconds until the same call is accepted again; null for every other code.',
      resolve: (e) => e.retryAfterSeconds ?? null,
    }),
  }),
});

export type WithUserErrors<T> = Partial<T> & { userErrors: UserErrorShape[] };

/**
 * Runs a mutation's service call. Expected failures become userErrors whose paths start at
 * the mutation's `input` argument; anything else is thrown and masked by Yoga.
 */
export async function withUserErrors<T extends object>(run: () => Promise<T>): Promise<WithUserErrors<T>> {
  try {
    return { ...(await run()), userErrors: [] };
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    return {
      userErrors: error.errors.map((e) => ({ ...e, field: e.field ? ['input', ...e.field] : null })),
    } as WithUserErrors<T>;
  }
}

/** Database id behind a global ID of the given type, or null when it is not one (in its one canonical spelling). */
export function idOf(globalId: string, typename: string): number | null {
  const parsed = parseGlobalId(globalId);
  return parsed?.typename === typename ? parsed.id : null;
}

/** Like idOf, but a wrong ID is a userError on the given input field. */
export function requireIdOf(globalId: string, typename: string, field: string): number {
  const id = idOf(globalId, typename);
  if (id === null) {
    throw new UserInputError([{ field: [field], code: 'INVALID_ID', message: `${field} must be the ID of a ${typename}.` }]);
  }
  return id;
}

/**
 * Connection type options with a described totalCount. Root connections hand over the count as
 * a function, called only when the field is selected.
 */
export function connectionTypeOptions(description: string): any {
  return {
    description,
    fields: (t: any) => ({
      totalCount: t.int({
        description: 'Number of items in the whole list, across all pages.',
        extensions: { pothosDrizzleTotalCount: true },
        resolve: (connection: { totalCount: number | (() => Promise<number>) }) =>
          typeof connection.totalCount === 'function' ? connection.totalCount() : connection.totalCount,
      }),
    }),
  };
}

/**
 * A mutation payload: the changed object (or list) under `field`, null on failure, and the
 * userErrors that explain the failure.
 */
export function payloadType<Shape, const K extends string>(name: string, description: string, field: K, type: any, fieldDescription: string) {
  return builder.objectRef<{ [P in K]?: Shape } & { userErrors: UserErrorShape[] }>(name).implement({
    description,
    fields: (t) =>
      ({
        [field]: t.field({ type, nullable: true, description: fieldDescription, resolve: (p: any) => p[field] ?? null }),
        userErrors: t.field({ type: [UserError], description: 'Why nothing changed; empty on success.', resolve: (p) => p.userErrors }),
      }) as any,
  });
}

/** A cursor this API did not give out is the caller's mistake: a clear GraphQL error, not a masked one. */
export async function withCursorErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof UserInputError) throw new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT', reason: 'INVALID_CURSOR' } });
    throw error;
  }
}
