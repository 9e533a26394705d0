/**
 * Jest environment for tests that run onnxruntime-node. Its native addon creates output tensors' typed
 * arrays in Node's main realm, and onnxruntime-common checks them with `instanceof Float32Array` inside
 * Jest's sandbox, whose typed-array constructors are different objects: every inference fails with "A
 * float32 tensor's data must be type of function Float32Array()". Sharing the main realm's typed arrays
 * with the sandbox fixes that. Use it with a docblock at the top of the test file:
 *   /** @jest-environment ./test/helpers/onnx-environment.js *\/
 */
import { TestEnvironment } from 'jest-environment-node';

const TYPED = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

export default class OnnxEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED) this.global[name] = globalThis[name];
  }
}
