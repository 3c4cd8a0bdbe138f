/**
 * Focus goes back somewhere sensible after every dialog, for every page, without each page
 * wiring it up.
 *
 * Mantine's Modal and Drawer return focus to the element that opened them. That element is often
 * gone by then: the Revoke button of a row that is now revoked, a row the virtualized table
 * re-rendered, a panel that was replaced. The browser then drops focus on <body> and a keyboard
 * user starts again from the top of the page. This module remembers, when focus enters a dialog,
 * the *anchor* of the element focus came from — the nearest ancestor that names a thing:
 * `data-focus-anchor`, or a row's `data-token-id`, `data-serial`, `data-key-id` or `data-jti` —
 * and, if focus falls to <body> once the dialog has closed, focuses that anchor again: its first
 * enabled control, or the anchor itself. Failing that, the page's h1.
 */

/** Attributes that identify the thing an element belongs to, nearest first. */
export const ANCHOR_ATTRIBUTES = ['data-focus-anchor', 'data-token-id', 'data-serial', 'data-key-id', 'data-jti', 'data-service'] as const;

/** How long after a dialog closes a fall to <body> is still taken as the dialog's doing. */
const GRACE_MS = 4000;

const FOCUSABLE =
  'button:not([disabled]), a[href], input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

interface Anchor {
  attribute: string;
  value: string;
  element: Element;
}

/** What a control is called, to find "the same button" again in a re-rendered row. */
function controlName(el: Element): string {
  return (el.getAttribute('aria-label') ?? el.textContent ?? '').trim();
}

function anchorOf(el: Element | null): Anchor | null {
  for (let node = el; node; node = node.parentElement) {
    for (const attribute of ANCHOR_ATTRIBUTES) {
      const value = node.getAttribute(attribute);
      if (value !== null && value !== '') return { attribute, value, element: el! };
    }
  }
  return null;
}

function inDialog(el: Element | null): boolean {
  return Boolean(el?.closest('[role="dialog"], [role="alertdialog"], [aria-modal="true"]'));
}

function dialogOpen(): boolean {
  return document.querySelector('[role="dialog"], [role="alertdialog"], [aria-modal="true"]') !== null;
}

function visible(el: Element): boolean {
  return el.getClientRects().length > 0;
}

/**
 * Focuses, inside the anchor, the usable control called `name` (the opener, re-rendered), else its
 * first usable control, else the anchor itself; false if the anchor is not on the page.
 */
export function focusAnchor(attribute: string, value: string, name?: string): boolean {
  const target = document.querySelector(`[${attribute}="${CSS.escape(value)}"]`);
  if (!(target instanceof HTMLElement) || !visible(target)) return false;
  const controls = [...target.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(visible);
  const control = (name ? controls.find((c) => controlName(c) === name) : undefined) ?? controls[0];
  if (control) {
    control.focus();
  } else {
    if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
    target.focus();
  }
  return document.activeElement !== document.body;
}

/** Focuses the page's h1 (made programmatically focusable). */
export function focusPageHeading(): boolean {
  const h1 = document.querySelector<HTMLElement>('main h1');
  if (!h1) return false;
  if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1');
  h1.focus();
  return true;
}

/** Tells the watch that something (the command palette's jump) has put focus where it belongs. */
export const FOCUS_HANDLED_EVENT = 'castellan:focus-handled';

export function focusHandled(): void {
  document.dispatchEvent(new Event(FOCUS_HANDLED_EVENT));
}

/** Starts watching; returns the function that stops it. */
export function installFocusReturn(): () => void {
  /** Where focus was before the current dialog took it. */
  let before: { anchor: Anchor | null; element: Element } | null = null;
  let lastOutside: Element | null = null;
  /** Set while a dialog is open and for GRACE_MS after it closed. */
  let pending: { anchor: Anchor | null; element: Element; until: number; fellBack: Element | null } | null = null;

  const onFocusIn = (event: FocusEvent) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    if (inDialog(target)) {
      // A new dialog (not focus moving inside the open one): remember where focus came from.
      if ((!pending || pending.until !== Number.POSITIVE_INFINITY) && lastOutside) {
        before = { anchor: anchorOf(lastOutside), element: lastOutside };
        pending = { ...before, until: Number.POSITIVE_INFINITY, fellBack: null };
      }
      return;
    }
    lastOutside = target;
  };

  const restore = () => {
    if (!pending) return;
    if (dialogOpen()) return;
    if (pending.until === Number.POSITIVE_INFINITY) pending.until = Date.now() + GRACE_MS;
    if (Date.now() > pending.until) {
      pending = null;
      return;
    }
    const active = document.activeElement;
    const onFallback = pending.fellBack !== null && active === pending.fellBack;
    if (active && active !== document.body && active.isConnected && !onFallback) return;
    const { anchor, element } = pending;
    // The opener if it is still there, else the same control in the same row or panel. The watch
    // stays on for the grace period: the opener may vanish a moment later, when the list the
    // dialog changed is reloaded, and then the row is focused.
    const back =
      (element instanceof HTMLElement && element.isConnected && visible(element) && (element.focus(), document.activeElement === element)) ||
      (anchor !== null && focusAnchor(anchor.attribute, anchor.value, controlName(element)));
    if (back) {
      pending.fellBack = null;
      return;
    }
    // The row is not (yet) on the page, e.g. while its list reloads: the page's heading meanwhile,
    // never <body>, and look again shortly.
    if (!onFallback && focusPageHeading()) pending.fellBack = document.activeElement;
    if (anchor !== null) setTimeout(restore, 100);
  };

  // A pointer press means the user chose where to go next: leave focus alone from then on.
  const onPointerDown = (event: PointerEvent) => {
    if (pending && pending.until !== Number.POSITIVE_INFINITY && !inDialog(event.target as Element)) pending = null;
  };

  let scheduled = false;
  const schedule = () => {
    if (!pending || scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      restore();
    });
  };
  const observer = new MutationObserver(schedule);
  observer.observe(document.body, { childList: true, subtree: true });
  const onFocusOut = () => setTimeout(schedule, 0);

  const onHandled = () => {
    pending = null;
  };
  document.addEventListener(FOCUS_HANDLED_EVENT, onHandled);
  document.addEventListener('focusin', onFocusIn, true);
  document.addEventListener('focusout', onFocusOut, true);
  document.addEventListener('pointerdown', onPointerDown, true);
  return () => {
    observer.disconnect();
    document.removeEventListener(FOCUS_HANDLED_EVENT, onHandled);
    document.removeEventListener('focusin', onFocusIn, true);
    document.removeEventListener('focusout', onFocusOut, true);
    document.removeEventListener('pointerdown', onPointerDown, true);
  };
}
