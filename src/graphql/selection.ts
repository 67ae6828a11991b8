import { getColumns, type Table } from 'drizzle-orm';
import { Kind, type FieldNode, type FragmentDefinitionNode, type GraphQLObjectType, type SelectionSetNode } from 'graphql';

/** The fields a query selects under a field, by name, each with what it selects in turn. */
export type SelectedFields = Map<string, SelectedFields>;

/**
 * What `fieldNodes` select, with fragments (inline and named) flattened and aliases of one field
 * merged. Type conditions are ignored: the result may name more than one type asks for, never less.
 */
export function selectedFields(fieldNodes: readonly FieldNode[], fragments: Record<string, FragmentDefinitionNode>): SelectedFields {
  const selected: SelectedFields = new Map();
  for (const node of fieldNodes) if (node.selectionSet) addSelections(node.selectionSet, fragments, selected);
  return selected;
}

function addSelections(set: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, into: SelectedFields) {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      const name = selection.name.value;
      const under = into.get(name) ?? into.set(name, new Map()).get(name)!;
      if (selection.selectionSet) addSelections(selection.selectionSet, fragments, under);
    } else {
      const inner = selection.kind === Kind.INLINE_FRAGMENT ? selection.selectionSet : fragments[selection.name.value]?.selectionSet;
      if (inner) addSelections(inner, fragments, into);
    }
  }
}

/** Both selections as one. */
export function mergeSelections(...sets: (SelectedFields | undefined)[]): SelectedFields {
  const merged: SelectedFields = new Map();
  for (const set of sets) {
    for (const [name, under] of set ?? []) merged.set(name, mergeSelections(merged.get(name), under));
  }
  return merged;
}

/**
 * Declares on a field which columns of its object's row it reads, for fields not named after a
 * column: `extensions: readsColumns('stageId')`. Lists use it to fetch only what a query shows.
 */
export function readsColumns(...columns: string[]) {
  return { readsColumns: columns };
}

/**
 * The columns of `table` that the selected fields of `type` read: a field reads the column of its
 * own name, or those it declares with `readsColumns`. Undefined (the whole row) as soon as one
 * selected field does neither, so a field added without a declaration is slower, never wrong.
 */
export function columnsRead(type: GraphQLObjectType, table: Table, selected: SelectedFields): string[] | undefined {
  const columns = getColumns(table) as Record<string, unknown>;
  const fields = type.getFields();
  const read = new Set<string>();
  for (const name of selected.keys()) {
    if (name === '__typename') continue;
    const declared = fields[name]?.extensions?.readsColumns as string[] | undefined;
    if (declared) for (const column of declared) read.add(column);
    else if (name in columns) read.add(name);
    else return undefined;
  }
  return [...read];
}
