/** ChatML, the chat template of the byte-level BPE tokenizers seapo builds. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}" +
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * GPT-2's reversible byte-to-symbol map: printable Latin-1 bytes stand for themselves, the other 68
 * bytes take the code points from 256 upwards in byte order (so the space becomes "Ġ", newline "Ċ").
 */
export function gpt2ByteSymbols(): string[] {
  const symbols: string[] = [];
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    const visible = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    symbols.push(String.fromCodePoint(visible ? byte : next++));
  }
  return symbols;
}
