import { CHATML_TEMPLATE, gpt2ByteSymbols } from "./byte-symbols.js";
import type { TokenizerFiles } from "./tokenizer.js";

/**
 * A small GPT-2-style byte-level BPE tokenizer, written as the two files transformers and
 * @huggingface/tokenizers load (tokenizer.json, tokenizer_config.json).
 *
 * - Alphabet: the 256 GPT-2 byte symbols, so every UTF-8 string encodes and decodes back exactly.
 * - Pre-tokenizer and decoder: ByteLevel with GPT-2's split pattern (no prefix space).
 * - Merges: classic BPE training over a corpus — split it the way the pre-tokenizer does, then
 *   repeatedly merge the most frequent adjacent pair (ties to the smaller pair) until the vocabulary
 *   is full or no pair is left.
 * - Specials after the merges: <|endoftext|>, <|im_start|>, <|im_end|>, and a ChatML chat template.
 */

export const CHATML_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] as const;

/** GPT-2's split pattern, as the ByteLevel pre-tokenizer applies it. */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface ByteLevelBpeOptions {
  /** Text to learn merges from (default: a built-in English and arithmetic sample). */
  corpus?: string;
  /** Target size including bytes, merges and the 3 specials (default 512). The result is smaller when the corpus runs out of pairs. */
  vocabSize?: number;
  /** Prepend <|endoftext|> as BOS when encoding with special tokens (Llama style). Default false (Qwen style). */
  addBos?: boolean;
  modelMaxLength?: number;
}

export interface ByteLevelBpe extends TokenizerFiles {
  /** Actual vocabulary size (bytes + merge tokens + specials). */
  vocabSize: number;
  merges: [string, string][];
  /** Ids of <|endoftext|>, <|im_start|>, <|im_end|>. */
  special: { endOfText: number; imStart: number; imEnd: number };
}

type AddedToken = { id: number; content: string; special: boolean } & Record<string, unknown>;

export function buildByteLevelBpeTokenizer(options: ByteLevelBpeOptions = {}): ByteLevelBpe {
  const target = options.vocabSize ?? 512;
  const alphabet = gpt2ByteSymbols();
  if (!Number.isInteger(target) || target < alphabet.length + CHATML_SPECIALS.length) {
    throw new RangeError(
      `buildByteLevelBpeTokenizer: vocabSize must be an integer of at least ${alphabet.length + CHATML_SPECIALS.length}, got ${target}`,
    );
  }
  const tokens = [...alphabet];
  const merges = learnMerges(
    options.corpus ?? DEFAULT_CORPUS,
    alphabet,
    target - CHATML_SPECIALS.length - alphabet.length,
  );
  const known = new Set(tokens);
  for (const [left, right] of merges) {
    if (!known.has(left + right)) {
      known.add(left + right);
      tokens.push(left + right);
    }
  }
  const base = tokens.length;
  const [endOfText, imStart, imEnd] = [base, base + 1, base + 2];
  const addedTokens: AddedToken[] = CHATML_SPECIALS.map((content, i) => ({
    id: base + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  return {
    tokenizerJson: tokenizerJsonFor(tokens, merges, addedTokens, options.addBos ?? false, endOfText),
    tokenizerConfig: tokenizerConfigFor(addedTokens, options),
    vocabSize: base + CHATML_SPECIALS.length,
    merges,
    special: { endOfText, imStart, imEnd },
  };
}

const BYTE_LEVEL = { add_prefix_space: false, trim_offsets: true, use_regex: true };

/** Llama style: <|endoftext|> before every sequence when special tokens are added. */
function bosProcessor(endOfText: number): Record<string, unknown> {
  const bos = CHATML_SPECIALS[0];
  return {
    type: "TemplateProcessing",
    single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
    pair: [
      { SpecialToken: { id: bos, type_id: 0 } },
      { Sequence: { id: "A", type_id: 0 } },
      { SpecialToken: { id: bos, type_id: 1 } },
      { Sequence: { id: "B", type_id: 1 } },
    ],
    special_tokens: { [bos]: { id: bos, ids: [endOfText], tokens: [bos] } },
  };
}

/** tokenizer.json: the byte-level BPE model with its vocabulary and merges. */
function tokenizerJsonFor(
  tokens: readonly string[],
  merges: readonly [string, string][],
  addedTokens: readonly AddedToken[],
  addBos: boolean,
  endOfText: number,
): Record<string, unknown> {
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", ...BYTE_LEVEL },
    post_processor: addBos ? bosProcessor(endOfText) : { type: "ByteLevel", ...BYTE_LEVEL, trim_offsets: false },
    decoder: { type: "ByteLevel", ...BYTE_LEVEL, add_prefix_space: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
      // "left right" strings: byte symbols never contain a space, and every tokenizers version reads this form.
      merges: merges.map(([left, right]) => `${left} ${right}`),
    },
  };
}

/** tokenizer_config.json: specials, the ChatML template and the BOS choice. */
function tokenizerConfigFor(addedTokens: readonly AddedToken[], options: ByteLevelBpeOptions): Record<string, unknown> {
  return {
    add_bos_token: options.addBos ?? false,
    add_eos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(addedTokens.map(({ id, ...token }) => [String(id), token])),
    additional_special_tokens: [CHATML_SPECIALS[1], CHATML_SPECIALS[2]],
    bos_token: options.addBos ? CHATML_SPECIALS[0] : null,
    chat_template: CHATML_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: CHATML_SPECIALS[2],
    errors: "replace",
    model_max_length: options.modelMaxLength ?? 2048,
    pad_token: CHATML_SPECIALS[0],
    split_special_tokens: false,
    tokenizer_class: "PreTrainedTokenizerFast",
    unk_token: null,
  };
}

/** Learns up to `maxMerges` merges whose results are new tokens. Deterministic for a given corpus. */
export function learnMerges(corpus: string, alphabet: readonly string[], maxMerges: number): [string, string][] {
  const encoder = new TextEncoder();
  const counts = new Map<string, number>();
  for (const piece of corpus.match(GPT2_SPLIT) ?? []) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  const words = [...counts].map(([piece, count]) => ({
    symbols: Array.from(encoder.encode(piece), (byte) => alphabet[byte]!),
    count,
  }));

  // Pair counts over all words, kept up to date as words change; pairWords may hold stale word indices.
  const pairCounts = new Map<string, number>();
  const pairWords = new Map<string, Set<number>>();
  const key = (left: string, right: string): string => `${left} ${right}`;
  const account = (index: number, sign: 1 | -1): void => {
    const { symbols, count } = words[index]!;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const k = key(symbols[i]!, symbols[i + 1]!);
      pairCounts.set(k, (pairCounts.get(k) ?? 0) + sign * count);
      if (sign > 0) {
        let set = pairWords.get(k);
        if (set === undefined) pairWords.set(k, (set = new Set()));
        set.add(index);
      }
    }
  };
  words.forEach((_, index) => account(index, 1));

  const merges: [string, string][] = [];
  const made = new Set(alphabet);
  let newTokens = 0;
  while (newTokens < maxMerges) {
    let best: string | undefined;
    let bestCount = 0;
    for (const [k, count] of pairCounts) {
      if (count > bestCount || (count === bestCount && count > 0 && best !== undefined && k < best)) {
        best = k;
        bestCount = count;
      }
    }
    if (best === undefined) break;
    const [left, right] = best.split(" ") as [string, string];
    for (const index of [...(pairWords.get(best) ?? [])]) {
      const { symbols } = words[index]!;
      if (!symbols.some((s, i) => s === left && symbols[i + 1] === right)) continue;
      account(index, -1);
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else {
          merged.push(symbols[i]!);
        }
      }
      words[index]!.symbols = merged;
      account(index, 1);
    }
    pairCounts.delete(best);
    merges.push([left, right]);
    if (!made.has(left + right)) {
      made.add(left + right);
      newTokens++;
    }
  }
  return merges;
}

/**
 * The built-in corpus: a few sentences of plain English about arithmetic and reasoning, a list of
 * common words (lower and capitalised) and the sums and products of 0–99 with 0–12 written out, so
 * the merges cover common words and numbers. It fills a 2048-token vocabulary.
 */
export const DEFAULT_CORPUS = (() => {
  const prose = [
    "The model reads a question, thinks step by step, and writes the answer at the end.",
    "If a train leaves the station at nine and travels for three hours, it arrives at twelve.",
    "She bought four apples and two oranges, then gave one apple to her brother.",
    "How many apples does she have left? She has three apples and two oranges.",
    "A good answer explains each step: first add the numbers, then check the result.",
    "When the answer is wrong, the error is often a small slip in one digit or one word.",
    "The capital of a country is the city where its government meets.",
    "Please answer the following question. Think carefully before you answer.",
    "The user asks a question and the assistant gives a helpful, correct and short reply.",
    "There were 15 students in the class; 7 of them were girls and the rest were boys.",
    "Each box holds 12 eggs. How many eggs are in 5 boxes? There are 60 eggs.",
    "The total cost is the price of one item times the number of items, plus the tax.",
    "Emoji 😀 and accents like café, naïve, Zürich and São Paulo are text too.",
    "function add(a, b) { return a + b; } // adds two numbers",
    "Let's check: 48 divided by 6 is 8, and 8 times 6 is 48. The answer is correct.",
  ].join("\n");
  const words = [
    "about after again answer area because before begin between body book both bring build call came carry change check child city close come could country cross cut day different does done door down draw each early earth eat end enough even every example eye face family far father feel few field find first follow food foot form found friend from give good great group grow hand hard have head hear help here high hold home horse house idea important into just keep kind know land large last learn leave left letter life light line list little live long look made make many mark may mean measure men might mile mind money more morning most mother mountain move much music must name near need never next night number often old once only open order other our own page paper part people picture place plant play point port press problem product pull put question quick rain read real record red remember rest right river road rock room round rule run said same saw school sea second see seem sentence set several short should show side simple since sing size small snow some song soon sound spell stand star start state step still stop story street strong study such sun sure table take talk teach tell than thing think those thought three through time together told took top toward town tree true try turn under unit until upon use usual very voice walk want warm watch water way weather week weight well went were where which while white whole why wind winter with without woman wonder word work world would write year young",
  ].join(" ");
  const facts: string[] = [];
  for (let a = 0; a <= 99; a++) {
    for (let b = 0; b <= 12; b++) facts.push(`${a} + ${b} = ${a + b}. ${a} times ${b} is ${a * b}.`);
  }
  return `${prose}\n${words}\n${words.replace(/\b\w/g, (c) => c.toUpperCase())}\n${facts.join("\n")}\n`;
})();
