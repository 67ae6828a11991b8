import { getNamedType, isEnumType, isObjectType, type GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema.js';

const objectTypes = () => Object.values(schema.getTypeMap()).filter((type): type is GraphQLObjectType => isObjectType(type) && !type.name.startsWith('__'));
const isNode = (type: GraphQLObjectType) => type.getInterfaces().some((face) => face.name === 'Node');

describe('API conventions in the schema', () => {
  it('every mutation is verbNoun(input: VerbNounInput!): VerbNounPayload!, the payload with userErrors', () => {
    const shapes = Object.values(schema.getMutationType()!.getFields()).map((field) => {
      const payload = getNamedType(field.type);
      return {
        mutation: field.name,
        args: field.args.map((arg) => `${arg.name}: ${String(arg.type)}`),
        returns: String(field.type),
        userErrors: isObjectType(payload) ? String(payload.getFields().userErrors?.type) : null,
      };
    });
    const expected = shapes.map(({ mutation }) => {
      const name = mutation[0]!.toUpperCase() + mutation.slice(1);
      return { mutation, args: [`input: ${name}Input!`], returns: `${name}Payload!`, userErrors: '[UserError!]!' };
    });
    expect(shapes).toEqual(expected);
  });

  it('every object with an id implements Node, so node(id:) can fetch it, but the parts of a chatbot script', () => {
    // A script's steps and answers are read through their script (staff) or a bot's message (its
    // visitor); their ids name them inside a script (onlyIfAnswerIds, chooseChatbotAnswer). As
    // Nodes, the answers would need one rule for node(id:) and another for a visitor's message.
    const partsOfANode = ['ChatbotAnswer', 'ChatbotStep'];
    expect(objectTypes().filter((type) => type.getFields().id && !isNode(type) && !partsOfANode.includes(type.name)).map((type) => type.name)).toEqual([]);
    expect(partsOfANode.filter((name) => !objectTypes().some((type) => type.name === name && type.getFields().id))).toEqual([]);
  });

  it("names the types of a ticket's chatter after TicketMessage, apart from shared scalars and other Node types", () => {
    const unprefixed = Object.values((schema.getType('TicketMessage') as GraphQLObjectType).getFields())
      .map((field) => getNamedType(field.type))
      .filter((type) => (isObjectType(type) && !isNode(type)) || isEnumType(type))
      .map((type) => type.name)
      .filter((name) => !name.startsWith('TicketMessage'));
    expect(unprefixed).toEqual([]);
  });
});
