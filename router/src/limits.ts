// Operation limits the router enforces before planning anything, so one small request cannot make
// the subgraphs do unbounded work: tokens, aliases, root fields (fewer for mutations), directives,
// depth (the API schema has cycles: Reservation.payment.reservation…) and a cost budget in which a
// list costs its page size times what each element selects (the @cost/@listSize idea of the IBM
// GraphQL cost spec). Aliases and directives are counted by graphql-armor's rules, tokens by
// graphql's parser, the cost by graphql-query-complexity with our estimator. Every refusal is
// QUERY_TOO_COMPLEX (HTTP 400 where there is a status).
//
// checkOperationLimits() is the one check for every transport (HTTP, WebSocket, SSE, multipart):
// parse with parseWithinLimits (the token cap), then call it with the request's operation name and
// variables before asking any subgraph.
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases'
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives'
import {
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  getNamedType,
  isCompositeType,
  isListType,
  isNonNullType,
  type GraphQLOutputType,
  Kind,
  type SelectionSetNode,
  TokenKind,
  parse,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
  validate,
  visit,
} from 'graphql'
import { type ComplexityEstimator, getComplexity } from 'graphql-query-complexity'
import type { ConfigReader } from '@gdmarket/platform/config'

export interface OperationLimits {
  /** MAX_QUERY_TOKENS: lexical tokens in the document (counted while parsing, so a huge document stops early). */
  maxTokens: number
  /** MAX_QUERY_DEPTH: nesting of selection sets (introspection not counted). */
  maxDepth: number
  /** MAX_QUERY_ALIASES: aliased fields in one operation, fragments included. */
  maxAliases: number
  /** MAX_QUERY_ROOT_FIELDS: top-level fields of a query or subscription. */
  maxRootFields: number
  /** MAX_MUTATION_ROOT_FIELDS: top-level fields of a mutation (each one is a write). */
  maxMutationRootFields: number
  /** MAX_QUERY_DIRECTIVES: directives in one operation. */
  maxDirectives: number
  /** MAX_QUERY_COST: the cost budget (see estimateCost). */
  maxCost: number
  /** QUERY_COST_LIST_SIZE: the size assumed for a list whose `first` is not given or not a number. */
  listAssumedSize: number
}

export const LIMIT_ENV = {
  maxTokens: 'MAX_QUERY_TOKENS',
  maxDepth: 'MAX_QUERY_DEPTH',
  maxAliases: 'MAX_QUERY_ALIASES',
  maxRootFields: 'MAX_QUERY_ROOT_FIELDS',
  maxMutationRootFields: 'MAX_MUTATION_ROOT_FIELDS',
  maxDirectives: 'MAX_QUERY_DIRECTIVES',
  maxCost: 'MAX_QUERY_COST',
  listAssumedSize: 'QUERY_COST_LIST_SIZE',
} as const satisfies Record<keyof OperationLimits, string>

export const DEFAULT_OPERATION_LIMITS: OperationLimits = {
  // Apollo Sandbox's introspection query is about 350 tokens; a hand-written page query a few dozen.
  maxTokens: 2_000,
  maxDepth: 12,
  maxAliases: 30,
  maxRootFields: 20,
  // 50 aliased registerItem in one request registered 50 items. One write per request: with two,
  // the first may succeed while the second fails the whole answer (data: null), so a "failed"
  // mutation would have changed something, against the contract.
  maxMutationRootFields: 1,
  maxDirectives: 30,
  // Room for several full pages (items(first: 200) with its item fields costs 200) in one operation.
  maxCost: 5_000,
  // The contract's default page size.
  listAssumedSize: 50,
}

export function readOperationLimits(r: ConfigReader): OperationLimits {
  const d = DEFAULT_OPERATION_LIMITS
  return {
    maxTokens: r.int(LIMIT_ENV.maxTokens, d.maxTokens, { min: 50, max: 1_000_000 }),
    maxDepth: r.int(LIMIT_ENV.maxDepth, d.maxDepth, { min: 2, max: 100 }),
    maxAliases: r.int(LIMIT_ENV.maxAliases, d.maxAliases, { min: 0, max: 100_000 }),
    maxRootFields: r.int(LIMIT_ENV.maxRootFields, d.maxRootFields, { min: 1, max: 100_000 }),
    maxMutationRootFields: r.int(LIMIT_ENV.maxMutationRootFields, d.maxMutationRootFields, { min: 1, max: 1_000 }),
    maxDirectives: r.int(LIMIT_ENV.maxDirectives, d.maxDirectives, { min: 0, max: 100_000 }),
    maxCost: r.int(LIMIT_ENV.maxCost, d.maxCost, { min: 1, max: 1_000_000_000 }),
    listAssumedSize: r.int(LIMIT_ENV.listAssumedSize, d.listAssumedSize, { min: 1, max: 1_000_000 }),
  }
}

/** The refusal every transport sends: QUERY_TOO_COMPLEX, naming the limit that was hit. */
export function queryTooComplex(message: string, limit: keyof OperationLimits): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX', limit: LIMIT_ENV[limit] } })
}

/** The same refusal for Apollo Server, which takes the HTTP status (400) from `extensions.http`. */
export const withHttpStatus = (error: GraphQLError): GraphQLError =>
  new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } })

/** armor's messages start with "Syntax Error: " although none of them is one. */
const armorMessage = (error: GraphQLError) => error.message.replace(/^Syntax Error:\s*/, '')

/** graphql's parser stops at maxTokens with this message (16.x spells it "more that") (Apollo passes `maxTokens` to it as a parse option). */
export const isTokenLimitError = (message: string) => /Document contains more tha[nt] \d+ tokens/.test(message)

/**
 * Parses with graphql's token cap: a document over maxTokens is refused as soon as the lexer passes
 * the limit, before the rest is read, with QUERY_TOO_COMPLEX. Syntax errors are thrown as graphql's
 * parse throws them, so callers report them as they always did.
 */
export function parseWithinLimits(source: string, limits: Pick<OperationLimits, 'maxTokens'>): DocumentNode {
  try {
    return parse(source, { maxTokens: limits.maxTokens })
  } catch (err) {
    if (err instanceof GraphQLError && isTokenLimitError(err.message))
      throw queryTooComplex(`the document has more than ${limits.maxTokens} tokens`, 'maxTokens')
    throw err
  }
}

/** Tokens of an already parsed document (its location chain), for transports that parsed it themselves. */
function tokenCount(document: DocumentNode, stopAfter: number): number {
  let count = 0
  for (let token = document.loc?.startToken.next; token && token.kind !== TokenKind.EOF; token = token.next) {
    if (token.kind !== TokenKind.COMMENT && ++count > stopAfter) break
  }
  return count
}

export interface OperationRequest {
  operationName?: string | null
  variables?: Record<string, unknown> | null
}

/**
 * Every limit, checked against a parsed (not necessarily validated) document: the errors to send,
 * empty when the operation is within every limit. Invalid documents (unknown fields or fragments)
 * do not throw; graphql's own validation reports them.
 */
export function checkOperationLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  limits: OperationLimits,
  request: OperationRequest = {},
): GraphQLError[] {
  if (tokenCount(document, limits.maxTokens) > limits.maxTokens)
    return [queryTooComplex(`the document has more than ${limits.maxTokens} tokens`, 'maxTokens')]
  const shapeErrors = validate(schema, document, operationShapeRules(limits), { maxErrors: 10 })
  if (shapeErrors.length) return [...shapeErrors]
  return checkOperationCost(schema, document, limits, request)
}

/** The limits that do not depend on variables, as validation rules (Apollo runs them with its own validation). */
export function operationShapeRules(limits: OperationLimits): ValidationRule[] {
  // armor reports through callbacks; report into the validation context like any other rule.
  const armor = (limit: keyof OperationLimits, n: number, context: ValidationContext) => ({
    n,
    propagateOnRejection: false,
    onReject: [(_: unknown, error: GraphQLError) => context.reportError(queryTooComplex(armorMessage(error), limit))],
  })
  return [
    context => maxAliasesRule(armor('maxAliases', limits.maxAliases, context))(context),
    context => maxDirectivesRule(armor('maxDirectives', limits.maxDirectives, context))(context),
    maxDepthRule(limits.maxDepth),
    maxRootFieldsRule(limits),
  ]
}

/** The cost budget alone (it needs the variables: `first: $n`). */
export function checkOperationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  limits: Pick<OperationLimits, 'maxCost' | 'listAssumedSize'>,
  request: OperationRequest = {},
): GraphQLError[] {
  const cost = estimateCost(schema, document, limits, request)
  if (cost <= limits.maxCost) return []
  const shown = Number.isFinite(cost) ? String(cost) : 'more than can be counted'
  return [queryTooComplex(`the operation costs ${shown}; at most ${limits.maxCost} is allowed`, 'maxCost')]
}

/**
 * The cost of an operation: a leaf costs 0; an object field costs 1 plus what it selects; a list
 * costs its size times (1 + what each element selects), the size being its `first` argument, or
 * listAssumedSize without one. Nested lists multiply. Introspection costs nothing (the router
 * answers it itself). Infinity when the document explodes past graphql-query-complexity's node cap
 * (a fragment bomb).
 *
 * Remembered per schema and document (Apollo hands every request of one text the same parsed
 * document): the walk over the document was a few percent of the router's CPU on every request.
 * The answer depends on nothing else than the operation's name and the variables that size a list
 * or switch a directive (`first: $n`, `@include(if: $x)`), so those are the rest of the key.
 */
export function estimateCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  limits: Pick<OperationLimits, 'listAssumedSize'>,
  request: OperationRequest = {},
): number {
  const known = knownCosts(schema, document)
  const key = JSON.stringify([
    request.operationName ?? null,
    limits.listAssumedSize,
    ...known.variables.map(name => request.variables?.[name] ?? null),
  ])
  const remembered = known.costs.get(key)
  if (remembered !== undefined) return remembered
  const cost = walkCost(schema, document, limits, request)
  if (known.costs.size < COSTS_PER_DOCUMENT) known.costs.set(key, cost)
  return cost
}

/** Costs remembered for one document: a few operation names and page sizes, no more. */
const COSTS_PER_DOCUMENT = 64

interface KnownCosts {
  /** The variables the cost can depend on. */
  variables: string[]
  costs: Map<string, number>
}

const costsBySchema = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, KnownCosts>>()

function knownCosts(schema: GraphQLSchema, document: DocumentNode): KnownCosts {
  let documents = costsBySchema.get(schema)
  if (!documents) {
    documents = new WeakMap()
    costsBySchema.set(schema, documents)
  }
  let known = documents.get(document)
  if (!known) {
    known = { variables: costVariables(document), costs: new Map() }
    documents.set(document, known)
  }
  return known
}

/** Variables used in a `first` argument or in a directive's arguments: all the cost reads of them. */
export function costVariables(document: DocumentNode): string[] {
  const names = new Set<string>()
  const inside = (value: ValueNode) =>
    visit(value, {
      Variable(node) {
        names.add(node.name.value)
      },
    })
  visit(document, {
    Argument(node, _key, _parent, _path, ancestors) {
      // The nearest ancestor that is a node (the others are the arrays holding them): a field or a directive.
      const owner = ancestors.findLast(a => !Array.isArray(a)) as { kind?: string } | undefined
      if (owner?.kind === Kind.DIRECTIVE || node.name.value === 'first') inside(node.value)
    },
  })
  return [...names].sort()
}

function walkCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  limits: Pick<OperationLimits, 'listAssumedSize'>,
  { operationName, variables }: OperationRequest,
): number {
  const estimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
    if (field.name.startsWith('__')) return 0
    const type = getNamedType(field.type)
    if (!isCompositeType(type)) return 0
    const elements = 1 + childComplexity
    return listDepth(field.type) === 0 ? elements : sizeOf(args.first, limits.listAssumedSize) * elements
  }
  try {
    return getComplexity({
      schema,
      query: document,
      estimators: [estimator],
      operationName: operationName ?? undefined,
      variables: variables ?? {},
    })
  } catch (err) {
    // The node cap is the only reason to refuse here; variables that do not coerce are reported by
    // execution before any subgraph is asked, with BAD_USER_INPUT.
    if (err instanceof GraphQLError && /maximum allowed number of nodes/.test(err.message))
      return Number.POSITIVE_INFINITY
    return 0
  }
}

const sizeOf = (first: unknown, assumed: number): number =>
  typeof first === 'number' && Number.isInteger(first) && first >= 0 ? first : assumed

function listDepth(type: GraphQLOutputType): number {
  let depth = 0
  let t: GraphQLOutputType = type
  for (;;) {
    if (isNonNullType(t)) t = t.ofType
    else if (isListType(t)) {
      depth++
      t = t.ofType
    } else return depth
  }
}

/** Top-level fields of each operation, through fragments; `__typename` is free. */
export function maxRootFieldsRule(
  limits: Pick<OperationLimits, 'maxRootFields' | 'maxMutationRootFields'>,
): ValidationRule {
  return context => {
    const count = (selectionSet: SelectionSetNode, seen: Set<string>): number => {
      let n = 0
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          if (!selection.name.value.startsWith('__')) n++
        } else if (selection.kind === Kind.INLINE_FRAGMENT) n += count(selection.selectionSet, seen)
        else if (!seen.has(selection.name.value)) {
          seen.add(selection.name.value)
          const fragment = context.getFragment(selection.name.value)
          if (fragment) n += count(fragment.selectionSet, seen)
        }
      }
      return n
    }
    return {
      OperationDefinition(node) {
        const mutation = node.operation === 'mutation'
        const max = mutation ? limits.maxMutationRootFields : limits.maxRootFields
        const n = count(node.selectionSet, new Set())
        if (n > max)
          context.reportError(
            queryTooComplex(
              `the ${node.operation} has ${n} top-level fields; at most ${max} are allowed`,
              mutation ? 'maxMutationRootFields' : 'maxRootFields',
            ),
          )
      },
    }
  }
}

/** Rejects operations nested deeper than maxDepth fields. Introspection (`__…`) is not counted, so tools keep working. */
export function maxDepthRule(maxDepth: number): ValidationRule {
  return context => {
    // A fragment's depth does not depend on where it is spread, so each is measured once.
    const fragmentDepths = new Map<string, number>()
    const measuring = new Set<string>()

    const depthOf = (selectionSet: SelectionSetNode): number => {
      let max = 0
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          if (selection.name.value.startsWith('__')) continue
          max = Math.max(max, 1 + (selection.selectionSet ? depthOf(selection.selectionSet) : 0))
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          max = Math.max(max, depthOf(selection.selectionSet))
        } else {
          max = Math.max(max, fragmentDepth(selection.name.value))
        }
      }
      return max
    }

    const fragmentDepth = (name: string): number => {
      const known = fragmentDepths.get(name)
      if (known !== undefined) return known
      const fragment = context.getFragment(name)
      // Unknown or cyclic fragments are reported by graphql's own rules; count them as flat here.
      if (!fragment || measuring.has(name)) return 0
      measuring.add(name)
      const depth = depthOf(fragment.selectionSet)
      measuring.delete(name)
      fragmentDepths.set(name, depth)
      return depth
    }

    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet)
        if (depth > maxDepth) {
          context.reportError(
            queryTooComplex(
              `the operation is nested ${depth} levels deep; at most ${maxDepth} are allowed`,
              'maxDepth',
            ),
          )
        }
      },
    }
  }
}
