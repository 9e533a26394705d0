/**
 * The SDK's `ApiError` (an HTTP answer other than 2xx), recognised by its shape rather than `instanceof`, so
 * the modules that only look at errors do not load the SDK: `@google/genai` is imported on the first model
 * call (shared/ai/gemini.ts), which keeps it out of every context's cold start (about 40 ms of evaluation).
 */
export interface ApiErrorLike extends Error {
  status: number;
}

export const isApiError = (error: unknown): error is ApiErrorLike =>
  error instanceof Error && error.name === 'ApiError' && typeof (error as ApiErrorLike).status === 'number';
