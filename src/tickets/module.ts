import type { AppModule } from '../app-module.js';
import { ticketCreated, ticketUpdated } from './events.js';
import './graphql.js';
import { TICKET_ROUTES } from './routes.js';

/** Tickets: their events (ticketCreated, ticketUpdated) and the attachment downloads. */
export const ticketsModule: AppModule = {
  name: 'tickets',
  events: [ticketCreated, ticketUpdated],
  routes: TICKET_ROUTES,
};
