import type { Plugin } from 'graphql-yoga';
import { GraphQLError, parse, type ValidationRule } from 'graphql';
import { queryLimits } from './builder.js';

/** Refuses documents with more aliases than allowed: aliases multiply work without deepening a query. */
export const maxAliasesRule: ValidationRule = (context) => {
  let aliases = 0;
  return {
    Field(node) {
      if (node.alias && ++aliases === queryLimits.maxAliases + 1) {
        context.reportError(
          new GraphQLError(`Query uses more than ${queryLimits.maxAliases} aliases.`, { nodes: [node], extensions: { code: 'QUERY_TOO_COMPLEX' } }),
        );
      }
    },
  };
};

/** Caps parser work and aliases for every transport (HTTP, SSE and WebSocket all go through envelop). */
export function useQueryLimits(): Plugin {
  return {
    onParse({ setParseFn }) {
      setParseFn((source, options) => parse(source, { ...options, maxTokens: queryLimits.maxTokens }));
    },
    onValidate({ addValidationRule }) {
      addValidationRule(maxAliasesRule);
    },
  };
}
