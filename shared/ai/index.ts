export * from './errors';
export * from './gemini';
export * from './tools';
export { encodeWav, isWav } from './wav';
export * from './inference';
export { modelHealth, resetModelHealth, type ModelHealth } from './health';
