// The flow editor's code editor: CodeMirror 6 (screenpop/vendor/codemirror/, one ES module
// made by scripts/vendor-codemirror.sh) with YAML highlighting, completion and hover from the
// flow language's JSON Schema (GET /api/flow-schema, read by flow-yaml.js), and the server's
// problems underlined at their line. Every word it shows is in the page's language
// (flow-words.js, i18n.js); hover and completion texts are inserted as text, never as markup.
import {
  Compartment, EditorState, EditorView, HighlightStyle, autocompletion, bracketMatching,
  closeBrackets, closeBracketsKeymap, completionKeymap, defaultKeymap, drawSelection, foldGutter,
  foldKeymap, highlightActiveLine, highlightActiveLineGutter, highlightSelectionMatches,
  highlightSpecialChars, history, historyKeymap, hoverTooltip, indentOnInput, indentUnit,
  indentWithTab, keymap, lineNumbers, lintGutter, lintKeymap, placeholder, searchKeymap,
  setDiagnostics, syntaxHighlighting, tags, yaml,
} from "../vendor/codemirror/codemirror.esm.js";
import { el, lang, meta, t } from "../common.js";
import { KEY_WORDS, KIND_WORDS } from "./flow-words.js";
import { contextAt, describeKey, keysAt, nodesOf, valuesAt, wordAt } from "./flow-yaml.js";

// colours of at least 4.5:1 on the editor's white and on its active line (WCAG AA)
const highlighting = HighlightStyle.define([
  { tag: [tags.propertyName, tags.definition(tags.propertyName)], color: "#1d4ed8" },
  { tag: [tags.string, tags.special(tags.string)], color: "#065f46" },
  { tag: [tags.number, tags.bool, tags.null, tags.atom, tags.keyword], color: "#9a3412" },
  { tag: [tags.comment, tags.lineComment], color: "#4b5563", fontStyle: "italic" },
  { tag: [tags.meta, tags.labelName, tags.typeName], color: "#6b21a8" },
  { tag: [tags.punctuation, tags.separator, tags.squareBracket, tags.brace], color: "#374151" },
  { tag: tags.invalid, color: "#b91c1c" },
]);

const theme = EditorView.theme({
  "&": { height: "100%", fontSize: "13px", backgroundColor: "#fff", color: "#111827" },
  "&.cm-focused": { outline: "2px solid #1d4ed8", outlineOffset: "-2px" },
  ".cm-scroller": {
    fontFamily: '"DejaVu Sans Mono", "Noto Sans Mono CJK SC", "WenQuanYi Micro Hei Mono", monospace',
    lineHeight: "18px",
  },
  ".cm-gutters": { backgroundColor: "#f9fafb", color: "#4b5563", borderRight: "1px solid #d1d5db" },
  ".cm-activeLine": { backgroundColor: "#f1f5f9" },
  ".cm-activeLineGutter": { backgroundColor: "#e2e8f0", color: "#111827" },
  ".cm-placeholder": { color: "#4b5563" },
  ".cm-tooltip": { maxWidth: "420px" },
  ".cm-tooltip-autocomplete ul li[aria-selected]": { backgroundColor: "#1d4ed8", color: "#fff" },
  ".cm-completionDetail": { color: "#374151" },
  ".cm-tooltip-autocomplete ul li[aria-selected] .cm-completionDetail": { color: "#fff" },
  ".cm-diagnostic-error": { borderLeftColor: "#b91c1c" },
  // CodeMirror draws the underline and the gutter's mark as data: images, which the pages'
  // CSP (img-src 'self' blob:) refuses: a wavy text decoration and a round mark instead
  ".cm-lintRange-error": {
    backgroundImage: "none", textDecoration: "underline wavy #b91c1c", textDecorationSkipInk: "none",
    textUnderlineOffset: "3px",
  },
  ".cm-lint-marker-error": {
    content: "normal", backgroundColor: "#b91c1c", borderRadius: "50%", width: ".7em", height: ".7em",
    margin: ".15em",
  },
  ".flow-hover": { padding: "4px 8px", fontSize: "12px", lineHeight: "1.5", color: "#111827" },
  ".flow-hover strong": { fontFamily: '"DejaVu Sans Mono", monospace', marginRight: "6px" },
});

/** `words` is [zh, en]: the page's language's. */
function inLang(words) {
  return words ? words[lang() === "en" ? 1 : 0] : "";
}

/** The words for `key` (within node `kind`, when it has its own). */
export function keyWords(key, kind) {
  return inLang(KEY_WORDS[`${kind}.${key}`] || KEY_WORDS[key]);
}

export function kindWords(kind) {
  return inLang(KIND_WORDS[kind]);
}

/** The editor in `parent`; `onChange()` is called after each edit of the text. */
export class FlowEditor {
  constructor(parent, { onChange }) {
    this.schema = null;
    this.problems = [];
    this.labels = new Compartment();
    // in a shadow root, CodeMirror's styles go in as a constructed style sheet; in the
    // document they would be a <style> element, which the pages' CSP (style-src 'self') refuses
    const root = parent.attachShadow({ mode: "open" });
    this.view = new EditorView({
      root,
      parent: root,
      state: EditorState.create({ doc: "", extensions: this.extensions(onChange) }),
    });
  }

  extensions(onChange) {
    return [
      lineNumbers(), highlightActiveLineGutter(), highlightSpecialChars(), history(), foldGutter(),
      drawSelection(), indentOnInput(), bracketMatching(), closeBrackets(), highlightActiveLine(),
      highlightSelectionMatches(), lintGutter(),
      EditorState.tabSize.of(2), indentUnit.of("  "), // YAML indents with spaces only
      yaml(), syntaxHighlighting(highlighting), theme,
      autocompletion({ override: [(context) => this.complete(context)], icons: false }),
      hoverTooltip((view, pos) => this.hover(view, pos), { hoverTime: 300 }),
      // Tab indents; Esc then Tab (or Ctrl-M) leaves the editor by keyboard
      keymap.of([
        ...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...foldKeymap,
        ...completionKeymap, ...lintKeymap, indentWithTab,
      ]),
      this.labels.of(this.labelExtensions()),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) onChange();
      }),
    ];
  }

  labelExtensions() {
    return [
      placeholder(t("flows.source_placeholder")),
      EditorView.contentAttributes.of({ "aria-label": t("flows.source_label"), "data-testid": "source", tabindex: "0" }),
    ];
  }

  /** The page's language changed: the editor's own words and the problems' messages. */
  relabel() {
    this.view.dispatch({ effects: this.labels.reconfigure(this.labelExtensions()) });
    this.showProblems(this.problems);
  }

  setSchema(schema) {
    this.schema = schema;
  }

  get text() {
    return this.view.state.doc.toString();
  }

  set text(source) {
    this.view.dispatch({
      changes: { from: 0, to: this.view.state.doc.length, insert: source },
      selection: { anchor: 0 },
      scrollIntoView: true,
    });
  }

  /** Underlines each problem ({line, column, message}, 1-based) from its column to its word's end. */
  showProblems(problems) {
    this.problems = problems;
    const doc = this.view.state.doc;
    const diagnostics = problems.map((problem) => {
      const { from, to } = this.span(problem.line, problem.column);
      return { from, to, severity: "error", message: t("flows.problem_at", problem) };
    });
    diagnostics.sort((a, b) => a.from - b.from);
    this.view.dispatch(setDiagnostics(this.view.state, diagnostics));
    return doc;
  }

  span(lineNumber, column) {
    const doc = this.view.state.doc;
    const line = doc.line(Math.min(Math.max(1, lineNumber), doc.lines));
    const from = line.from + Math.min(Math.max(0, column - 1), line.length);
    const word = wordAt(doc.toString(), from);
    let to = word && word.from <= from ? word.to : line.to;
    if (to <= from) to = Math.min(line.to, from + 1);
    if (to <= from && line.length > 0) return { from: line.from, to: line.to };
    return { from, to };
  }

  /** Puts the cursor on `line`, `column` (1-based), shows it and focuses the editor. */
  goTo(line, column) {
    const { from } = this.span(line, column);
    this.view.dispatch({ selection: { anchor: from }, effects: EditorView.scrollIntoView(from, { y: "center" }) });
    this.view.focus();
  }

  focus() {
    this.view.focus();
  }

  // ---- completion and hover

  complete(context) {
    if (!this.schema) return null;
    const text = context.state.doc.toString();
    const where = contextAt(text, context.pos);
    if (!where) return null;
    if (!context.explicit && where.word === "" && where.mode === "key") return null;
    const kinds = nodesOf(text);
    let options;
    if (where.mode === "key") {
      const kind = where.path[0] === "nodes" ? kinds.get(where.path[1]) : null;
      options = keysAt(this.schema, where.path, kinds).map((key) => ({
        label: key.name, apply: `${key.name}: `, type: "property", boost: key.required ? 1 : 0,
        detail: (key.required ? `${t("flows.required")} · ` : "") + keyWords(key.name, kind),
      }));
    } else {
      const path = where.key === null ? where.path : [...where.path, where.key];
      const allowed = valuesAt(this.schema, path, kinds);
      options = allowed.values.map((value) => ({
        label: String(value), type: "enum",
        detail: where.key === "kind" ? kindWords(value) : keyWords(String(value), null),
      }));
      if (allowed.queues) {
        for (const queue of meta.queues || []) options.push({ label: queue, type: "constant", detail: t("flows.queue_of_server") });
      }
      if (allowed.nodeIds) {
        for (const [id, kind] of kinds) {
          options.push({ label: id, type: "variable", detail: t("flows.node_of_kind", { kind: kind || "?" }) });
        }
      }
    }
    if (options.length === 0) return null;
    return { from: where.from, options, validFor: /^[\w-]*$/ };
  }

  hover(view, pos) {
    if (!this.schema) return null;
    const text = view.state.doc.toString();
    const word = wordAt(text, pos);
    if (!word) return null;
    const where = contextAt(text, word.to);
    if (!where) return null;
    const kinds = nodesOf(text);
    let lines = null;
    if (where.mode === "key" && /^\s*:/.test(text.slice(word.to))) {
      const about = describeKey(this.schema, where.path, word.text, kinds);
      if (about) lines = this.keyLines(about);
    } else if (where.mode === "value" && where.key === "kind" && word.text in KIND_WORDS) {
      lines = [[word.text, kindWords(word.text)]];
    } else if (where.mode === "value" && kinds.has(word.text)) {
      lines = [[word.text, t("flows.node_of_kind", { kind: kinds.get(word.text) || "?" })]];
    }
    if (!lines) return null;
    return {
      pos: word.from, end: word.to, above: true,
      create: () => ({ dom: el("div", { className: "flow-hover", dataset: { testid: "flow-hover" } }, lines.map(
        ([head, body]) => el("div", {}, [head ? el("strong", { text: head }) : null, el("span", { text: body })]))) }),
    };
  }

  keyLines(about) {
    const lines = [[about.name, keyWords(about.name, about.kind)]];
    const facts = [];
    if (about.required) facts.push(t("flows.required"));
    const types = about.nodeIds ? ["node"] : about.types;
    if (types.length) facts.push(t("flows.hover_type", { types: types.map((type) => t(`flows.type.${type}`)).join(" / ") }));
    if (about.values.length) facts.push(t("flows.hover_values", { values: about.values.join(", ") }));
    if (about.defaultValue !== undefined) facts.push(t("flows.hover_default", { value: String(about.defaultValue) }));
    if (facts.length) lines.push([null, facts.join(" · ")]);
    if (about.description && lang() === "en") lines.push([null, about.description]); // the schema's own words are English
    return lines;
  }
}
