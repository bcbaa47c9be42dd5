import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import { InputError } from "../../errors.js";
import { readJsonFile } from "./hf-config.js";

/**
 * A Hugging Face fast tokenizer from a model folder: tokenizer.json run by @huggingface/tokenizers,
 * tokenizer_config.json for the special tokens and BOS/EOS behaviour, and the chat template
 * (tokenizer_config.json's `chat_template`, or a `chat_template.jinja` file beside it, which wins as
 * in transformers) rendered by @huggingface/jinja.
 *
 * Double BOS: many chat templates (Llama 3's among them) write the BOS text themselves, and encoding
 * the rendered string with special tokens would then put a second BOS in front. `encodeChat` is the
 * safe path: it adds BOS only when the tokenizer adds one and the rendered text does not already
 * start with it, and never appends EOS. Prefer it to `encode(applyChatTemplate(...))`.
 */

export const TOKENIZER_FILE = "tokenizer.json";
export const TOKENIZER_CONFIG_FILE = "tokenizer_config.json";
export const CHAT_TEMPLATE_FILE = "chat_template.jinja";

/** One message as the chat template reads it; `ChatMessage` in src/llm/provider.ts is the provider's (typed roles). */
export interface TemplateMessage {
  role: string;
  content: string;
}

/** The two JSON files that define a tokenizer (the chat template lives in tokenizerConfig.chat_template). */
export interface TokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

export interface EncodeOptions {
  /** Add what the tokenizer adds around a single text (BOS for Llama, nothing for Qwen). Default true. */
  addSpecialTokens?: boolean;
}

export interface ChatTemplateOptions {
  /** End with the assistant header so the model writes the reply. Default false. */
  addGenerationPrompt?: boolean;
  /** Extra template variables (e.g. `tools`, `enable_thinking`). */
  variables?: Record<string, unknown>;
}

export class HfTokenizer {
  readonly vocabSize: number;
  readonly bosToken: string | undefined;
  readonly bosTokenId: number | undefined;
  readonly eosToken: string | undefined;
  readonly eosTokenId: number | undefined;
  readonly padToken: string | undefined;
  readonly padTokenId: number | undefined;
  readonly unkToken: string | undefined;
  /** The ids encode(text) puts before and after the text's own ids when special tokens are added. */
  readonly prefixIds: readonly number[];
  readonly suffixIds: readonly number[];
  readonly chatTemplate: string | undefined;
  private readonly tokenizer: Tokenizer;
  private compiledTemplate: Template | undefined;
  private readonly cleanUpSpaces: boolean;

  /** `source` names the folder (or file) in errors. */
  constructor(
    readonly files: TokenizerFiles,
    private readonly source = "tokenizer",
  ) {
    const config = files.tokenizerConfig;
    try {
      this.tokenizer = new Tokenizer(files.tokenizerJson, config);
    } catch (error) {
      throw new InputError(
        join(source, TOKENIZER_FILE),
        undefined,
        undefined,
        `the tokenizer does not load: ${(error as Error).message}`,
      );
    }
    let maxId = -1;
    for (const id of this.tokenizer.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;

    const special = (field: string): { token: string | undefined; id: number | undefined } => {
      const token = specialTokenText(config[field]);
      if (token === undefined) return { token, id: undefined };
      const id = this.tokenizer.token_to_id(token);
      if (id === undefined)
        throw new InputError(
          join(source, TOKENIZER_CONFIG_FILE),
          undefined,
          field,
          `"${token}" is not in the vocabulary`,
        );
      return { token, id };
    };
    ({ token: this.bosToken, id: this.bosTokenId } = special("bos_token"));
    ({ token: this.eosToken, id: this.eosTokenId } = special("eos_token"));
    ({ token: this.padToken, id: this.padTokenId } = special("pad_token"));
    this.unkToken = specialTokenText(config.unk_token);
    // transformers' current default is not to clean up spaces; this library's default is to clean them.
    this.cleanUpSpaces = config.clean_up_tokenization_spaces === true;

    // What the post-processor wraps around one text, read off a probe; then tokenizer_config's explicit
    // add_bos_token / add_eos_token override it, as transformers' Llama tokenizer rebuilds its template from them.
    const plain = this.tokenizer.encode("a", { add_special_tokens: false }).ids;
    const wrapped = this.tokenizer.encode("a", { add_special_tokens: true }).ids;
    const at = indexOfRun(wrapped, plain);
    let prefix: number[] = at < 0 ? [] : wrapped.slice(0, at);
    let suffix: number[] = at < 0 ? [] : wrapped.slice(at + plain.length);
    if (typeof config.add_bos_token === "boolean" && this.bosTokenId !== undefined) {
      prefix = prefix.filter((id) => id !== this.bosTokenId);
      if (config.add_bos_token) prefix.unshift(this.bosTokenId);
    }
    if (typeof config.add_eos_token === "boolean" && this.eosTokenId !== undefined) {
      suffix = suffix.filter((id) => id !== this.eosTokenId);
      if (config.add_eos_token) suffix.push(this.eosTokenId);
    }
    this.prefixIds = prefix;
    this.suffixIds = suffix;
    this.chatTemplate = chatTemplateText(config.chat_template);
  }

  /** True when encode(text) starts with BOS. */
  get addsBos(): boolean {
    return this.bosTokenId !== undefined && this.prefixIds[0] === this.bosTokenId;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    if (options.addSpecialTokens === false) return ids;
    return [...this.prefixIds, ...ids, ...this.suffixIds];
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return "";
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
        throw new RangeError(`decode: token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
    }
    return this.tokenizer.decode([...ids], {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: this.cleanUpSpaces,
    });
  }

  /** The token strings (byte-level symbols for GPT-2-style vocabularies). */
  tokens(text: string): string[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).tokens;
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }

  /** Every token by id, added tokens included (gaps, if any, are undefined). */
  vocabulary(): (string | undefined)[] {
    const out: (string | undefined)[] = new Array(this.vocabSize);
    for (const [token, id] of this.tokenizer.get_vocab(true)) out[id] = token;
    return out;
  }

  /** Ids of the added tokens marked special (BOS, EOS, ChatML markers, …). */
  specialIds(): Set<number> {
    return new Set(
      [...this.tokenizer.get_added_tokens_decoder()].filter(([, token]) => token.special).map(([id]) => id),
    );
  }

  /** Renders the chat template with the messages and the special-token strings, as transformers does. */
  applyChatTemplate(messages: readonly TemplateMessage[], options: ChatTemplateOptions = {}): string {
    if (this.chatTemplate === undefined) {
      throw new InputError(
        join(this.source, TOKENIZER_CONFIG_FILE),
        undefined,
        "chat_template",
        "this tokenizer has no chat template",
        `add chat_template to ${TOKENIZER_CONFIG_FILE} or a ${CHAT_TEMPLATE_FILE} file`,
      );
    }
    this.compiledTemplate ??= new Template(this.chatTemplate);
    return this.compiledTemplate.render({
      ...options.variables,
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
      bos_token: this.bosToken ?? "",
      eos_token: this.eosToken ?? "",
      pad_token: this.padToken ?? "",
      unk_token: this.unkToken ?? "",
    });
  }

  /**
   * Renders the chat template and encodes it with exactly one BOS where the tokenizer uses one: BOS is
   * added only if the rendered text does not already begin with it; no EOS is appended.
   */
  encodeChat(messages: readonly TemplateMessage[], options: ChatTemplateOptions = {}): number[] {
    const text = this.applyChatTemplate(messages, options);
    const ids = this.encode(text, { addSpecialTokens: false });
    const templateHasBos = this.bosToken !== undefined && this.bosToken !== "" && text.startsWith(this.bosToken);
    return this.addsBos && !templateHasBos ? [this.bosTokenId!, ...ids] : ids;
  }
}

/** Loads tokenizer.json, tokenizer_config.json (optional) and chat_template.jinja (optional) from `dir`. */
export async function loadTokenizer(dir: string): Promise<HfTokenizer> {
  const tokenizerPath = join(dir, TOKENIZER_FILE);
  if (!existsSync(tokenizerPath)) {
    throw new InputError(
      tokenizerPath,
      undefined,
      undefined,
      "file not found",
      "seapo needs the fast-tokenizer file tokenizer.json (save it from transformers with tokenizer.save_pretrained)",
    );
  }
  const tokenizerJson = await readJsonObject(tokenizerPath);
  const configPath = join(dir, TOKENIZER_CONFIG_FILE);
  const tokenizerConfig = existsSync(configPath) ? await readJsonObject(configPath) : {};
  const templatePath = join(dir, CHAT_TEMPLATE_FILE);
  if (existsSync(templatePath)) tokenizerConfig.chat_template = await readFile(templatePath, "utf8");
  return new HfTokenizer({ tokenizerJson, tokenizerConfig }, dir);
}

/** Writes tokenizer.json and tokenizer_config.json (with the chat template inside it). */
export async function saveTokenizerFiles(dir: string, files: TokenizerFiles): Promise<void> {
  await writeFile(join(dir, TOKENIZER_FILE), `${JSON.stringify(files.tokenizerJson, null, 2)}\n`);
  await writeFile(join(dir, TOKENIZER_CONFIG_FILE), `${JSON.stringify(files.tokenizerConfig, null, 2)}\n`);
}

async function readJsonObject(file: string): Promise<Record<string, unknown>> {
  const value = await readJsonFile(file);
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new InputError(file, undefined, undefined, "expected a JSON object");
  return value as Record<string, unknown>;
}

/** A special token in tokenizer_config.json is a string, an AddedToken object {content, …}, or null. */
function specialTokenText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && typeof (value as { content?: unknown }).content === "string")
    return (value as { content: string }).content;
  return undefined;
}

/** `chat_template` is a string, or a list of {name, template} of which "default" is the one used. */
function chatTemplateText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const named = value.filter(
      (item): item is { name: string; template: string } =>
        typeof item?.name === "string" && typeof item?.template === "string",
    );
    return (named.find((item) => item.name === "default") ?? named[0])?.template;
  }
  return undefined;
}

function indexOfRun(haystack: readonly number[], needle: readonly number[]): number {
  outer: for (let start = 0; start + needle.length <= haystack.length; start++) {
    for (let i = 0; i < needle.length; i++) if (haystack[start + i] !== needle[i]) continue outer;
    return start;
  }
  return -1;
}
