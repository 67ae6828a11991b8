import type { GraphiQLOptions } from 'graphql-yoga';

/** What GraphiQL opens with: the most urgent tickets, and how to send the token. */
export const EXAMPLE_QUERY = `# Welcome to Intake. Send your token as a header: open Headers below and fill in the
# Authorization header with the admin token printed at the first start:
#   { "Authorization": "Bearer <token>" }
# then run this query (the ▶ button, or Ctrl-Enter). The Docs pane (top left) documents every
# type and field.
#
# The ten most urgent tickets: highest priority first, then newest first.
query TopTickets {
  tickets(first: 10) {
    totalCount
    nodes {
      number
      title
      priority
      stage { name }
      team { name }
      customer { email }
      slaDeadline
    }
  }
}
`;

export const GRAPHIQL_OPTIONS: GraphiQLOptions = {
  title: 'Intake GraphQL',
  defaultQuery: EXAMPLE_QUERY,
  // Empty until the user fills it in: a blank Authorization header is anonymous, while a
  // placeholder token would be refused (401) and GraphiQL could not even load the schema.
  headers: JSON.stringify({ Authorization: '' }, null, 2),
  defaultEditorToolsVisibility: 'headers',
  subscriptionsProtocol: 'SSE',
};

let page: Promise<string> | undefined;

/**
 * GraphiQL from @graphql-yoga/render-graphiql, which inlines its scripts, styles, editor workers
 * and icon into the page: nothing is fetched from elsewhere (Yoga's default page loads them from a
 * CDN). The package is 18 MB of JavaScript strings, so it is loaded on the first visit rather than
 * at start, and the page (about 9 MB, always the same) is rendered once.
 */
export function renderIntakeGraphiQL(options: GraphiQLOptions): Promise<string> {
  page ??= import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => renderGraphiQL(options));
  return page;
}
