// Request shape limits the router enforces before planning anything. The API schema has cycles
// (Reservation.payment.reservation.payment…), so without a depth cap one small document could fan
// out into an unbounded number of subgraph fetches.
import { GraphQLError, Kind, type SelectionSetNode, type ValidationRule } from 'graphql'

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
            new GraphQLError(`the operation is nested ${depth} levels deep; at most ${maxDepth} are allowed`, {
              nodes: [node],
            }),
          )
        }
      },
    }
  }
}
