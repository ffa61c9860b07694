// as-pect's transform for assemblyscript 0.28.
//
// @as-pect/transform 8.1.0 adds `__aspectStrictEquals` and
// `__aspectAddReflectedValueKeyValuePairs` to every class so that `toStrictEqual` and
// the reflected values of failed expectations work on class instances. It was compiled
// against assemblyscript 0.27 and compares AST node kinds with the numbers of 0.27
// (ClassDeclaration 51, NamespaceDeclaration 59, FieldDeclaration 54,
// MethodDeclaration 58); 0.28 inserted a node kind before them (52, 60, 55, 59), so the
// stock transform never sees a class and `toStrictEqual` on a class does not compile.
//
// This transform finds classes and namespaces with 0.28's own NodeKind and hands
// as-pect's member builders a view of each class whose members report the kind numbers
// those builders test for. Everything else (flags, tokens) has the same numbers in both
// versions. Used by as-pect.asconfig.json.
import { Transform } from "assemblyscript/dist/transform.js";
import { NodeKind } from "assemblyscript/dist/assemblyscript.js";
import { createStrictEqualsMember } from "@as-pect/transform/lib/createStrictEqualsMember.js";
import { createAddReflectedValueKeyValuePairsMember } from "@as-pect/transform/lib/createAddReflectedValueKeyValuePairsMember.js";

/** NodeKind numbers @as-pect/transform 8.1.0 was compiled with (assemblyscript 0.27). */
const ASPECT_KINDS = new Map([
  [NodeKind.FieldDeclaration, 54],
  [NodeKind.MethodDeclaration, 58],
]);

/** The node, seen with the kind number as-pect's builders expect (prototype keeps the rest). */
function asAspectSees(node) {
  const kind = ASPECT_KINDS.get(node.kind);
  return kind === undefined ? node : Object.create(node, { kind: { value: kind } });
}

function traverseStatements(statements) {
  for (const statement of statements) {
    if (statement.kind === NodeKind.ClassDeclaration) {
      const view = Object.create(statement, { members: { value: statement.members.map(asAspectSees) } });
      const strictEquals = createStrictEqualsMember(view);
      const reflect = createAddReflectedValueKeyValuePairsMember(view);
      statement.members.push(strictEquals, reflect);
    } else if (statement.kind === NodeKind.NamespaceDeclaration) {
      traverseStatements(statement.members);
    }
  }
}

export default class AspectTransform extends Transform {
  afterParse(parser) {
    const sources = parser.program ? parser.program.sources : parser.sources;
    for (const source of sources) traverseStatements(source.statements);
  }
}
