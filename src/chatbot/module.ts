import type { AppModule } from '../app-module.js';
import './graphql.js';

/**
 * Chatbot scripts as data: their GraphQL (the script, its steps and answers, the admins' list
 * and mutations). Running a script is live chat's: its rules attach scripts, its sessions run them.
 */
export const chatbotModule: AppModule = { name: 'chatbot' };
