import { describe, expect, it } from 'vitest';
import { aliasFromName, firstFreeAlias } from '../../src/teams/service.js';

describe('aliasFromName', () => {
  it.each([
    ['Customer Care', 'customer-care'],
    ['Service Après-Vente', 'service-apres-vente'],
    ['  Ça   marche  ', 'ca-marche'],
    ['Sales & Support', 'sales-support'],
    ['Équipe Ünïcödé', 'equipe-unicode'],
    ['IT', 'it'],
    ['!!!', 'team'],
    ['a.b_c', 'a.b_c'],
  ])('%s → %s', (name, alias) => {
    expect(aliasFromName(name)).toBe(alias);
  });
});

describe('firstFreeAlias', () => {
  it.each([
    [[], 'support'],
    [['support'], 'support-2'],
    [['support', 'support-2'], 'support-3'],
    [['support', 'support-3'], 'support-2'],
    [['support-2'], 'support'],
  ])('taken %j → %s', (taken, expected) => {
    expect(firstFreeAlias('support', taken)).toBe(expected);
  });
});
