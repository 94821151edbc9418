// Parsing and validating subscription documents, with the same rules as HTTP (the depth cap and
// the operation limits included), and reading itemInfoChanged's arguments. Thousands of clients
// usually send the same few documents, so each distinct text is parsed and validated once per
// schema; the cache is bounded in bytes of document text (a parsed document costs a multiple of it).
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
import { checkOperationLimits, type OperationLimits, operationShapeRules, parseWithinLimits } from '../limits.js'
import { forbiddenCharacterError } from '../plugins.js'
import { PRIVATE_ITEM_INFO_FIELDS } from '@gdmarket/platform/privacy'
import { ITEM_INFO_CHANGED } from './plan.js'

export type CheckedDocument = { document: DocumentNode } | { errors: readonly GraphQLError[] }

/**
 * An operation sent over a streaming transport (WebSocket, SSE, multipart), checked as HTTP checks
 * it: the supergraph loaded, a query sent, the document parsed and validated (through the cache),
 * the operation limits, no forbidden character in the document or the variables.
 */
export function checkOperation(
  schema: GraphQLSchema | undefined,
  documents: DocumentCache,
  limits: OperationLimits,
  request: { query: unknown; operationName?: string; variables?: Record<string, unknown> },
): { schema: GraphQLSchema; document: DocumentNode } | { errors: readonly GraphQLError[] } {
  if (!schema)
    return {
      errors: [new GraphQLError('the supergraph is not loaded yet', { extensions: { code: 'SERVICE_UNAVAILABLE' } })],
    }
  if (typeof request.query !== 'string')
    return { errors: [new GraphQLError('the request has no query', { extensions: { code: 'BAD_USER_INPUT' } })] }
  const checked = documents.get(schema, request.query)
  if ('errors' in checked) return checked
  const { operationName, variables } = request
  const refused = checkOperationLimits(schema, checked.document, limits, { operationName, variables })
  if (refused.length) return { errors: refused }
  const forbidden = forbiddenCharacterError(checked.document, request.variables)
  return forbidden ? { errors: [forbidden] } : { schema, document: checked.document }
}

export class DocumentCache {
  private schema: GraphQLSchema | undefined
  private readonly entries = new Map<string, CheckedDocument>()
  private readonly rules: ValidationRule[]
  private bytes = 0

  constructor(
    extraRules: ValidationRule[],
    /** Sum of the cached documents' text lengths; the least recently used go first past it. */
    private readonly maxBytes: number,
    /** Operation limits checked before graphql's own validation, so a bomb is refused cheaply. */
    private readonly limits?: OperationLimits,
  ) {
    this.rules = [...specifiedRules, ...extraRules]
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes }
  }

  get(schema: GraphQLSchema, query: string): CheckedDocument {
    // A new schema invalidates every verdict.
    if (schema !== this.schema) {
      this.schema = schema
      this.entries.clear()
      this.bytes = 0
    }
    const known = this.entries.get(query)
    if (known) {
      // Most recently used last, so eviction takes the coldest.
      this.entries.delete(query)
      this.entries.set(query, known)
      return known
    }
    const checked = check(schema, query, this.rules, this.limits)
    // A document larger than the whole cache is checked every time rather than evicting everything.
    if (query.length > this.maxBytes) return checked
    this.entries.set(query, checked)
    this.bytes += query.length
    for (const [text] of this.entries) {
      if (this.bytes <= this.maxBytes) break
      this.entries.delete(text)
      this.bytes -= text.length
    }
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

export interface ItemInfoChangedArguments {
  itemId: string | null
  ownerId: string | null
  after: string | null
  current: boolean
  /** Variables that only say where to start (after, current): not part of what a group shares. */
  startVariables: string[]
  /** Whether the selection asks for a private field (reservationId, customerId, …). */
  selectsPrivate: boolean
}

/** itemInfoChanged's arguments (variables already coerced), null if the operation has no such field. */
export function itemInfoChangedArguments(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown>,
): ItemInfoChangedArguments | null {
  const operation = getOperationAST(document, operationName)
  const field = operation && findRootField(operation.selectionSet, document)
  const definition = schema.getSubscriptionType()?.getFields()[ITEM_INFO_CHANGED]
  if (!field || !definition) return null
  const args = getArgumentValues(definition, field, variables)
  const text = (v: unknown) => (typeof v === 'string' ? v : null)
  const startVariables = (field.arguments ?? []).flatMap(a =>
    (a.name.value === 'after' || a.name.value === 'current') && a.value.kind === Kind.VARIABLE
      ? [a.value.name.value]
      : [],
  )
  return {
    itemId: text(args.itemId),
    ownerId: text(args.ownerId),
    after: text(args.after),
    current: args.current === true,
    startVariables,
    selectsPrivate: field.selectionSet ? selectsAny(field.selectionSet, document, PRIVATE, new Set()) : false,
  }
}

const PRIVATE: ReadonlySet<string> = new Set(PRIVATE_ITEM_INFO_FIELDS)

/** Whether a selection on ItemInfo names one of `fields` (through fragments, each looked at once). */
function selectsAny(
  selectionSet: SelectionSetNode,
  document: DocumentNode,
  fields: ReadonlySet<string>,
  seen: Set<string>,
): boolean {
  return selectionSet.selections.some(selection => {
    if (selection.kind === Kind.FIELD) return fields.has(selection.name.value)
    if (selection.kind === Kind.INLINE_FRAGMENT) return selectsAny(selection.selectionSet, document, fields, seen)
    if (seen.has(selection.name.value)) return false
    seen.add(selection.name.value)
    const fragment = document.definitions.find(
      d => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value,
    )
    return fragment?.kind === Kind.FRAGMENT_DEFINITION && selectsAny(fragment.selectionSet, document, fields, seen)
  })
}
