/** Where the end-to-end tests' OnAir listens (playwright.config.ts starts it there). */
export const E2E_PORT = 18080;
export const BASE_URL = `http://127.0.0.1:${E2E_PORT}`;
