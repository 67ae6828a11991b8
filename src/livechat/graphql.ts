/**
 * The live chat's GraphQL API, split by concern: types (and the queries reaching them),
 * mutations, streams (subscriptions), and access (who may touch a channel or a session).
 */
import './graphql-types.js';
import './graphql-mutations.js';
import './graphql-streams.js';
import './graphql-widget.js';
import './graphql-chatbot.js';

export { ChatMessage, LiveChatChannel, LiveChatSession } from './graphql-types.js';
