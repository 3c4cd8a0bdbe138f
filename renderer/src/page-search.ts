/**
 * "The page's search box": `/` focuses it and the command palette fills it. A page marks its box
 * with `data-page-search`; otherwise the first text box in <main> whose label starts with
 * "Search" is taken, so pages need no wiring to take part.
 */

function labelOf(input: HTMLInputElement): string {
  return (input.getAttribute('aria-label') ?? input.labels?.[0]?.textContent ?? '').trim();
}

export function findPageSearch(root: ParentNode = document): HTMLInputElement | null {
  const main = root.querySelector('main') ?? root;
  const marked = main.querySelector<HTMLInputElement>('input[data-page-search]');
  if (marked) return marked;
  const inputs = [...main.querySelectorAll<HTMLInputElement>('input[type="search"], input[type="text"], input:not([type])')];
  return inputs.find((i) => i.type === 'search' || /^search\b/i.test(labelOf(i))) ?? null;
}

/** Focuses the page's search box (and selects its text); false if the page has none. */
export function focusPageSearch(): boolean {
  const input = findPageSearch();
  if (!input || input.disabled) return false;
  input.focus();
  input.select();
  return true;
}

/**
 * Types `text` into the page's search box as the user would (React sees an input event), once the
 * page has rendered one; gives up after `timeoutMs`.
 */
export function fillPageSearch(text: string, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const attempt = () => {
      const input = findPageSearch();
      if (input && !input.disabled) {
        const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')?.set;
        setter?.call(input, text);
        input.dispatchEvent(new Event('input', { bubbles: true }));
        input.focus();
        resolve(true);
        return;
      }
      if (Date.now() > deadline) {
        resolve(false);
        return;
      }
      requestAnimationFrame(attempt);
    };
    attempt();
  });
}

/** True when a key press belongs to a text field (so `/` types a slash there). */
export function isEditable(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color', 'file'].includes(target.type);
  }
  return false;
}
