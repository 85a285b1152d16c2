import { writeFile } from 'node:fs/promises';
import type { Fixtures } from '../protocol.js';

/** Codes per piece of the fixtures file: a few tens of KiB of JSON. */
const CODES_PER_PIECE = 256;

/**
 * Writes the fixtures as JSON, S5's codes a piece at a time. In one string, tens of thousands of
 * codes made a buffer of megabytes in the measured process at every round, and once glibc has
 * freed a block that large it serves the next ones from its heap and keeps their pages: S5's
 * resident memory grew 1-2 MiB a round on either store (flat with `MALLOC_MMAP_THRESHOLD_` fixed).
 */
export async function writeFixtures(file: string, fixtures: Fixtures): Promise<void> {
  const { codes, ...rest } = fixtures;
  return writeFile(file, codes === undefined ? JSON.stringify(fixtures) : pieces(rest, codes));
}

function* pieces(rest: Omit<Fixtures, 'codes'>, codes: NonNullable<Fixtures['codes']>): Generator<string> {
  // The rest with an empty list of codes, up to the list's closing bracket.
  yield JSON.stringify({ ...rest, codes: [] }).slice(0, -2);
  for (let start = 0; start < codes.length; start += CODES_PER_PIECE) {
    const piece = JSON.stringify(codes.slice(start, start + CODES_PER_PIECE)).slice(1, -1);
    yield start === 0 ? piece : `,${piece}`;
  }
  yield ']}';
}
