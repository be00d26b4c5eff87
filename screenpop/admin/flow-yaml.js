// Where the cursor is in a flow's YAML, and what the flow language's JSON Schema
// (ctiserver/ivr/flow.schema.json, served at /api/flow-schema) allows there: the editor's
// completion and hover ask this module. Pure functions of the text and the schema (no DOM,
// no editor), so that they can be tried on their own.
//
// The context is read from the lines' indentation (block mappings and "- " sequences, as the
// flows are written) and, within the cursor's line, from the flow collections ({a: b, c: [d]})
// before the cursor. It is a reader for hints, not a parser: the server's check says what is
// wrong.

const KEY_LINE = /^(-\s+)?("[^"]*"|'[^']*'|[^\s:#{}[\],"'][^:#{}[\],]*?)\s*:(?=\s|$)/;

/** One line: its indentation, its "- " (if any), its key and what follows the key's colon. */
function readLine(line) {
  const indent = line.length - line.trimStart().length;
  const content = line.slice(indent);
  if (content === "" || content.startsWith("#")) return null;
  const match = KEY_LINE.exec(content);
  const dash = /^-(\s|$)/.test(content);
  const dashWidth = dash ? (/^-\s*/.exec(content)[0].length) : 0;
  if (!match) return { indent, dash, contentCol: indent + dashWidth, key: null, rest: content.slice(dashWidth) };
  const key = unquote(match[2].trim());
  const rest = content.slice(match[0].length).replace(/^\s+/, "");
  return { indent, dash, contentCol: indent + dashWidth, key, rest };
}

function unquote(text) {
  return /^(["']).*\1$/.test(text) ? text.slice(1, -1) : text;
}

function isBlank(rest) {
  return rest === "" || rest.startsWith("#") || /^[|>][-+0-9]*\s*(#.*)?$/.test(rest);
}

/** The block path (keys, "[]" for a sequence item) of a line whose content starts at `column`. */
function blockPath(lines, lineIndex, column) {
  const path = [];
  let limit = column;
  for (let i = lineIndex - 1; i >= 0 && limit > 0; i--) {
    const info = readLine(lines[i]);
    if (info === null) continue;
    if (info.key !== null && info.contentCol < limit) {
      path.push(info.key);
      limit = info.contentCol;
      if (info.dash && info.indent < limit) {
        path.push("[]");
        limit = info.indent;
      }
    } else if (info.dash && info.indent < limit) {
      path.push("[]");
      limit = info.indent;
    } else if (info.indent < limit) {
      limit = info.indent; // a scalar line: not a parent
    }
  }
  return path.reverse();
}

/**
 * Reads the flow collections ({...} and [...]) of `text` (a value, up to the cursor).
 * Returns { path, mode, key, word } relative to the value, or null outside a collection.
 */
function flowContext(text) {
  const stack = [];
  let token = "";
  let quote = null;
  for (const char of text) {
    if (quote) {
      if (char === quote) quote = null;
      token += char;
      continue;
    }
    const top = stack[stack.length - 1];
    if (char === '"' || char === "'") {
      quote = char;
      token += char;
    } else if (char === "{" || char === "[") {
      const step = top === undefined ? null : (top.kind === "[" ? "[]" : top.key);
      stack.push({ kind: char, step, key: null, inValue: false });
      token = "";
    } else if (char === "}" || char === "]") {
      stack.pop();
      token = "";
    } else if (char === ",") {
      if (top && top.kind === "{") {
        top.key = null;
        top.inValue = false;
      }
      token = "";
    } else if (char === ":" && top && top.kind === "{" && !top.inValue) {
      top.key = unquote(token.trim());
      top.inValue = true;
      token = "";
    } else {
      token += char;
    }
  }
  if (stack.length === 0) return null;
  const path = stack.slice(1).map((frame) => frame.step);
  const top = stack[stack.length - 1];
  const word = token.replace(/^\s+/, "");
  if (top.kind === "[") return { path: [...path, "[]"], mode: "value", key: null, word };
  if (top.inValue) return { path, mode: "value", key: top.key, word };
  return { path, mode: "key", key: null, word };
}

/**
 * What is at offset `pos` of `text`: { path, mode: "key"|"value", key, word, from }.
 * `path` leads to the mapping (mode "key": a key is being written, `word` so far) or to the
 * mapping whose `key` is given a value (mode "value"); `from` is where `word` starts.
 */
export function contextAt(text, pos) {
  const before = text.slice(0, pos);
  const lineStart = before.lastIndexOf("\n") + 1;
  const lines = text.split("\n");
  const lineIndex = before.split("\n").length - 1;
  const head = before.slice(lineStart);
  const indent = head.length - head.trimStart().length;
  let content = head.slice(indent);
  let column = indent;
  const inner = [];
  // "- " items before the cursor on this line
  for (let dash = /^-\s+/.exec(content); dash; dash = /^-\s+/.exec(content)) {
    inner.push("[]");
    column += dash[0].length;
    content = content.slice(dash[0].length);
  }
  const path = [...blockPath(lines, lineIndex, column), ...inner];
  const match = KEY_LINE.exec(content);
  if (!match) {
    if (/^[[{]/.test(content)) {
      const flow = flowContext(content);
      if (flow) return { ...flow, path: [...path, ...flow.path], from: pos - flow.word.length };
    }
    if (content.startsWith("#")) return null;
    return { path, mode: "key", key: null, word: content, from: pos - content.length };
  }
  const key = unquote(match[2].trim());
  const rest = content.slice(match[0].length);
  const value = rest.replace(/^\s+/, "");
  if (value.includes("#") && !/["']/.test(value)) return null; // in a comment
  const flow = /^[[{]/.test(value) ? flowContext(value) : null;
  if (flow) return { ...flow, path: [...path, key, ...flow.path], from: pos - flow.word.length };
  return { path, mode: "value", key, word: value, from: pos - value.length };
}

/** The word (key or value) around offset `pos`: { from, to, text } or null. */
export function wordAt(text, pos) {
  const isWord = (char) => char !== undefined && /[A-Za-z0-9_$-]/.test(char);
  let from = pos;
  let to = pos;
  while (isWord(text[from - 1])) from--;
  while (isWord(text[to])) to++;
  if (from === to) return null;
  return { from, to, text: text.slice(from, to) };
}

/** node id -> kind, and the node ids in their order, read from the text's `nodes:` mapping. */
export function nodesOf(text) {
  const lines = text.split("\n");
  const kinds = new Map();
  let nodesCol = null;
  let idCol = null;
  let current = null;
  for (const line of lines) {
    const info = readLine(line);
    if (info === null) continue;
    if (nodesCol === null) {
      if (info.key === "nodes" && info.indent === 0) nodesCol = 0;
      continue;
    }
    if (info.indent <= nodesCol) break;
    if (info.key === null) continue;
    if (idCol === null) idCol = info.contentCol;
    if (info.contentCol === idCol) {
      current = info.key;
      const inline = /(?:^|[{,]\s*)kind\s*:\s*([A-Za-z_]+)/.exec(info.rest);
      kinds.set(current, inline ? inline[1] : null);
    } else if (current !== null && info.key === "kind" && kinds.get(current) === null) {
      kinds.set(current, info.rest.replace(/\s*#.*$/, "").trim());
    }
  }
  return kinds;
}

// ---- the schema

function deref(root, node) {
  let seen = 0;
  while (node && node.$ref && seen++ < 20) {
    const path = node.$ref.replace(/^#\//, "").split("/");
    node = path.reduce((at, part) => (at ? at[part] : undefined), root);
  }
  return node;
}

/** A schema and the schemas it stands for (its $ref, oneOf/anyOf branches, matching allOf/then). */
function alternatives(root, node, kind) {
  const out = [];
  const visit = (schema, depth) => {
    if (!schema || depth > 10) return;
    const refName = schema.$ref ? schema.$ref.split("/").pop() : null;
    schema = deref(root, schema);
    if (!schema) return;
    out.push({ schema, refName });
    for (const branch of schema.oneOf || []) visit(branch, depth + 1);
    for (const branch of schema.anyOf || []) visit(branch, depth + 1);
    for (const part of schema.allOf || []) {
      if (part.if && part.then) {
        const wanted = part.if.properties?.kind?.const;
        if (wanted !== undefined && wanted === kind) visit(part.then, depth + 1);
      } else {
        visit(part, depth + 1);
      }
    }
  };
  visit(node, 0);
  return out;
}

/**
 * The schema at `path` of a flow: { schemas, kind } where `schemas` are the alternatives that
 * may hold there (several when the language allows several shapes), or null when nothing is
 * known (an unknown key). `kinds` is nodesOf(text).
 */
export function schemaAt(root, path, kinds) {
  let current = [{ schema: root, refName: null }];
  let kind = null;
  for (let index = 0; index < path.length; index++) {
    const step = path[index];
    if (index === 1 && path[0] === "nodes") kind = kinds.get(step) ?? null;
    const next = [];
    for (const { schema } of current) {
      let child;
      if (step === "[]") child = schema.items;
      else if (schema.properties && step in schema.properties) child = schema.properties[step];
      else if (schema.additionalProperties && typeof schema.additionalProperties === "object") child = schema.additionalProperties;
      if (child) next.push(...alternatives(root, child, kind));
    }
    if (next.length === 0) return null;
    current = next;
  }
  return { schemas: current, kind };
}

/** The keys a mapping at `path` may have: [{ name, required, schema }]. */
export function keysAt(root, path, kinds) {
  const found = schemaAt(root, path, kinds);
  if (!found) return [];
  const keys = new Map();
  for (const { schema } of found.schemas) {
    for (const [name, sub] of Object.entries(schema.properties || {})) {
      const required = (schema.required || []).includes(name);
      const known = keys.get(name);
      if (!known) keys.set(name, { name, required, schema: sub });
      else known.required = known.required || required;
    }
  }
  return [...keys.values()];
}

/** What the value at `path` may be: { values: [codes], nodeIds: bool (a node of the flow),
 * queues: bool (a queue of the server), types: [json types] }. */
export function valuesAt(root, path, kinds) {
  const found = schemaAt(root, path, kinds);
  const result = { values: [], nodeIds: false, queues: false, types: [] };
  if (!found) return result;
  const add = (value) => {
    if (!result.values.includes(value)) result.values.push(value);
  };
  for (const { schema, refName } of found.schemas) {
    if (refName === "nodeId") result.nodeIds = true;
    if (refName === "queueName") result.queues = true;
    for (const value of schema.enum || []) add(value);
    if ("const" in schema) add(schema.const);
    const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
    for (const type of types) {
      if (!result.types.includes(type)) result.types.push(type);
      if (type === "boolean") {
        add(true);
        add(false);
      }
    }
  }
  return result;
}

/** What hovering over a key tells: { name, kind, required, types, values, defaultValue, description }. */
export function describeKey(root, path, key, kinds) {
  const keys = keysAt(root, path, kinds);
  const entry = keys.find((candidate) => candidate.name === key);
  if (!entry) return null;
  const found = schemaAt(root, [...path, key], kinds);
  const { values, types, nodeIds } = valuesAt(root, [...path, key], kinds);
  let description = null;
  let defaultValue;
  for (const { schema } of [{ schema: entry.schema }, ...(found ? found.schemas : [])]) {
    if (description === null && schema.description) description = schema.description;
    if (defaultValue === undefined && "default" in schema) defaultValue = schema.default;
  }
  if (found && found.schemas.some(({ schema }) => schema.properties || schema.additionalProperties)) {
    if (!types.includes("object")) types.push("object");
  }
  return {
    name: key, kind: schemaAt(root, path, kinds)?.kind ?? null, required: entry.required,
    types, values, nodeIds, defaultValue, description,
  };
}

/** Every key and node kind the schema names: what the page must have words for. */
export function schemaWords(root) {
  const keys = new Set();
  const visit = (node) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === "object") {
      for (const name of Object.keys(node.properties || {})) keys.add(name);
      Object.values(node).forEach(visit);
    }
  };
  visit(root);
  const kinds = deref(root, root.$defs?.node)?.properties?.kind?.enum || [];
  return { keys: [...keys].sort(), kinds: [...kinds] };
}
