import { builder } from '../graphql/builder.js';

export const Customer = builder.drizzleNode('customers', {
  name: 'Customer',
  description: 'Someone who asks for help; one per mail address, whatever its case. A customer known by name only (a chat visitor) has a row of their own per ticket.',
  id: { column: (c) => c.id },
  fields: (t) => ({
    // Plain resolvers rather than t.expose*: exposed fields of drizzle objects are wrapped per row,
    // which costs the hot ticket lists more than the query itself.
    name: t.string({ nullable: true, description: 'Display name, when known.', resolve: (c) => c.name }),
    email: t.string({ nullable: true, description: 'Mail address as first given; null for a customer known by name only (a chat visitor).', resolve: (c) => c.email }),
  }),
});
