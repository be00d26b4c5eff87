"""The flow editor's code editor (CodeMirror) as page tests read and write it.

The editor is in a shadow root (#editor's; Playwright's CSS locators go into it).
CodeMirror draws only the lines in view, so the text is read from its state
(``EditorView.findFromDOM``); a whole new text goes in as a paste would (one insertion
that replaces everything), and each test types what it means to type with the keyboard.
"""

from __future__ import annotations

from typing import Any

VIEW = (
    "(await import('/ui/vendor/codemirror/codemirror.esm.js'))"
    ".EditorView.findFromDOM(document.querySelector('#editor').shadowRoot.querySelector('.cm-editor'))"
)


async def editor_text(page: Any) -> str:
    text: str = await page.evaluate(f"async () => {VIEW}.state.doc.toString()")
    return text


async def wait_for_text(page: Any, expected: str, timeout_ms: int = 10_000) -> None:
    """Wait until the editor holds ``expected`` (it is filled after the flow's answer)."""
    text = await page.evaluate(
        f"""async ([expected, timeout]) => {{
            const view = {VIEW};
            const end = Date.now() + timeout;
            while (view.state.doc.toString() !== expected && Date.now() < end) {{
                await new Promise((resolve) => requestAnimationFrame(resolve));
            }}
            return view.state.doc.toString();
        }}""",
        [expected, timeout_ms],
    )
    assert text == expected


async def paste_source(page: Any, text: str) -> None:
    """Replace the editor's text, as selecting all and pasting would."""
    await page.evaluate(
        f"""async (text) => {{
            const view = {VIEW};
            view.dispatch({{ changes: {{ from: 0, to: view.state.doc.length, insert: text }},
                             userEvent: "input.paste" }});
        }}""",
        text,
    )


async def cursor_line(page: Any) -> int:
    """The 1-based line of the cursor."""
    line: int = await page.evaluate(
        f"async () => {{ const view = {VIEW};"
        " return view.state.doc.lineAt(view.state.selection.main.head).number; }"
    )
    return line


async def put_cursor(page: Any, offset: int) -> None:
    await page.evaluate(
        f"async (offset) => {{ const view = {VIEW}; view.focus();"
        " view.dispatch({ selection: { anchor: offset }, scrollIntoView: true }); }",
        offset,
    )
