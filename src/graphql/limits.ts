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

/**
 * The deepest nesting of brackets ({ [ () in a document, outside strings and comments. graphql-js
 * parses values and selections recursively: a list literal nested a few thousand deep overflows
 * its stack, so the depth is checked by this flat scan before the parser sees the document.
 */
export function bracketDepth(source: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (char === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
    } else if (char === '"' && source.startsWith('"""', i)) {
      // A block string ends at the first """ not escaped as \""".
      let end = source.indexOf('"""', i + 3);
      while (end > 0 && source[end - 1] === '\\') end = source.indexOf('"""', end + 3);
      i = end < 0 ? source.length : end + 2;
    } else if (char === '"') {
      for (i++; i < source.length && source[i] !== '"' && source[i] !== '\n'; i++) if (source[i] === '\\') i++;
    } else if (char === '{' || char === '[' || char === '(') {
      if (++depth > deepest) deepest = depth;
    } else if (char === '}' || char === ']' || char === ')') {
      depth--;
    }
  }
  return deepest;
}

/** Caps parser work and aliases for every transport (HTTP, SSE and WebSocket all go through envelop). */
export function useQueryLimits(): Plugin {
  return {
    onParse({ setParseFn }) {
      setParseFn((source, options) => {
        const text = typeof source === 'string' ? source : source.body;
        const depth = bracketDepth(text);
        if (depth > queryLimits.maxNesting) {
          throw new GraphQLError(`Syntax Error: Document nests brackets ${depth} deep; the limit is ${queryLimits.maxNesting}.`, {
            extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
          });
        }
        return parse(source, { ...options, maxTokens: queryLimits.maxTokens });
      });
    },
    onValidate({ addValidationRule }) {
      addValidationRule(maxAliasesRule);
    },
  };
}
