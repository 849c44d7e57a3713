/**
 * Draws the Teams app icons: `npx tsx scripts/icons.ts` writes manifest/color.png and manifest/outline.png.
 *
 * - color.png, 192x192: a white shield with an exclamation mark cut out, on the manifest's accentColor.
 *   The glyph stays inside the central 120x120 so Teams can crop or round the corners.
 * - outline.png, 32x32: the same glyph, pure white (RGB 255) on a transparent background; only alpha varies
 *   (anti-aliased edges), as Teams requires for the outline icon.
 *
 * The PNGs are committed; test/manifest checks they still match what this script draws.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";

type Point = readonly [number, number];

export const COLOR_SIZE = 192;
export const OUTLINE_SIZE = 32;

/** The glyph is drawn in a 24x24 design grid (a shield like Material's "shield", with an alert mark). */
const GRID = 24;

function cubic(p0: Point, p1: Point, p2: Point, p3: Point, steps: number): Point[] {
  const points: Point[] = [];
  for (let i = 1; i <= steps; i++) {
    const t = i / steps;
    const u = 1 - t;
    points.push([
      u * u * u * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t * t * t * p3[0],
      u * u * u * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t * t * t * p3[1],
    ]);
  }
  return points;
}

/** Shield outline: a point at the top, straight shoulders and sides, curved to a point at the bottom. */
const SHIELD: Point[] = [
  [12, 1],
  [3, 5],
  [3, 11],
  ...cubic([3, 11], [3, 16.55], [6.84, 21.74], [12, 23], 48),
  ...cubic([12, 23], [17.16, 21.74], [21, 16.55], [21, 11], 48),
  [21, 5],
];

/** The shield's vertices as flat x,y pairs (fast to scan), and its bounding box. */
const SHIELD_XY = Float64Array.from(SHIELD.flat());
const SHIELD_BOX = {
  minX: Math.min(...SHIELD.map((p) => p[0])),
  maxX: Math.max(...SHIELD.map((p) => p[0])),
  minY: Math.min(...SHIELD.map((p) => p[1])),
  maxY: Math.max(...SHIELD.map((p) => p[1])),
};

/** Even-odd ray casting. */
function inShield(x: number, y: number): boolean {
  if (x < SHIELD_BOX.minX || x > SHIELD_BOX.maxX || y < SHIELD_BOX.minY || y > SHIELD_BOX.maxY) return false;
  const xy = SHIELD_XY;
  const n = xy.length / 2;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = xy[2 * i]!;
    const yi = xy[2 * i + 1]!;
    const xj = xy[2 * j]!;
    const yj = xy[2 * j + 1]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function distanceToSegment(x: number, y: number, a: Point, b: Point): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const t = Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - (a[0] + t * dx), y - (a[1] + t * dy));
}

/** The exclamation mark: a rounded bar and a dot. */
function inMark(x: number, y: number): boolean {
  return distanceToSegment(x, y, [12, 7], [12, 13.6]) <= 1.35 || Math.hypot(x - 12, y - 17.4) <= 1.45;
}

/** True where the glyph is (the shield, less the mark), in design-grid coordinates. */
export function inGlyph(x: number, y: number): boolean {
  return inShield(x, y) && !inMark(x, y);
}

/**
 * Coverage of the glyph over each pixel, 0..1, supersampled `samples`x`samples` per pixel.
 * The 24-unit design grid is mapped to `glyphPixels` pixels, centred in a `size` square.
 */
function coverage(size: number, glyphPixels: number, samples = 5): Float64Array {
  const scale = GRID / glyphPixels;
  const offset = (size - glyphPixels) / 2;
  const result = new Float64Array(size * size);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let hits = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const x = (px + (sx + 0.5) / samples - offset) * scale;
          const y = (py + (sy + 0.5) / samples - offset) * scale;
          if (inGlyph(x, y)) hits++;
        }
      }
      result[py * size + px] = hits / (samples * samples);
    }
  }
  return result;
}

export function parseHexColor(hex: string): [number, number, number] {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!match) throw new Error(`"${hex}" is not a colour like #1B4F9C`);
  return [parseInt(match[1]!, 16), parseInt(match[2]!, 16), parseInt(match[3]!, 16)];
}

/** 192x192 RGBA pixels: the white glyph on an opaque accent-coloured square. */
export function drawColorIcon(accentColor: string): PNG {
  const [r, g, b] = parseHexColor(accentColor);
  const png = new PNG({ width: COLOR_SIZE, height: COLOR_SIZE });
  const cover = coverage(COLOR_SIZE, 120);
  for (let i = 0; i < cover.length; i++) {
    const c = cover[i]!;
    png.data[i * 4] = Math.round(r + (255 - r) * c);
    png.data[i * 4 + 1] = Math.round(g + (255 - g) * c);
    png.data[i * 4 + 2] = Math.round(b + (255 - b) * c);
    png.data[i * 4 + 3] = 255;
  }
  return png;
}

/** 32x32 RGBA pixels: white everywhere, the glyph in the alpha channel. */
export function drawOutlineIcon(): PNG {
  const png = new PNG({ width: OUTLINE_SIZE, height: OUTLINE_SIZE });
  const cover = coverage(OUTLINE_SIZE, 30);
  for (let i = 0; i < cover.length; i++) {
    png.data[i * 4] = 255;
    png.data[i * 4 + 1] = 255;
    png.data[i * 4 + 2] = 255;
    png.data[i * 4 + 3] = Math.round(255 * cover[i]!);
  }
  return png;
}

export function encodePng(png: PNG): Buffer {
  return PNG.sync.write(png, { colorType: 6 });
}

/** Where the icons live, and the accent colour they use (read from the manifest template). */
export function manifestDir(rootDir: string): string {
  return join(rootDir, "manifest");
}

export function readAccentColor(rootDir: string): string {
  const template = JSON.parse(readFileSync(join(manifestDir(rootDir), "manifest.json"), "utf8")) as { accentColor?: unknown };
  if (typeof template.accentColor !== "string") throw new Error("manifest/manifest.json has no accentColor");
  return template.accentColor;
}

export function writeIcons(rootDir: string): string[] {
  const dir = manifestDir(rootDir);
  const color = join(dir, "color.png");
  const outline = join(dir, "outline.png");
  writeFileSync(color, encodePng(drawColorIcon(readAccentColor(rootDir))));
  writeFileSync(outline, encodePng(drawOutlineIcon()));
  return [color, outline];
}

if (require.main === module) {
  for (const file of writeIcons(join(__dirname, ".."))) process.stdout.write(`wrote ${file}\n`);
}
