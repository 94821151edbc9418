// Parsing and validating what arrives over the socket, with the same rules as HTTP (the depth cap
// included). Thousands of clients usually send the same few documents, so each distinct text is
// parsed and validated once per schema; the cache is bounded.
import {
  GraphQLError,
  Kind,
  getArgumentValues,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type FieldNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql'
import { type OperationLimits, operationShapeRules, parseWithinLimits } from '../limits.js'
import { ITEM_INFO_CHANGED } from './plan.js'

export type CheckedDocument = { document: DocumentNode } | { errors: readonly GraphQLError[] }

const DEFAULT_MAX_ENTRIES = 1_000

export class DocumentCache {
  private schema: GraphQLSchema | undefined
  private readonly entries = new Map<string, CheckedDocument>()
  private readonly rules: ValidationRule[]

  constructor(
    extraRules: ValidationRule[],
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
    /** Operation limits checked before graphql's own validation, so a bomb is refused cheaply. */
    private readonly limits?: OperationLimits,
  ) {
    this.rules = [...specifiedRules, ...extraRules]
  }

  get(schema: GraphQLSchema, query: string): CheckedDocument {
    // A new schema invalidates every verdict.
    if (schema !== this.schema) {
      this.schema = schema
      this.entries.clear()
    }
    const known = this.entries.get(query)
    if (known) return known
    const checked = check(schema, query, this.rules, this.limits)
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value ?? '')
    this.entries.set(query, checked)
    return checked
  }
}

function check(
  schema: GraphQLSchema,
  query: string,
  rules: ValidationRule[],
  limits: OperationLimits | undefined,
): CheckedDocument {
  let document: DocumentNode
  try {
    document = limits ? parseWithinLimits(query, limits) : parse(query)
  } catch (err) {
    return { errors: [err instanceof GraphQLError ? err : new GraphQLError('the document does not parse')] }
  }
  if (limits) {
    const refused = validate(schema, document, operationShapeRules(limits))
    if (refused.length) return { errors: refused }
  }
  const errors = validate(schema, document, rules)
  return errors.length ? { errors } : { document }
}

/** The itemInfoChanged field of the operation (through fragments), if it is there. */
function findRootField(selectionSet: SelectionSetNode, document: DocumentNode): FieldNode | undefined {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD && selection.name.value === ITEM_INFO_CHANGED) return selection
    if (selection.kind === Kind.INLINE_FRAGMENT) return findRootField(selection.selectionSet, document)
    if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const fragment = document.definitions.find(
        d => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value,
      )
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION) return findRootField(fragment.selectionSet, document)
    }
  }
  return undefined
}

/** The value of itemInfoChanged's itemId argument (null = every item), variables already coerced. */
export function itemIdArgument(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown>,
): string | null {
  const operation = getOperationAST(document, operationName)
  const field = operation && findRootField(operation.selectionSet, document)
  const definition = schema.getSubscriptionType()?.getFields()[ITEM_INFO_CHANGED]
  if (!field || !definition) return null
  const { itemId } = getArgumentValues(definition, field, variables)
  return typeof itemId === 'string' ? itemId : null
}
