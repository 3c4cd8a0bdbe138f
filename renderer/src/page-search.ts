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
 * page has rendered one; gives up after `timeoutMs`. A page whose chunk or data is still loading
 * may replace its search box right after the first fill (a remount brings an empty one), so for a
 * short while after filling, an emptied or replaced box is filled again.
 */
let fillGeneration = 0;

export function fillPageSearch(text: string, timeoutMs = 3000, settleMs = 1500): Promise<boolean> {
  // A newer fill (another palette jump) ends this one, so two never fight over a box.
  const generation = ++fillGeneration;
  const deadline = Date.now() + timeoutMs;
  const fill = (input: HTMLInputElement): void => {
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')?.set;
    setter?.call(input, text);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.focus();
  };
  return new Promise((resolve) => {
    let filled: HTMLInputElement | null = null;
    let settleUntil = 0;
    const attempt = () => {
      if (generation !== fillGeneration) {
        if (filled === null) resolve(false);
        return;
      }
      const input = findPageSearch();
      if (filled === null) {
        if (input && !input.disabled) {
          fill(input);
          filled = input;
          settleUntil = Date.now() + settleMs;
          resolve(true);
        } else if (Date.now() > deadline) {
          resolve(false);
          return;
        }
      } else if (input && !input.disabled && (input !== filled || (input.value === '' && document.activeElement !== input))) {
        // The page replaced or emptied the box while it settled (not the user, who would be typing in it).
        fill(input);
        filled = input;
      }
      if (filled === null || Date.now() < settleUntil) requestAnimationFrame(attempt);
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
