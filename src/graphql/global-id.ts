import { encodeGlobalID, resolveNodes } from '@pothos/plugin-relay';
import { GraphQLError, isObjectType, type GraphQLResolveInfo } from 'graphql';

/** Row ids are PostgreSQL `integer` (int4) serials. */
const MAX_ROW_ID = 2_147_483_647;
/** `Type:id` with the id in its one decimal spelling: no sign, no leading zero, no space, no exponent. */
const DECODED = /^([A-Z][A-Za-z0-9]*):([1-9][0-9]{0,9})$/;

/**
 * The type and row id of a global ID, or null when it is not one this API gives out. Only the
 * spelling `encodeGlobalID` makes is accepted, so one object has one ID (`Ticket:01`, `Ticket: 1`
 * or base64 without its padding name nothing).
 */
export function parseGlobalId(globalId: string): { typename: string; id: number } | null {
  const match = DECODED.exec(Buffer.from(globalId, 'base64').toString('utf8'));
  if (!match) return null;
  const id = Number(match[2]);
  if (id > MAX_ROW_ID || encodeGlobalID(match[1]!, id) !== globalId) return null;
  return { typename: match[1]!, id };
}

function shownId(globalId: string): string {
  return globalId.length > 60 ? `${globalId.slice(0, 60)}…` : globalId;
}

export function invalidIdError(globalId: string): GraphQLError {
  return new GraphQLError(`"${shownId(globalId)}" is not a valid ID: pass an \`id\` this API returned, unchanged.`, { extensions: { code: 'BAD_USER_INPUT' } });
}

/**
 * The row id behind an ID argument of a query or subscription (`ticket(id:)`, `tickets(filter:
 * { teamId })`, …) that must name a `typename`. A malformed ID, or the ID of another type, is the
 * caller's mistake: BAD_USER_INPUT naming the argument, never a silent null or empty list.
 * Mutations report the same mistakes as INVALID_ID userErrors (requireIdOf).
 */
export function idArgument(globalId: string | number, typename: string, path: readonly string[]): number {
  const parsed = parseGlobalId(String(globalId));
  if (parsed?.typename === typename) return parsed.id;
  const shown = shownId(String(globalId));
  const message = parsed
    ? `${path.join('.')}: "${shown}" is the ID of a ${parsed.typename}, not of a ${typename}.`
    : `${path.join('.')}: "${shown}" is not a valid ID: pass the \`id\` of a ${typename} as this API returned it, unchanged.`;
  throw new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', field: [...path] } });
}

/** The relay plugin's `decodeGlobalID`: a malformed ID is the caller's mistake, not an internal error. */
export function decodeGlobalIdStrictly(globalId: string): { typename: string; id: string } {
  const parsed = parseGlobalId(globalId);
  if (!parsed) throw invalidIdError(globalId);
  return { typename: parsed.typename, id: String(parsed.id) };
}

type DecodedId = { typename: string; id: unknown };

/** The schema builder, whose node loaders `loadNodes` runs (set once, where the builder is made). */
let nodeBuilder: unknown;
export function loadNodesWith(builder: unknown): void {
  nodeBuilder = builder;
}

/**
 * Loads the objects behind decoded IDs for `node` and `nodes`: null where no row has the ID (it
 * was deleted, or never existed), so one missing object does not fail the others.
 */
export async function loadNodes(ctx: object, info: GraphQLResolveInfo, ids: readonly DecodedId[]): Promise<unknown[]> {
  for (const decoded of ids) {
    const type = info.schema.getType(decoded.typename);
    if (!isObjectType(type) || !type.getInterfaces().some((face) => face.name === 'Node')) {
      const globalId = encodeGlobalID(decoded.typename, String(decoded.id));
      throw new GraphQLError(`"${globalId}" is not the ID of an object: ${decoded.typename} has no IDs.`, { extensions: { code: 'BAD_USER_INPUT' } });
    }
  }
  // One call per ID: the drizzle loader still batches them into one query per type, and a missing
  // row rejects only its own promise.
  return Promise.all(
    ids.map((decoded) =>
      resolveNodes(nodeBuilder as never, ctx, info, [decoded as never]).then(
        ([node]) => node ?? null,
        (error: unknown) => {
          if (error instanceof Error && MISSING_ROW.test(error.message)) return null;
          throw error;
        },
      ),
    ),
  );
}

/** How @pothos/plugin-drizzle's node loader reports an id without a row. */
const MISSING_ROW = /^Model \w+\(.*\) not found$/;
