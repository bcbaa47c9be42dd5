/**
 * The text of each token as it reads inside the whole sequence, so the pieces of a prompt join back
 * into the prompt and `text_offset` can be their running length. Decoding token by token is wrong for
 * SentencePiece (a lone "▁the" decodes without its space) and for characters whose UTF-8 bytes span
 * tokens, so each piece is what decoding a short window adds: the window starts at the previous
 * emitted token, and a token that leaves a character unfinished gets "" until one completes it.
 */

export interface TokenText {
  /** The token's own piece; "" for a token inside an unfinished character or of zero width. */
  piece: string;
  /** Where the piece starts in the joined text. */
  offset: number;
  /** The room it takes there: the piece's length, 0 for a zero-width token. */
  width: number;
  /** Piece of each alternative id, had it been chosen at this position. */
  alternative(id: number): string;
}

/**
 * Pieces of `ids` under `decode` (which must keep special tokens). `zeroWidth` ids at the given
 * positions read as `label(id)` but take no room: the BOS a tokenizer adds, which is not in the prompt.
 */
export function tokenTexts(
  decode: (ids: readonly number[]) => string,
  ids: readonly number[],
  zeroWidth: ReadonlySet<number> = new Set(),
  label: (id: number) => string = () => "",
): TokenText[] {
  const out: TokenText[] = [];
  const textIds = (from: number, to: number) => ids.slice(from, to).filter((_, k) => !zeroWidth.has(from + k));
  let prefix = 0; // the window starts here
  let read = 0; // tokens before this are emitted
  let offset = 0;
  let settled = ""; // decode of the window's emitted part, ids[prefix, read)
  ids.forEach((id, i) => {
    if (zeroWidth.has(i)) {
      out.push({ piece: label(id), offset, width: 0, alternative: label });
      return;
    }
    const before = textIds(prefix, i);
    const base = settled;
    const pieceOf = (candidate: number): string => {
      const text = decode([...before, candidate]);
      return text.length > base.length && !text.endsWith("\uFFFD") ? text.slice(base.length) : "";
    };
    const piece = pieceOf(id);
    out.push({ piece, offset, width: piece.length, alternative: (alt) => (alt === id ? piece : pieceOf(alt)) });
    offset += piece.length;
    if (piece !== "") {
      prefix = read;
      read = i + 1;
      settled = decode(textIds(prefix, read));
    }
  });
  return out;
}
