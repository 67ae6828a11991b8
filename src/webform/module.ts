import type { AppModule } from '../app-module.js';
import './graphql.js';
import { WEBFORM_ROUTES } from './routes.js';

/** Website forms: their GraphQL, and the public /support pages. */
export const webformModule: AppModule = { name: 'webform', routes: WEBFORM_ROUTES };
