/**
 * The console's Mantine theme. Mantine's stock palette puts several text/background pairs under
 * WCAG AA (light teal on a teal tint 2.3:1, indigo on its tint 3.8:1, dimmed grey 3.3:1, white on
 * indigo 4.3:1, white on orange 2.6:1). Instead of overriding colours component by component, the
 * colour variables every variant reads (`--mantine-color-<name>-filled`, `-light-color`, `-text`,
 * `-outline`, `--mantine-color-dimmed`, …) are recomputed here from the same palette, darkened
 * (light scheme) or lightened (dark scheme) just enough to reach 4.5:1 against the background
 * each one is drawn on, with a small margin for hover tints.
 */
import { Badge, DEFAULT_THEME, createTheme, type CSSVariablesResolver, type MantineColorsTuple } from '@mantine/core';

export const theme = createTheme({
  primaryColor: 'indigo',
  defaultRadius: 'sm',
  components: {
    // A badge never shrinks to an ellipsis ("CRITI…"): it keeps its word and the row wraps instead.
    Badge: Badge.extend({
      styles: {
        root: { flexShrink: 0, maxWidth: 'none', overflow: 'visible' },
        label: { overflow: 'visible', textOverflow: 'clip' },
      },
    }),
  },
});

/** The ratio every pair is brought to: AA's 4.5:1 plus a margin for hover and striped-row tints. */
export const TARGET_CONTRAST = 4.7;

type Rgb = [number, number, number];

function parseHex(hex: string): Rgb {
  const h = hex.replace('#', '');
  const full = h.length === 3 ? [...h].map((c) => c + c).join('') : h;
  return [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16)) as Rgb;
}

function toHex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((v) => Math.round(Math.min(255, Math.max(0, v))).toString(16).padStart(2, '0')).join('')}`;
}

function channel(v: number): number {
  const s = v / 255;
  return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
}

/** WCAG 2 relative luminance. */
export function luminance(hex: string): number {
  const [r, g, b] = parseHex(hex);
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** WCAG 2 contrast ratio of two opaque colours. */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

function mix(a: string, b: string, amount: number): string {
  const [x, y] = [parseHex(a), parseHex(b)];
  return toHex([0, 1, 2].map((i) => x[i]! + (y[i]! - x[i]!) * amount) as Rgb);
}

/** `color` at `alpha` over an opaque `background`, as the browser composites it. */
function over(color: string, alpha: number, background: string): string {
  return mix(background, color, alpha);
}

/**
 * `color`, moved towards black (on light backgrounds) or white (on dark ones) in small steps until
 * it reaches `ratio` against every one of `backgrounds`. Keeps the hue, so a red badge stays red.
 */
export function ensureContrast(color: string, backgrounds: string[], ratio = TARGET_CONTRAST): string {
  const darkBg = backgrounds.every((bg) => luminance(bg) < 0.2);
  const target = darkBg ? '#ffffff' : '#000000';
  for (let step = 0; step <= 40; step++) {
    const candidate = mix(color, target, step / 40);
    if (backgrounds.every((bg) => contrast(candidate, bg) >= ratio)) return candidate;
  }
  return target;
}

/** A fill dark (or light) enough that white text on it reaches the target. */
function fillForWhiteText(color: string): string {
  return ensureContrast(color, ['#ffffff']);
}

const WHITE = DEFAULT_THEME.white;
const GRAY = DEFAULT_THEME.colors.gray;
const DARK = DEFAULT_THEME.colors.dark;

export const cssVariablesResolver: CSSVariablesResolver = (t) => {
  const light: Record<string, string> = {};
  const dark: Record<string, string> = {};
  // Backgrounds the coloured text sits on: the body, cards, striped and hovered rows.
  const lightSurfaces = [WHITE, GRAY[0], GRAY[1]];
  const darkSurfaces = [DARK[7], DARK[6], DARK[5]];
  for (const [name, tuple] of Object.entries(t.colors) as [string, MantineColorsTuple][]) {
    if (name === 'dark' || !Array.isArray(tuple) || tuple.length < 10) continue;
    // Light scheme: fills of shade 6, tints of shade 6 at 10–12 %.
    const lightFilled = fillForWhiteText(tuple[6]);
    const lightTints = lightSurfaces.map((bg) => over(tuple[6], 0.12, bg));
    const lightText = ensureContrast(tuple[7], [...lightSurfaces, ...lightTints]);
    light[`--mantine-color-${name}-filled`] = lightFilled;
    light[`--mantine-color-${name}-filled-hover`] = mix(lightFilled, '#000000', 0.12);
    light[`--mantine-color-${name}-light-color`] = lightText;
    light[`--mantine-color-${name}-text`] = lightText;
    light[`--mantine-color-${name}-outline`] = lightText;
    // Dark scheme: fills of shade 8, tints of shade 6 at 15–20 %.
    const darkFilled = fillForWhiteText(tuple[8]);
    const darkTints = darkSurfaces.map((bg) => over(tuple[6], 0.2, bg));
    const darkText = ensureContrast(tuple[3], [...darkSurfaces, ...darkTints]);
    dark[`--mantine-color-${name}-filled`] = darkFilled;
    dark[`--mantine-color-${name}-filled-hover`] = mix(darkFilled, '#000000', 0.12);
    dark[`--mantine-color-${name}-light-color`] = darkText;
    dark[`--mantine-color-${name}-text`] = darkText;
    dark[`--mantine-color-${name}-outline`] = darkText;
  }
  const primaryText = light[`--mantine-color-${t.primaryColor}-text`];
  const primaryTextDark = dark[`--mantine-color-${t.primaryColor}-text`];
  return {
    variables: {},
    light: {
      ...light,
      '--mantine-color-dimmed': ensureContrast(GRAY[6], lightSurfaces),
      '--mantine-color-error': light['--mantine-color-red-text'] ?? GRAY[9],
      ...(primaryText ? { '--mantine-color-anchor': primaryText } : {}),
    },
    dark: {
      ...dark,
      '--mantine-color-dimmed': ensureContrast(DARK[2], darkSurfaces),
      '--mantine-color-error': dark['--mantine-color-red-text'] ?? DARK[0],
      ...(primaryTextDark ? { '--mantine-color-anchor': primaryTextDark } : {}),
    },
  };
};
