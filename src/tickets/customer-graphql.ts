import { builder } from '../graphql/builder.js';

export const Customer = builder.drizzleNode('customers', {
  name: 'Customer',
  description: 'Someone who asks for help; one per mail address, whatever its case.',
  id: { column: (c) => c.id },
  fields: (t) => ({
    // Plain resolvers rather than t.expose*: exposed fields of drizzle objects are wrapped per row,
    // which costs the hot ticket lists more than the query itself.
    name: t.string({ nullable: true, description: 'Display name, when known.', resolve: (c) => c.name }),
    email: t.string({ description: 'Mail address as first given.', resolve: (c) => c.email }),
  }),
});
