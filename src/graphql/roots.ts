import { builder } from './builder.js';

// Every root field needs a token unless it opts out with `skipTypeScopes`: secure by default.
builder.queryType({ description: 'Reading Intake.', authScopes: { agent: true } });
builder.mutationType({ description: 'Changing Intake.', authScopes: { agent: true } });
builder.subscriptionType({ description: 'Live events, over SSE or graphql-ws on /graphql.', authScopes: { agent: true } });
