import { defineEvent } from '../events/hub.js';
import { findListedTickets } from './list.js';
import { TICKET_CREATED, TICKET_UPDATED } from './service.js';

// Keyed by team: subscribers may ask for one team's tickets. One read per event per instance,
// stage and customer included, shared by every subscriber.
export const ticketCreated = defineEvent({ name: TICKET_CREATED, load: findListedTickets });
export const ticketUpdated = defineEvent({ name: TICKET_UPDATED, load: findListedTickets });
