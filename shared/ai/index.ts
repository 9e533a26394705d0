export * from './errors';
export * from './gemini';
export * from './tools';
export { isWav } from './wav';
export * from './inference';
export { resetModelHealth } from './health';
export * from './memory';
export * from './embeddings';
export * from './command-stream';
