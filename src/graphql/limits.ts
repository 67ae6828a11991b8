import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { GraphQLError, parse, type ExecutionResult, type ValidationRule } from 'graphql';
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

/**
 * A string's UTF-8 size. Nearly every string of a reply is short and ASCII, whose size is its
 * length: a loop over its characters says so faster than asking Buffer, which wins on long ones.
 */
function utf8Bytes(text: string): number {
  if (text.length > 32) return Buffer.byteLength(text);
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return Buffer.byteLength(text);
  return text.length;
}

/**
 * The size of a value written as JSON, in bytes, counted only until it passes `budget` (then any
 * number past it): a reply's size is known without building its string. Strings count their UTF-8
 * bytes and quotes (escapes aside), so the figure is the reply's size to within its escapes.
 * It runs on every reply, so it allocates nothing per value but the walk's stack.
 */
export function jsonSizeWithin(value: unknown, budget: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && size <= budget) {
    const item = stack.pop();
    if (typeof item === 'string') size += utf8Bytes(item) + 2;
    else if (typeof item === 'number' || typeof item === 'boolean') size += String(item).length;
    else if (item === null || item === undefined) size += 4;
    else if (Array.isArray(item)) {
      size += item.length > 0 ? item.length + 1 : 2;
      for (let i = 0; i < item.length; i++) stack.push(item[i]);
    } else if (typeof item === 'object') {
      // Dates, custom scalars' values and GraphQLErrors write themselves; plain objects are walked.
      const toJSON = (item as { toJSON?: () => unknown }).toJSON;
      if (typeof toJSON === 'function') {
        stack.push(toJSON.call(item));
        continue;
      }
      let fields = 0;
      for (const key of Object.keys(item)) {
        const field = (item as Record<string, unknown>)[key];
        if (field === undefined) continue;
        fields++;
        size += utf8Bytes(key) + 3;
        stack.push(field);
      }
      size += fields > 0 ? fields + 1 : 2;
    }
  }
  return size;
}

/**
 * Whether a value written as JSON surely stays within `budget` bytes, by a bound that reads no
 * characters: a string takes at most 6 bytes per UTF-16 unit (\u escapes) and its quotes, a number
 * at most 24 characters. Nearly every reply is far below the limit and passes on this walk alone;
 * one that may not is measured by jsonSizeWithin. The walk stops once the bound passes the budget.
 */
export function jsonSurelyWithin(value: unknown, budget: number): boolean {
  let bound = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') bound += item.length * 6 + 2;
    else if (typeof item === 'number') bound += 24;
    else if (item === null || item === undefined || typeof item === 'boolean') bound += 5;
    else if (Array.isArray(item)) {
      bound += item.length + 2;
      for (let i = 0; i < item.length; i++) stack.push(item[i]);
    } else if (typeof item === 'object') {
      const toJSON = (item as { toJSON?: () => unknown }).toJSON;
      if (typeof toJSON === 'function') {
        stack.push(toJSON.call(item));
        continue;
      }
      bound += 2;
      for (const key in item) {
        if (!Object.hasOwn(item, key)) continue;
        bound += key.length * 6 + 4;
        stack.push((item as Record<string, unknown>)[key]);
      }
    }
    // Functions (graphql-jit's result carries its `stringify`) are not written, as in jsonSizeWithin.
    if (bound > budget) return false;
  }
  return true;
}

/**
 * Refuses a reply larger than `maxBytes` once it is executed and before it is written: cost limits
 * bound the work, not the size (a hundred copies of a long description cost as little as a hundred
 * short ones), and a reply of hundreds of MB would hold the process and its memory while it is
 * stringified. Each event of a subscription is bounded the same way.
 */
export function useResponseSizeLimit(maxBytes: number): Plugin {
  const refusal = (size: number): ExecutionResult => ({
    errors: [
      new GraphQLError(
        `The reply would be larger than ${maxBytes} bytes (${size > maxBytes * 2 ? 'far ' : ''}past the limit): ask for fewer fields, ids or aliases, or for smaller pages.`,
        { extensions: { code: 'RESPONSE_TOO_LARGE' } },
      ),
    ],
  });
  const bound = ({ result, setResult }: { result: ExecutionResult; setResult: (result: ExecutionResult) => void }) => {
    if (jsonSurelyWithin(result, maxBytes)) return;
    const size = jsonSizeWithin(result, maxBytes);
    if (size > maxBytes) setResult(refusal(size));
  };
  return {
    onExecute: () => ({
      onExecuteDone: (payload) => {
        if (isAsyncIterable(payload.result)) return { onNext: bound };
        bound(payload as { result: ExecutionResult; setResult: (result: ExecutionResult) => void });
      },
    }),
    onSubscribe: () => ({ onSubscribeResult: () => ({ onNext: bound }) }),
  };
}
