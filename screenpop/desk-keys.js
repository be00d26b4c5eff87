// The desk's main actions by keyboard. Each is a button (or the transfer's field), so Tab
// reaches it and Enter or Space presses it; these keys also press it from anywhere on the
// desk, when it is shown and enabled: Alt+A answer (the browser phone), Alt+H hang up,
// Alt+R ready, Alt+P pause (with the reason chosen beside it), Alt+T the transfer's
// extension. The keys are matched by their place on the keyboard (event.code), so that
// they do not depend on the keyboard's language, and said on each control
// (aria-keyshortcuts, and a title in the page's language).
import { onLangChange, t } from "./common.js";

/** key -> the controls it acts on (data-testid), the first shown and enabled; `focus`: a field. */
export const DESK_KEYS = [
  { code: "KeyA", keys: "Alt+A", targets: ["phone-answer"] },
  { code: "KeyH", keys: "Alt+H", targets: ["phone-hangup", "pop-hangup"] },
  { code: "KeyR", keys: "Alt+R", targets: ["ready-button"] },
  { code: "KeyP", keys: "Alt+P", targets: ["pause-button"] },
  { code: "KeyT", keys: "Alt+T", targets: ["transfer-extension"], focus: true },
];

function usable(node) {
  return node !== null && !node.disabled && node.getClientRects().length > 0 && !node.closest("[hidden]");
}

function target(binding) {
  for (const testid of binding.targets) {
    const node = document.querySelector(`[data-testid="${testid}"]`);
    if (usable(node)) return node;
  }
  return null;
}

function onKey(event) {
  if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || event.repeat) return;
  const binding = DESK_KEYS.find((candidate) => candidate.code === event.code);
  const node = binding ? target(binding) : null;
  if (node === null) return;
  event.preventDefault();
  if (binding.focus) node.focus();
  else node.click();
}

/** Says each control's key on it (controls are made and remade as calls come and go). */
function label() {
  for (const binding of DESK_KEYS) {
    for (const testid of binding.targets) {
      for (const node of document.querySelectorAll(`[data-testid="${testid}"]`)) {
        const title = t("keys.shortcut", { keys: binding.keys });
        if (node.getAttribute("aria-keyshortcuts") !== binding.keys) node.setAttribute("aria-keyshortcuts", binding.keys);
        if (node.title !== title) node.title = title;
      }
    }
  }
}

export function installDeskKeys() {
  document.addEventListener("keydown", onKey);
  label();
  new MutationObserver(label).observe(document.body, { childList: true, subtree: true });
  onLangChange(label);
}
