import type { AppModule } from './app-module.js';
import { authModule } from './auth/module.js';
import { chatbotModule } from './chatbot/module.js';
import { eventLogModule } from './events/module.js';
import { liveChatModule } from './livechat/module.js';
import { mailModule } from './mail/module.js';
import { outboundModule } from './outbound/module.js';
import { slaModule } from './sla/module.js';
import { teamsModule } from './teams/module.js';
import { ticketsModule } from './tickets/module.js';
import { webformModule } from './webform/module.js';

/** Every capability of Intake: what `startApp` composes unless told otherwise. */
export const INTAKE_MODULES: readonly AppModule[] = [eventLogModule, authModule, teamsModule, ticketsModule, mailModule, outboundModule, slaModule, webformModule, chatbotModule, liveChatModule];
