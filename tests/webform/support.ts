import { gql } from 'graphql-request';
import type { TestServer } from '../support/server.js';

/** A form with every kind of field: the customer's details, a SELECT with a conditional follow-up, and more. */
export const RICH_FIELDS = [
  { key: 'name', mapsTo: 'CUSTOMER_NAME', inputType: 'TEXT', label: 'Your name', required: true, placeholder: 'Jane Doe' },
  { key: 'email', mapsTo: 'CUSTOMER_EMAIL', inputType: 'EMAIL', label: 'Your email', required: true, description: 'We answer to this address.' },
  { key: 'phone', mapsTo: 'CUSTOMER_PHONE', inputType: 'TEL', label: 'Phone', labelPosition: 'LEFT' },
  { key: 'company', mapsTo: 'CUSTOMER_COMPANY', inputType: 'TEXT', label: 'Company', devices: 'DESKTOP' },
  { key: 'subject', mapsTo: 'TITLE', inputType: 'TEXT', label: 'Subject', required: true },
  { key: 'kind', mapsTo: 'CUSTOM', inputType: 'SELECT', label: 'Kind', required: true, options: [{ value: 'bug', label: 'Bug' }, { value: 'question', label: 'Question' }] },
  { key: 'version', mapsTo: 'CUSTOM', inputType: 'TEXT', label: 'Version', required: true, visibility: 'CONDITIONAL', condition: { fieldKey: 'kind', operator: 'EQUALS', value: 'bug' } },
  { key: 'urgency', mapsTo: 'PRIORITY', inputType: 'SELECT', label: 'Urgency', options: [{ value: 'LOW', label: 'Low' }, { value: 'URGENT', label: 'Urgent' }] },
  { key: 'site', mapsTo: 'CUSTOM', inputType: 'URL', label: 'Web site' },
  { key: 'seats', mapsTo: 'CUSTOM', inputType: 'NUMBER', label: 'Seats' },
  { key: 'since', mapsTo: 'CUSTOM', inputType: 'DATE', label: 'Since' },
  { key: 'consent', mapsTo: 'CUSTOM', inputType: 'CHECKBOX', label: 'Keep me informed', labelPosition: 'RIGHT' },
  { key: 'source', mapsTo: 'CUSTOM', inputType: 'TEXT', label: 'Source', visibility: 'HIDDEN', defaultValue: 'website' },
  { key: 'description', mapsTo: 'DESCRIPTION', inputType: 'TEXTAREA', label: 'Description', required: true },
];

/** A team with its website form switched on, shaped with RICH_FIELDS and published. */
export async function publishedRichForm(server: TestServer, name: string) {
  const { createTeam } = await server.client().request<any>(gql`mutation ($n: String!) { createTeam(input: { name: $n, useWebsiteForm: true }) { team { id } } }`, { n: name });
  const teamId = createTeam.team.id as string;
  const { updateWebsiteForm } = await server.client().request<any>(
    gql`mutation ($input: UpdateWebsiteFormInput!) { updateWebsiteForm(input: $input) { websiteForm { url } userErrors { field code message } } }`,
    {
      input: {
        teamId,
        title: `${name} support`,
        intro: 'Tell us what happened.',
        successMessage: 'Thanks! We are on it.',
        sideBlocks: [{ title: 'Opening hours', body: 'Monday to Friday, 9:00–17:00' }],
        fields: RICH_FIELDS,
      },
    },
  );
  if (updateWebsiteForm.userErrors.length) throw new Error(JSON.stringify(updateWebsiteForm.userErrors));
  await server.client().request(gql`mutation ($t: ID!) { publishWebsiteForm(input: { teamId: $t }) { websiteForm { published } } }`, { t: teamId });
  return { teamId, url: updateWebsiteForm.websiteForm.url as string };
}
