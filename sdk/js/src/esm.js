// Turns an extension's ES module source into the body of a function
// `(__api, __exports) => { ... }`: `import ... from 'directus:api'` becomes a
// destructuring of `__api`, `export` statements assign to `__exports`.
// Any other import is refused: a sandboxed extension has nothing else to load;
// a dynamic `import(x)` becomes `__import(x)` (see globals.js).
import { parse } from 'acorn';
import { importExpressionEdits } from './globals.js';
import { regexLiteralEdits } from './regexp.js';

const API_MODULE = 'directus:api';

function nameOf(node) {
  return node.type === 'Literal' ? String(node.value) : node.name;
}

function declaredNames(decl) {
  if (decl.type === 'VariableDeclaration') {
    const names = [];
    const collect = (pattern) => {
      switch (pattern.type) {
        case 'Identifier': names.push(pattern.name); break;
        case 'ObjectPattern': pattern.properties.forEach((p) => collect(p.type === 'RestElement' ? p.argument : p.value)); break;
        case 'ArrayPattern': pattern.elements.filter(Boolean).forEach(collect); break;
        case 'RestElement': collect(pattern.argument); break;
        case 'AssignmentPattern': collect(pattern.left); break;
      }
    };
    decl.declarations.forEach((d) => collect(d.id));
    return names;
  }
  return decl.id ? [decl.id.name] : [];
}

export function transformModule(source, apiNames) {
  let ast;
  try {
    ast = parse(source, { ecmaVersion: 'latest', sourceType: 'module' });
  } catch (e) {
    throw new SyntaxError(`extension source does not parse: ${e.message}`);
  }
  const edits = [];
  const trailer = [];
  for (const node of ast.body) {
    switch (node.type) {
      case 'ImportDeclaration': {
        if (node.source.value !== API_MODULE) {
          throw new Error(`Cannot import "${node.source.value}": a sandboxed extension can only import "${API_MODULE}"`);
        }
        const parts = node.specifiers.map((s) => {
          if (s.type === 'ImportSpecifier') {
            const imported = nameOf(s.imported);
            if (!apiNames.includes(imported)) {
              throw new Error(`"${API_MODULE}" has no export named "${imported}" (it has: ${apiNames.join(', ')})`);
            }
            return `const ${s.local.name} = __api[${JSON.stringify(imported)}];`;
          }
          return `const ${s.local.name} = __api;`;
        });
        edits.push({ start: node.start, end: node.end, text: parts.join(' ') });
        break;
      }
      case 'ExportDefaultDeclaration': {
        const d = node.declaration;
        const named = (d.type === 'FunctionDeclaration' || d.type === 'ClassDeclaration') && d.id;
        edits.push({ start: node.start, end: d.start, text: named ? '' : '__exports.default = ' });
        if (named) trailer.push(`__exports.default = ${d.id.name};`);
        break;
      }
      case 'ExportNamedDeclaration': {
        if (node.source) {
          throw new Error(`Cannot re-export from "${node.source.value}": a sandboxed extension can only import "${API_MODULE}"`);
        }
        if (node.declaration) {
          edits.push({ start: node.start, end: node.declaration.start, text: '' });
          declaredNames(node.declaration).forEach((n) => trailer.push(`__exports[${JSON.stringify(n)}] = ${n};`));
        } else {
          edits.push({ start: node.start, end: node.end, text: '' });
          node.specifiers.forEach((s) => trailer.push(`__exports[${JSON.stringify(nameOf(s.exported))}] = ${nameOf(s.local)};`));
        }
        break;
      }
      case 'ExportAllDeclaration':
        throw new Error(`Cannot re-export from "${node.source.value}": a sandboxed extension can only import "${API_MODULE}"`);
      default:
        break;
    }
  }
  edits.push(...importExpressionEdits(ast), ...regexLiteralEdits(ast));
  if (source.startsWith('#!')) {
    // a hashbang line (ES2023) is only valid at the very start of a script or module
    const end = source.search(/[\n\r\u2028\u2029]/);
    edits.push({ start: 0, end: end < 0 ? source.length : end, text: '' });
  }
  let out = source;
  const lines = (text) => (text.match(/\n/g) || []).length;
  for (const e of edits.sort((a, b) => b.start - a.start)) {
    // keep every line where it was: a guest error's stack names the author's lines
    const kept = '\n'.repeat(Math.max(0, lines(out.slice(e.start, e.end)) - lines(e.text)));
    out = out.slice(0, e.start) + e.text + kept + out.slice(e.end);
  }
  return `"use strict";\n${out}\n;${trailer.join('\n')}`;
}
