import { open } from "node:fs/promises";
import { decodeTensorData, type GgufTensorType } from "../../../src/engine/gguf/format.js";
import { readGgufInfo, type GgufInfo, type GgufTensorInfo } from "../../../src/engine/gguf/read-metadata.js";

/**
 * Reading GGUF files in tests: the package's own reader of header, metadata and tensor infos, plus
 * decoding of one tensor's values for the tensor types this package writes (to check the writer).
 */
export { readGgufInfo, type GgufInfo, type GgufTensorInfo };

/** Decode one tensor's values to f32 (dequantising f16 and Q8_0). */
export async function readGgufTensor(path: string, tensor: GgufTensorInfo): Promise<Float32Array> {
  if (tensor.byteLength === undefined)
    throw new Error(`${path}: tensor ${tensor.name} has type ${tensor.type}, which this reader cannot decode`);
  const handle = await open(path, "r");
  try {
    const bytes = Buffer.alloc(tensor.byteLength);
    const { bytesRead } = await handle.read(bytes, 0, bytes.length, tensor.offset);
    if (bytesRead !== bytes.length) throw new Error(`${path}: tensor ${tensor.name} runs past the end of the file`);
    const elements = tensor.shape.reduce((product, n) => product * n, 1);
    return decodeTensorData(tensor.type as GgufTensorType, bytes, elements);
  } finally {
    await handle.close();
  }
}
