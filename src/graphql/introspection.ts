import { GraphQLError, NoSchemaIntrospectionCustomRule, validate } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isStaff } from '../auth/principal.js';
import type { Context } from './context.js';

const SUGGESTION = /\s*Did you mean [^?]*\?/;
const SUGGESTIONS = new RegExp(SUGGESTION.source, 'g');

function withoutSuggestions(error: GraphQLError): GraphQLError {
  if (!SUGGESTION.test(error.message)) return error;
  return new GraphQLError(error.message.replace(SUGGESTIONS, ''), {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

/**
 * Keeps the schema's shape from anonymous callers when they may not introspect it: `__schema`
 * and `__type` are refused, and "Did you mean …?" suggestions, which would spell out field and
 * type names one guess at a time, are cut from error messages. Introspection is refused at
 * execution, where the caller is known; suggestions are cut from HTTP results, where a request
 * that failed validation is authenticated on its own.
 */
export function useSchemaHiding(options: { hideFromAnonymous: boolean; isStaff: (request: Request) => Promise<boolean> }): Plugin<Context> {
  if (!options.hideFromAnonymous) return {};
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (isStaff((args.contextValue as Context).principal)) return;
      const refused = validate(args.schema, args.document, [NoSchemaIntrospectionCustomRule]);
      if (refused.length === 0) return;
      setResultAndStopExecution({
        errors: [
          new GraphQLError('Introspection is off for anonymous callers: send "Authorization: Bearer <token>" to read the schema.', {
            nodes: refused[0]!.nodes,
            extensions: { code: 'INTROSPECTION_DISABLED' },
          }),
        ],
      });
    },
    // Not async: a result without suggestions (nearly all) passes without a promise of its own.
    onExecutionResult({ request, result, setResult, context }) {
      if (!result || Symbol.asyncIterator in result || !result.errors?.some((error) => SUGGESTION.test(error.message))) return;
      const errors = result.errors;
      const cut = () => setResult({ ...result, errors: errors.map((error) => withoutSuggestions(error as GraphQLError)) });
      // Visitors hold a token anyone can get by starting a chat: they see what anonymous callers see.
      const principal = (context as Partial<Context>).principal;
      if (principal) return void (isStaff(principal) || cut());
      return options.isStaff(request).then((staff) => void (staff || cut()));
    },
  };
}
