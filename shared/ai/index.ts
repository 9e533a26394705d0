export * from './errors';
export * from './gemini';
export * from './tools';
export { encodeWav, isWav } from './wav';
export * from './inference';
